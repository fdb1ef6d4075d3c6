// ReplyParser (SPEC §7): lines from a hostile server, one per LF (the
// connection strips the line end). Properties: a Done reply has a code in
// 200..599 and at most kMaxText bytes of text; a parser never goes on past
// kMaxLines lines; Bad always says why.
#include "fuzz/fuzz_util.h"
#include "lib/smtp/capabilities.h"
#include "lib/smtp/reply.h"

using namespace qr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest = fuzz::as_text(data, size);
  // Several replies in a row, as on a pipelined connection.
  while (!rest.empty()) {
    ReplyParser parser;
    ReplyParser::State state = ReplyParser::State::More;
    int lines = 0;
    while (state == ReplyParser::State::More && !rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      state = parser.feed(line);
      ++lines;
      FUZZ_CHECK(lines <= ReplyParser::kMaxLines + 1);
    }
    if (state == ReplyParser::State::Bad) {
      FUZZ_CHECK(!parser.error().empty());
      break;
    }
    if (state == ReplyParser::State::Done) {
      const Reply& r = parser.reply();
      FUZZ_CHECK(r.code >= 200 && r.code <= 599);
      FUZZ_CHECK(r.text.size() <= ReplyParser::kMaxText);
      FUZZ_CHECK(r.positive() + r.intermediate() + r.temporary() + r.permanent() == 1);
      // What the session does with an EHLO reply.
      Capabilities caps = Capabilities::from_ehlo(r);
      for (const auto& m : caps.auth) FUZZ_CHECK(caps.has_auth(m));
    }
  }
  return 0;
}
