// Opening a TCP connection from a chosen local IP (SPEC §4, §7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lib/net/address.h"
#include "lib/net/fd.h"
#include "lib/result.h"

namespace qr {

struct ConnectFailure {
  bool bind_failed = false;  // the local IP could not be bound (not on this machine...)
  std::string text;          // "cannot bind 192.0.2.1: Cannot assign requested address",
                             // "connection refused", "timed out after 60 s", ...
  // No answer within timeout_s (or the kernel's ETIMEDOUT): the only
  // failure qmail's tcpto counts (SPEC §12, lib/net/tcpto.h).
  bool timed_out = false;
};

// Non-blocking connect bounded by `timeout_s`; binds `local` first when set.
// On success the socket is left non-blocking (all I/O goes through poll).
// On failure, *failure says why.
std::optional<Fd> connect_tcp(const IpAddr& remote, uint16_t port,
                              const std::optional<IpAddr>& local, unsigned timeout_s,
                              ConnectFailure* failure);

// How the walk opens connections: connect_tcp, or a test's socket pairs
// (issue 13: the walk is tested without root or servers).
class Connector {
 public:
  virtual ~Connector() = default;
  virtual std::optional<Fd> connect(const IpAddr& remote, uint16_t port,
                                    const std::optional<IpAddr>& local, unsigned timeout_s,
                                    ConnectFailure* failure) = 0;
};

class TcpConnector final : public Connector {
 public:
  std::optional<Fd> connect(const IpAddr& remote, uint16_t port, const std::optional<IpAddr>& local,
                            unsigned timeout_s, ConnectFailure* failure) override {
    return connect_tcp(remote, port, local, timeout_s, failure);
  }
};

// True when `addr` is configured on one of this host's interfaces
// (getifaddrs), as vanilla qmail's ipme; used by the self-MX rule (SPEC §5).
bool is_local_address(const IpAddr& addr);

}  // namespace qr
