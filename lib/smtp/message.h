// The message on fd 0 (SPEC §1, §6) and its DATA encoding.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "lib/result.h"

namespace qr {

// The message bytes: a regular file is mmapped, a pipe read into memory.
// Like vanilla's reads of fd 0, the message starts at the fd's current offset.
class MessageSource {
 public:
  static Result<MessageSource> from_fd(int fd);
  MessageSource(MessageSource&& o) noexcept;
  MessageSource& operator=(MessageSource&&) = delete;
  MessageSource(const MessageSource&) = delete;
  ~MessageSource();
  std::string_view bytes() const { return {data_, size_}; }

 private:
  MessageSource() = default;
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  void* map_base_ = nullptr;  // the whole file's mapping (data_ may start later)
  size_t map_len_ = 0;
  std::string owned_;  // for pipes
};

// SPEC §4: not empty and the last byte is not LF.
bool has_partial_last_line(std::string_view message);
// Any byte >= 0x80 (BODY=8BITMIME, SPEC §7).
bool has_8bit(std::string_view bytes);

// Turns the message into its DATA form in chunks (SPEC §6): LF, CRLF and a
// lone CR each become CRLF; a line starting with '.' gets another '.'. The
// final ".\r\n" is not included. Streaming, so a large message never needs a
// second copy in memory.
class BodyEncoder {
 public:
  explicit BodyEncoder(std::string_view message) : in_(message) {}
  // Replaces `out` with the next piece, at most about `max` bytes; false when
  // nothing is left.
  bool next(std::string& out, size_t max = 65536);
  // The whole encoding at once (tests, small messages).
  static std::string encode(std::string_view message);

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool line_start_ = true;
};

}  // namespace qr
