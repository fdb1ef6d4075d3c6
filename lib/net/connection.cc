#include "lib/net/connection.h"

#include <poll.h>

#include <algorithm>
#include <cstring>

namespace qr {

Connection::Connection(Fd fd, unsigned timeout_s)
    : fd_(std::move(fd)),
      timeout_s_(timeout_s),
      stream_(std::make_unique<PlainStream>(fd_.get())) {}

Result<std::string> Connection::read_line(Clock::time_point deadline) {
  // The server is not trusted (SPEC §7): memory stays bounded by kKeep
  // whatever it sends, and a line that never ends is cut off at kMaxLine.
  std::string line;
  size_t total = 0;  // bytes of this line seen so far, LF excluded
  for (;;) {
    if (rpos_ == rend_) {
      rpos_ = rend_ = 0;
      auto left = std::chrono::ceil<std::chrono::seconds>(deadline - Clock::now()).count();
      if (left <= 0) return Error{"timed out after " + std::to_string(timeout_s_) + " s"};
      auto n = stream_->read_some(rbuf_, sizeof rbuf_, static_cast<unsigned>(left));
      if (!n) return n.failure();
      if (*n == 0) return Error{"connection closed by server"};
      rend_ = *n;
    }
    const char* start = rbuf_ + rpos_;
    size_t avail = rend_ - rpos_;
    auto* lf = static_cast<const char*>(std::memchr(start, '\n', avail));
    size_t take = lf ? static_cast<size_t>(lf - start) : avail;
    if (line.size() < kKeep) line.append(start, std::min(take, kKeep - line.size()));
    total += take;
    rpos_ += lf ? take + 1 : take;
    if (total > kMaxLine) {
      return Error{"server sent a line longer than " + std::to_string(kMaxLine) + " bytes"};
    }
    if (lf) {
      // The CR of CRLF is dropped only when it was kept, i.e. when it is the
      // last byte of the line.
      if (line.size() == total && !line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
  }
}

Status Connection::flush() {
  if (out_.empty()) return success();
  // One write for the whole queue: a pipelined MAIL/RCPT/DATA group goes
  // out together (RFC 2920 §3.1).
  Status s = stream_->write_all(out_.data(), out_.size(), timeout_s_);
  out_.clear();
  return s;
}

Status Connection::write(std::string_view data) {
  if (auto s = flush(); !s) return s;
  return stream_->write_all(data.data(), data.size(), timeout_s_);
}

bool Connection::peer_closed() const {
  pollfd p{fd_.get(), POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

void Connection::set_stream(std::unique_ptr<Stream> s) {
  stream_ = std::move(s);
  // RFC 3207 §4.2: nothing received before the handshake may be used after it.
  rpos_ = rend_ = 0;
}

}  // namespace qr
