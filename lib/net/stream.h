// Stream: the byte pipe under an SMTP session; plain TCP or TLS (lib/tls).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "lib/result.h"

namespace qr {

class Stream {
 public:
  virtual ~Stream() = default;
  // Waits at most timeout_s; returns the number of bytes read (>0), 0 at end
  // of stream, or an error ("timed out after 1200 s", "Connection reset by peer").
  virtual Result<size_t> read_some(char* buf, size_t n, unsigned timeout_s) = 0;
  // Writes all n bytes, each wait bounded by timeout_s.
  virtual Status write_all(const char* buf, size_t n, unsigned timeout_s) = 0;
  // True when data from the peer can be read now, without waiting. An end
  // of stream or an error is not data (Connection::peer_closed looks for
  // those). Never blocks.
  virtual bool data_waiting() = 0;
};

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT), at most timeout_s
// seconds in all, restarting after EINTR. Error texts: "timed out after 60 s",
// or strerror. Shared by connect_tcp, PlainStream and the TLS stream.
Status wait_fd(int fd, short events, unsigned timeout_s);
// The same until `deadline` (one deadline for a whole TLS handshake);
// timeout_s only names the limit in the error text.
Status wait_fd_until(int fd, short events, std::chrono::steady_clock::time_point deadline,
                     unsigned timeout_s);

// A non-blocking socket, waited on with poll. Does not own the fd.
class PlainStream : public Stream {
 public:
  explicit PlainStream(int fd) : fd_(fd) {}
  Result<size_t> read_some(char* buf, size_t n, unsigned timeout_s) override;
  Status write_all(const char* buf, size_t n, unsigned timeout_s) override;
  // A one-byte MSG_PEEK: a FIN (which also wakes poll's POLLIN) is not data.
  bool data_waiting() override;

 private:
  int fd_;
};

}  // namespace qr
