// The MTA-STS policy cache shared by every qmail-remote process (SPEC §14):
// $QMAIL_ROOT/queue/sts/<domain>, one file per domain, written whole to a
// temporary file and renamed into place, so a reader sees the old file or
// the new one, never half of one. A missing, corrupt or unwritable file
// only means "nothing cached": the delivery goes on.
//
// File format (text, documented in doc/DESIGN-NOTES.md):
//   qmail-remote sts cache 1
//   id: <the TXT record's id when it was fetched>
//   fetched: <seconds since the epoch>
//   <empty line>
//   <the policy file exactly as the server sent it>
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/result.h"
#include "lib/sts/policy.h"

namespace qr::sts {

// $QMAIL_ROOT/queue/sts for the control directory $QMAIL_ROOT/control.
std::string cache_dir_for(const std::string& control_dir);

struct Cached {
  std::string id;
  int64_t fetched = 0;  // seconds since the epoch
  std::string text;     // the policy file as fetched
  Policy policy;        // text, parsed
  // RFC 8461 §3.2 max_age: usable until fetched + max_age.
  bool fresh(int64_t now) const { return now < fetched + int64_t(policy.max_age); }
  int64_t expires() const { return fetched + int64_t(policy.max_age); }
};

// The cached policy of `domain`; nullopt with *why set when there is none
// ("not cached") or the file is unusable ("corrupt: ...", "cannot read:
// ..."). `domain` must be a host name (letters, digits, '-', '.', '_'): it
// is a file name.
std::optional<Cached> read_cached(const std::string& dir, std::string_view domain,
                                  std::string* why);

// Stores `c` for `domain` atomically (temporary file, fsync, rename).
Status write_cached(const std::string& dir, std::string_view domain, const Cached& c);

// The file's text for `c` (the format above), and its reverse.
std::string cache_text(const Cached& c);
Result<Cached> parse_cache_text(std::string_view text);

}  // namespace qr::sts
