// Capabilities::from_ehlo (SPEC §7): the EHLO reply text as the parser
// keeps it (lines joined by LF, codes kept). The first byte picks the code,
// the rest is the text, possibly longer than kMaxText (a cut reply).
// Properties: AUTH names are upper case, non-empty and unique; has_auth
// finds each of them in any case; no SIZE means no size limit.
#include <cctype>
#include <set>

#include "fuzz/fuzz_util.h"
#include "lib/smtp/capabilities.h"

using namespace qr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Reply reply;
  reply.code = 200 + data[0] % 400;
  std::string_view text = fuzz::as_text(data + 1, size - 1);
  // A text at or past the cap is what a cut reply looks like.
  reply.text = std::string(text.substr(0, ReplyParser::kMaxText + 64));
  Capabilities caps = Capabilities::from_ehlo(reply);
  if (!caps.size) FUZZ_CHECK(caps.size_limit == 0);
  std::set<std::string> seen;
  for (const std::string& m : caps.auth) {
    FUZZ_CHECK(!m.empty());
    for (char c : m) FUZZ_CHECK(!std::islower(static_cast<unsigned char>(c)));
    FUZZ_CHECK(m.find(' ') == std::string::npos && m.find('\t') == std::string::npos);
    FUZZ_CHECK(seen.insert(m).second);
    if (seen.size() > 16) continue;  // has_auth is linear: keep the check linear
    std::string lower = m;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    FUZZ_CHECK(caps.has_auth(lower));
  }
  return 0;
}
