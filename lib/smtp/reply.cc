#include "lib/smtp/reply.h"

#include <algorithm>

namespace qr {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A short, quoted copy of an offending line for error texts; the report
// sanitises the bytes (SPEC §1).
std::string excerpt(std::string_view line) {
  constexpr size_t kShow = 100;
  std::string s = "\"" + std::string(line.substr(0, kShow)) + "\"";
  if (line.size() > kShow) s += "...";
  return s;
}

}  // namespace

// RFC 5321 §4.2:
//   Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//                Reply-code [ SP textstring ] CRLF
// So the last line may be the bare code ("250"), and that is accepted. A
// continuation line needs its '-'; "250-" with no text is allowed. The code
// must be three digits in 200..599: 1xx is not used by SMTP and anything
// else is not SMTP at all (SPEC §7: a protocol error).
ReplyParser::State ReplyParser::feed(std::string_view line) {
  ++lines_;
  if (lines_ > kMaxLines) {
    error_ = "reply longer than " + std::to_string(kMaxLines) + " lines";
    return State::Bad;
  }
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
      (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    error_ = "malformed reply line " + excerpt(line);
    return State::Bad;
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code < 200 || code > 599) {
    error_ = "reply code out of range in " + excerpt(line);
    return State::Bad;
  }
  if (lines_ == 1) {
    reply_.code = code;
  } else if (code != reply_.code) {
    // RFC 5321 §4.2.1: every line of a multi-line reply has the same code.
    error_ = "reply code changed within a multi-line reply: " + excerpt(line);
    return State::Bad;
  }
  // Keep the first kMaxText bytes, lines joined by LF (SPEC §1).
  std::string& text = reply_.text;
  if (lines_ > 1 && text.size() < kMaxText) text += '\n';
  // Connection::read_line keeps kKeep bytes of a longer line: a line of that
  // length may have been cut already. SPEC §10: a cut reply ends with "...".
  if (line.size() >= Connection::kKeep || line.size() > kMaxText - std::min(text.size(), kMaxText))
    reply_.truncated = true;
  if (text.size() < kMaxText) text.append(line.substr(0, kMaxText - text.size()));
  bool more = line.size() > 3 && line[3] == '-';
  return more ? State::More : State::Done;
}

Result<Reply> read_reply(Connection& conn) {
  ReplyParser parser;
  // One deadline for the whole reply: a multi-line reply dripped slowly is
  // cut off at timeoutremote like a silent server.
  const auto deadline = conn.deadline();
  for (;;) {
    auto line = conn.read_line(deadline);
    if (!line) return line.failure();
    switch (parser.feed(*line)) {
      case ReplyParser::State::More:
        break;
      case ReplyParser::State::Done:
        return parser.reply();
      case ReplyParser::State::Bad:
        return Error{"protocol error: " + parser.error()};
    }
  }
}

}  // namespace qr
