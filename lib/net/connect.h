// Opening a TCP connection from a chosen local IP (SPEC §4, §7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lib/net/address.h"
#include "lib/net/fd.h"
#include "lib/result.h"

namespace qr {

// Why a connection was not made: a Result's error, as every other failure
// of lib/, with the two facts the walk acts on besides the text.
struct ConnectFailure {
  std::string text;          // "cannot bind 192.0.2.1: Cannot assign requested address",
                             // "connection refused", "timed out after 60 s", ...
  bool bind_failed = false;  // the local IP could not be bound (not on this machine...)
  // No answer within timeout_s (or the kernel's ETIMEDOUT): the only
  // failure qmail's tcpto counts (SPEC §12, lib/net/tcpto.h).
  bool timed_out = false;

  std::string formatted() const { return text; }
};
using Connected = Result<Fd, ConnectFailure>;

// Non-blocking connect bounded by `timeout_s`; binds `local` first when set.
// On success the socket is left non-blocking (all I/O goes through poll).
Connected connect_tcp(const IpAddr& remote, uint16_t port, const std::optional<IpAddr>& local,
                      unsigned timeout_s);

// How the walk opens connections: connect_tcp, or a test's socket pairs
// (issue 13: the walk is tested without root or servers).
class Connector {
 public:
  virtual ~Connector() = default;
  virtual Connected connect(const IpAddr& remote, uint16_t port, const std::optional<IpAddr>& local,
                            unsigned timeout_s) = 0;
};

class TcpConnector final : public Connector {
 public:
  Connected connect(const IpAddr& remote, uint16_t port, const std::optional<IpAddr>& local,
                    unsigned timeout_s) override {
    return connect_tcp(remote, port, local, timeout_s);
  }
};

// True when `addr` is configured on one of this host's interfaces
// (getifaddrs), as vanilla qmail's ipme; used by the self-MX rule (SPEC §5).
bool is_local_address(const IpAddr& addr);

}  // namespace qr
