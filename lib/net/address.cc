#include "lib/net/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace qr {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddr a;
  if (inet_pton(AF_INET, buf, a.bytes_) == 1) {
    a.family_ = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes_) == 1) {
    a.family_ = AF_INET6;
    return a;
  }
  return std::nullopt;
}

IpAddr IpAddr::from_sockaddr(const sockaddr* sa) {
  IpAddr a;
  if (sa->sa_family == AF_INET6) {
    a.family_ = AF_INET6;
    std::memcpy(a.bytes_, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  } else {
    a.family_ = AF_INET;
    std::memcpy(a.bytes_, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  }
  return a;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family_, bytes_, buf, sizeof buf);
  return buf;
}

socklen_t IpAddr::to_sockaddr(uint16_t port, sockaddr_storage* out) const {
  std::memset(out, 0, sizeof *out);
  if (family_ == AF_INET6) {
    auto* s = reinterpret_cast<sockaddr_in6*>(out);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    std::memcpy(&s->sin6_addr, bytes_, 16);
    return sizeof *s;
  }
  auto* s = reinterpret_cast<sockaddr_in*>(out);
  s->sin_family = AF_INET;
  s->sin_port = htons(port);
  std::memcpy(&s->sin_addr, bytes_, 4);
  return sizeof *s;
}

std::string format_endpoint(const IpAddr& addr, uint16_t port) {
  if (addr.is_v6()) return "[" + addr.str() + "]:" + std::to_string(port);
  return addr.str() + ":" + std::to_string(port);
}

}  // namespace qr
