// A TLS session cache file (SPEC §15; lib/tls/session_cache.h): what any
// process that can write queue/tlscache, a full disk or a crash could leave
// there. decode_session_file under key "k" at one second before the
// header's expiry (so that well-formed inputs get past the clock), and
// strip_peer_certificate on the bytes after the header. Properties: a
// refusal says why; an accepted session encodes and decodes again to the
// same master key; stripping is idempotent and leaves a SEQUENCE.
#include <openssl/ssl.h>

#include <charconv>

#include "fuzz/fuzz_util.h"
#include "lib/tls/session_cache.h"

using namespace qr;

namespace {

std::string master_key(SSL_SESSION* s) {
  unsigned char k[64];
  size_t n = SSL_SESSION_get_master_key(s, k, sizeof k);
  return std::string(reinterpret_cast<char*>(k), n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(fuzz::as_text(data, size));
  time_t now = 0;
  if (size_t at = bytes.find("\nexpires "); at != std::string::npos) {
    uint64_t e = 0;
    const char* p = bytes.data() + at + 9;
    std::from_chars(p, bytes.data() + bytes.size(), e);
    if (e > 0 && e < (uint64_t(1) << 40)) now = time_t(e) - 1;
  }
  std::string why;
  SslSessionPtr s = decode_session_file(bytes, "k", now, &why);
  if (!s) {
    FUZZ_CHECK(!why.empty());
  } else {
    const std::string again = encode_session_file("k", s.get(), now + 1);
    FUZZ_CHECK(!again.empty());
    std::string why2;
    SslSessionPtr back = decode_session_file(again, "k", now, &why2);
    FUZZ_CHECK(back != nullptr);
    FUZZ_CHECK(master_key(back.get()) == master_key(s.get()));
  }
  // The DER after the header; without a header, the whole input as DER.
  std::string_view tail = bytes;
  if (const size_t der = bytes.find("\nder "); der != std::string::npos) {
    const size_t nl = bytes.find('\n', der + 1);
    tail = nl == std::string::npos ? std::string_view() : tail.substr(nl + 1);
  }
  const std::string stripped = strip_peer_certificate(tail);
  if (!stripped.empty()) {
    FUZZ_CHECK(static_cast<unsigned char>(stripped[0]) == 0x30);
    FUZZ_CHECK(strip_peer_certificate(stripped) == stripped);
  }
  return 0;
}
