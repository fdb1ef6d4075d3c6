// MTA-STS (RFC 8461, SPEC §14): the _mta-sts TXT record and the policy
// file, as values. Parsing only: no DNS, no network, no files, so that the
// fuzz target (fuzz/sts_policy.cc) reaches all of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/result.h"

namespace qr::sts {

// RFC 8461 §3.2: the largest max_age a policy may ask for (about a year).
inline constexpr uint32_t kMaxAge = 31557600;
// RFC 8461 §3.3: the policy body a sender reads at most.
inline constexpr size_t kMaxPolicyBytes = 64 * 1024;

// The id of the one `v=STSv1` record among a name's TXT records (RFC 8461
// §3.1): records that do not start with "v=STSv1" are discarded; none left,
// or more than one, or one that is not well formed: no policy, and the
// error says why.
Result<std::string> txt_id(const std::vector<std::string>& records);

enum class Mode { Enforce, Testing, None };
const char* mode_name(Mode m);

struct Policy {
  Mode mode = Mode::None;
  uint32_t max_age = 0;         // seconds; larger values are cut to kMaxAge
  std::vector<std::string> mx;  // the mx: patterns, lowercase, in file order
};

// The policy file (RFC 8461 §3.2): "key: value" lines ended by LF or CRLF.
// version must be STSv1; mode enforce, testing or none; max_age 1 to 10
// digits; mx: at least one unless mode is none. Of a key given twice the
// first counts (mx: all count); unknown keys are ignored. An error names
// the line.
Result<Policy> parse_policy(std::string_view text);

// RFC 8461 §4.1: `host` (an MX host name) matches `pattern` when they are
// equal, or the pattern is "*.rest" and host is one label followed by
// ".rest". Case-insensitive; a trailing dot on either is ignored.
bool mx_matches(std::string_view pattern, std::string_view host);
bool mx_allowed(const Policy& p, std::string_view host);

}  // namespace qr::sts
