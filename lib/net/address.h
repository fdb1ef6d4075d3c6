// IpAddr: an IPv4 or IPv6 address as a value, parsed from and printed to text.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qr {

class IpAddr {
 public:
  IpAddr() = default;
  static std::optional<IpAddr> parse(std::string_view text);  // "1.2.3.4" or "::1" (no brackets)
  static IpAddr from_sockaddr(const sockaddr* sa);

  int family() const { return family_; }  // AF_INET or AF_INET6
  bool is_v6() const { return family_ == AF_INET6; }
  std::string str() const;  // "1.2.3.4" or "2001:db8::1"
  // A sockaddr for bind/connect, with the given port.
  socklen_t to_sockaddr(uint16_t port, sockaddr_storage* out) const;

  auto operator<=>(const IpAddr&) const = default;

 private:
  int family_ = AF_INET;
  uint8_t bytes_[16] = {};
};

// "1.2.3.4:25", "[2001:db8::1]:25": how the report and logs print an endpoint.
std::string format_endpoint(const IpAddr& addr, uint16_t port);

}  // namespace qr
