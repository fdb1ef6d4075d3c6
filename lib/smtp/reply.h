// SMTP replies (RFC 5321 §4.2), read strictly and with hard caps (SPEC §7).
#pragma once

#include <string>
#include <string_view>

#include "lib/net/connection.h"
#include "lib/report.h"
#include "lib/result.h"

namespace qr {

struct Reply {
  int code = 0;            // 200..599
  std::string text;        // every line as received, codes kept, CRs dropped, joined by
                           // LF; at most kMaxText bytes kept
  bool truncated = false;  // text was cut at kMaxText (or a line at Connection::kKeep)
  // RFC 5321 §4.2.1: 2yz is completion; 3yz asks for more (only 354 to DATA
  // and 334 to AUTH are expected, and those are checked by value). Where a
  // command must be completed, a 3yz is an error, never acceptance.
  bool positive() const { return code >= 200 && code < 300; }
  bool intermediate() const { return code >= 300 && code < 400; }
  bool temporary() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
};

// Incremental parser: feed it lines (without CRLF) until it says done.
class ReplyParser {
 public:
  static constexpr size_t kMaxText = kMaxReplyText;  // the report's cap
  static constexpr int kMaxLines = 1000;             // an endless multi-line reply is an error

  enum class State { More, Done, Bad };
  // Bad: not "DDD " / "DDD-", a code outside 200..599, a continuation line
  // whose code differs, or more than kMaxLines lines; error() says which.
  State feed(std::string_view line);
  const Reply& reply() const { return reply_; }
  const std::string& error() const { return error_; }

 private:
  Reply reply_;
  int lines_ = 0;
  std::string error_;
};

// Reads one whole reply. Errors (connection closed, timeout, bad reply) mean
// the connection is unusable.
Result<Reply> read_reply(Connection& conn);

}  // namespace qr
