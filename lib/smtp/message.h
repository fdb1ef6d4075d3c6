// The message on fd 0 (SPEC §1, §4, §6) and its DATA encoding.
//
// Memory does not grow with the message (issue 13): the message is read in
// fixed windows, once for the facts needed before MAIL, then once per
// session that reaches DATA. A pipe is first copied to an unlinked
// temporary file, so every message can be read again from its start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lib/net/fd.h"
#include "lib/result.h"

namespace qr {

// What must be known before MAIL, found in one pass over the message.
struct MessageFacts {
  uint64_t size = 0;
  // SIZE= (RFC 1870): the size on the wire with LF counted as CRLF (dot
  // stuffing and lone CRs are not counted: RFC 1870 asks for an estimate).
  uint64_t wire_size = 0;
  bool eight_bit = false;          // a byte >= 0x80: BODY=8BITMIME (SPEC §7)
  bool partial_last_line = false;  // not empty, last byte not LF (SPEC §4)
};

class MessageSource {
 public:
  // Like vanilla's reads of fd 0, the message starts at the fd's current
  // offset. A regular file is read in place (fd stays open and owned by the
  // caller); anything else (a pipe) is copied to an unlinked file in
  // $TMPDIR, else /tmp. An error when fd cannot be read or the copy cannot
  // be written (a full disk).
  static Result<MessageSource> from_fd(int fd);
  // A message held in memory (tests, fuzzing).
  static MessageSource from_bytes(std::string bytes);

  const MessageFacts& facts() const { return facts_; }

  // Up to n bytes from offset off (exactly n unless the message ends
  // first), in buf or in the message itself: an error when the file cannot
  // be read or has shrunk since the facts were taken.
  Result<std::string_view> read(uint64_t off, size_t n, char* buf) const;

 private:
  MessageSource() = default;
  Fd spool_;            // the copy of a pipe; fd_ is spool_.get() then
  int fd_ = -1;         // the file read; -1 for bytes_
  uint64_t start_ = 0;  // offset of the message's first byte in fd_
  std::string bytes_;   // from_bytes
  MessageFacts facts_;
};

// Any byte >= 0x80 (the envelope's SMTPUTF8, SPEC §7).
bool has_8bit(std::string_view bytes);

// Turns message bytes into their DATA form in pieces (SPEC §6): LF, CRLF
// and a lone CR each become CRLF; a line starting with '.' gets another
// '.'. The final ".\r\n" is not included. The input may come in windows
// (feed): a CR at the end of one and an LF at the start of the next are one
// line end.
class BodyEncoder {
 public:
  BodyEncoder() = default;
  explicit BodyEncoder(std::string_view message) : in_(message) {}
  // Replaces `out` with the next piece, at most about `max` bytes; false
  // when nothing is left.
  bool next(std::string& out, size_t max = 65536);
  // Appends to `out` until it holds `max` bytes (give or take a line end)
  // or this window is used up.
  void append(std::string& out, size_t max);
  bool window_done() const { return pos_ >= in_.size(); }
  // The next window of the same message, once this one is done.
  void feed(std::string_view window) {
    in_ = window;
    pos_ = 0;
  }
  // The whole encoding at once (tests, small messages).
  static std::string encode(std::string_view message);

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool line_start_ = true;
  bool skip_lf_ = false;  // the last window ended in a CR
};

// The DATA form of a whole MessageSource, from its first byte: each
// session makes its own, so that a message whose sending failed before the
// dot goes to the next pair whole (SPEC §4).
class BodyStream {
 public:
  explicit BodyStream(const MessageSource& m);
  // Replaces `out` with the next piece, at most about `max` bytes: false
  // when nothing is left, an error when the message cannot be read.
  Result<bool> next(std::string& out, size_t max);

 private:
  const MessageSource& m_;
  uint64_t off_ = 0;
  std::unique_ptr<char[]> buf_;
  BodyEncoder enc_;
};

}  // namespace qr
