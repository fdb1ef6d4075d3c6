// Stream: the byte pipe under an SMTP session; plain TCP or TLS (lib/tls).
#pragma once

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
};

// A non-blocking socket, waited on with poll. Does not own the fd.
class PlainStream : public Stream {
 public:
  explicit PlainStream(int fd) : fd_(fd) {}
  Result<size_t> read_some(char* buf, size_t n, unsigned timeout_s) override;
  Status write_all(const char* buf, size_t n, unsigned timeout_s) override;

 private:
  int fd_;
};

}  // namespace qr
