#include "lib/net/stream.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace qr {

Status wait_fd(int fd, short events, unsigned timeout_s) {
  // One deadline for the whole wait, so a stream of signals cannot stretch
  // the timeout of SPEC §7.
  return wait_fd_until(
      fd, events, std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s), timeout_s);
}

Status wait_fd_until(int fd, short events, std::chrono::steady_clock::time_point deadline,
                     unsigned timeout_s) {
  using Clock = std::chrono::steady_clock;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    // poll's timeout is an int: wait in slices of at most a day.
    int ms = static_cast<int>(std::min<long long>(left.count(), 86400000LL));
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, ms);
    // Ready, or POLLERR/POLLHUP: the I/O call (recv, send, SSL_*) says which.
    if (r > 0) return success();
    if (r < 0 && errno != EINTR) return Error{std::strerror(errno)};
    if (r == 0 && Clock::now() >= deadline) {
      return Error{"timed out after " + std::to_string(timeout_s) + " s"};
    }
  }
}

Result<size_t> PlainStream::read_some(char* buf, size_t n, unsigned timeout_s) {
  for (;;) {
    ssize_t r = ::recv(fd_, buf, n, 0);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Error{std::strerror(errno)};
    if (auto w = wait_fd(fd_, POLLIN, timeout_s); !w) return w.failure();
  }
}

bool PlainStream::data_waiting() {
  char c;
  for (;;) {
    ssize_t r = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

Status PlainStream::write_all(const char* buf, size_t n, unsigned timeout_s) {
  while (n > 0) {
    // MSG_NOSIGNAL: a peer that went away must give EPIPE, never a SIGPIPE
    // that kills the process before it can write its report (SPEC §1).
    ssize_t r = ::send(fd_, buf, n, MSG_NOSIGNAL);
    if (r >= 0) {
      buf += r;
      n -= static_cast<size_t>(r);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EPIPE) return Error{"connection closed by server"};
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Error{std::strerror(errno)};
    if (auto w = wait_fd(fd_, POLLOUT, timeout_s); !w) return w;
  }
  return success();
}

}  // namespace qr
