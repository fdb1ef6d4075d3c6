// Base64 and the AUTH answers (SPEC §9, RFC 4648, RFC 4954). Properties:
// decode(encode(x)) == x; whatever strict decoding accepts is canonical, so
// encode(decode(t)) == t; a decoding error never quotes the input; LOGIN
// answers base64(answer) to any valid challenge; CRAM-MD5 answers
// base64(user " " 32 lower-case hex digits).
#include "fuzz/fuzz_util.h"
#include "lib/auth/auth.h"
#include "lib/auth/base64.h"

using namespace qr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);

  std::string enc = base64_encode(text);
  auto round = base64_decode(enc);
  FUZZ_CHECK(round && *round == text);

  auto dec = base64_decode(text);
  if (dec) {
    FUZZ_CHECK(base64_encode(*dec) == text);
  } else {
    FUZZ_CHECK(!dec.error().empty());
    // Longer than any error text, so it cannot appear in one by chance.
    if (text.size() > 40) FUZZ_CHECK(dec.error().find(text) == std::string::npos);
  }

  // The input as a challenge; the user and password are fixed.
  auto login = login_response(text, "user@example.com");
  FUZZ_CHECK(login.ok() == dec.ok());
  if (login) {
    auto answer = base64_decode(*login);
    FUZZ_CHECK(answer && *answer == "user@example.com");
  }
  auto cram = cram_md5_response(text, "user", "pa ss");
  FUZZ_CHECK(cram.ok() == dec.ok());
  if (cram) {
    auto answer = base64_decode(*cram);
    FUZZ_CHECK(answer && answer->size() == 5 + 32 && answer->starts_with("user "));
    for (char c : answer->substr(5)) FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  return 0;
}
