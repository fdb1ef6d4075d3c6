// TLS sessions shared by the processes of one qmail (SPEC §15): every
// delivery is a new process, so a session (a TLS 1.3 ticket, a TLS 1.2
// session) lives on disk, in $QMAIL_ROOT/queue/tlscache/, for the next
// delivery to the same server to resume.
//
// One file per key, named by the SHA-256 of the key, written to a temporary
// file and renamed into place: a reader sees a whole entry or none, and
// concurrent writers of one key each replace it whole (the last one wins).
// Pruning, the only step that touches several files, runs under flock on the
// directory, and a process that finds it taken skips it.
//
// The file, text header then DER (i2d_SSL_SESSION):
//   qmail-remote tls session 1\n
//   key <the key, one line>\n
//   expires <unix seconds>\n
//   der <length>\n
//   <length bytes>
// The key is checked whole on reading: a file renamed or copied under
// another key's name (or a hash collision) is a miss, not a session.
//
// Nothing here ever makes a delivery fail: every problem (no directory, a
// corrupt, truncated, foreign or expired file, a full disk) is "no session",
// and the caller makes a full handshake. The reason is returned for tests.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include "lib/tls/tls.h"

namespace qr {

using SslSessionPtr = std::unique_ptr<SSL_SESSION, OpenSslDeleter<SSL_SESSION, SSL_SESSION_free>>;

// Bounds (decided here, doc/DECISIONS.md): an entry is at most 16 KiB (a
// session holds the server's leaf certificate, ~1-2 KiB usually) and lives
// at most an hour from when it was stored, whatever lifetime the server
// gave (Postfix's smtp_tls_session_cache_timeout default); the directory
// holds at most 1000 entries (16 MiB at most), pruned to 900 (expired first,
// then the oldest) when a new key would go beyond.
inline constexpr size_t kSessionMaxBytes = 16 * 1024;
inline constexpr time_t kSessionMaxLifetime = 3600;
inline constexpr size_t kSessionMaxEntries = 1000;
inline constexpr size_t kSessionPruneTo = 900;

// $QMAIL_ROOT/queue/tlscache, from the control directory.
std::string session_cache_dir_for(const std::string& control_dir);

// The file name of a key: 64 hex digits (SHA-256).
std::string session_file_name(const std::string& key);

class SessionCache {
 public:
  // No I/O until load or store is called (SPEC §15: a plaintext delivery
  // touches no cache).
  explicit SessionCache(std::string dir) : dir_(std::move(dir)) {}

  // The session stored under `key`, usable at `now`, or null with `why`
  // (when given) saying what was wrong.
  SslSessionPtr load(const std::string& key, time_t now, std::string* why = nullptr) const;

  // Stores `session` under `key` (replacing what was there), if it is
  // resumable and not expired at `now`. false with `why` when not stored.
  // `keep_peer` false: without the server's certificate (see
  // strip_peer_certificate), for policies that never look at it.
  bool store(const std::string& key, SSL_SESSION* session, time_t now, std::string* why = nullptr,
             bool keep_peer = true) const;

  // Drops the entry of `key` (a session that failed the policy on resume).
  void remove(const std::string& key) const;

  // Makes the directory hold at most `keep` entries: expired ones and
  // stale temporary files first, then the oldest. Skipped (false) when
  // another process holds the directory's lock.
  bool prune(size_t keep, time_t now) const;

  const std::string& dir() const { return dir_; }

 private:
  // The directory is usable: a directory owned by this user and writable by
  // no one else (the files hold session secrets; a planted session would
  // let its maker read and forge the mail of a resumed connection).
  bool dir_safe(std::string* why) const;

  std::string dir_;
};

// The file bytes for a session (exposed for the unit tests, which build
// corrupt and foreign variants of it). Empty when the session cannot be
// encoded or is larger than kSessionMaxBytes.
std::string encode_session_file(const std::string& key, SSL_SESSION* session, time_t expires,
                                bool keep_peer = true);

// The DER of an SSL_SESSION (i2d_SSL_SESSION) without its `peer` field
// (OpenSSL's SSL_SESSION_ASN1: [3] EXPLICIT Certificate), or empty when
// `der` is not a SEQUENCE of well-formed elements. Decoding the server's
// certificate is half of a resumed delivery's TLS work (the first public
// key decode sets up OpenSSL's decoders); `may` and `encrypt` never look
// at it, and OpenSSL resumes a session without it.
std::string strip_peer_certificate(std::string_view der);

// The session in `bytes` when they are a whole, well-formed entry for `key`
// that has not expired at `now`; else null and `why`.
SslSessionPtr decode_session_file(const std::string& bytes, const std::string& key, time_t now,
                                  std::string* why);

}  // namespace qr
