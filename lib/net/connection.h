// Connection: buffered line reading and writing over a Stream, with the
// timeouts of SPEC §7. Owns the socket.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "lib/net/fd.h"
#include "lib/net/stream.h"
#include "lib/result.h"

namespace qr {

class Connection {
 public:
  Connection(Fd fd, unsigned timeout_s);

  int fd() const { return fd_.get(); }
  unsigned timeout() const { return timeout_s_; }

  // One line without its LF (a CR before the LF is dropped too). Keeps at
  // most kKeep bytes of a long line and skips the rest; a line longer than
  // kMaxLine is an error, and so is end of stream inside a line.
  static constexpr size_t kKeep = 5000;
  static constexpr size_t kMaxLine = 1 << 20;
  using Clock = std::chrono::steady_clock;
  // The whole line must arrive by `deadline`: a server that drips a byte at
  // a time cannot hold the process past timeoutremote.
  Result<std::string> read_line(Clock::time_point deadline);
  Result<std::string> read_line() { return read_line(deadline()); }
  // Now plus timeoutremote.
  Clock::time_point deadline() const { return Clock::now() + std::chrono::seconds(timeout_s_); }

  // True when the server has already closed its side (a FIN is waiting):
  // checked before the body, so a server that hangs up after its 354 sends
  // the walk to the next pair instead of swallowing the message unanswered.
  bool peer_closed() const;

  // Bytes received but not yet consumed (STARTTLS injection check, SPEC §8).
  size_t buffered() const { return rend_ - rpos_; }

  // True when the server has sent bytes that nothing has read yet: in our
  // buffer, or already waiting in the transport (the socket, or data TLS has
  // decrypted or can decrypt now). SPEC §7: a reply can only answer a command
  // already sent, so bytes waiting before a command (or before the body) are
  // a protocol error, never the answer to what comes next. Does not wait.
  bool unread_input() { return buffered() > 0 || stream_->data_waiting(); }

  // Queue bytes; flush() writes everything queued in one write where possible.
  void queue(std::string_view data) { out_.append(data); }
  Status flush();
  // Write directly (large body chunks), after flushing anything queued.
  Status write(std::string_view data);

  // Replace the transport (after a TLS handshake). Unread bytes are dropped:
  // callers check buffered() first.
  void set_stream(std::unique_ptr<Stream> s);
  Stream& stream() { return *stream_; }

 private:
  Fd fd_;
  unsigned timeout_s_;
  std::unique_ptr<Stream> stream_;
  std::string out_;
  char rbuf_[16384];
  size_t rpos_ = 0, rend_ = 0;
};

}  // namespace qr
