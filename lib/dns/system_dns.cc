#include "lib/dns/dns.h"
#include "lib/dns/dnssec.h"
#include "lib/net/connect.h"

namespace qr {

SystemDns::SystemDns() = default;
SystemDns::SystemDns(std::unique_ptr<Resolver> r) : resolver_(std::move(r)) {}
SystemDns::~SystemDns() = default;

DaneDns* SystemDns::dane(const DnssecAnchors& anchors, std::string* error) {
  if (!dane_ && dane_error_.empty()) {
    auto d = make_dane_dns(anchors);
    if (d)
      dane_ = std::move(*d);
    else
      dane_error_ = d.error();
  }
  if (!dane_) *error = dane_error_;
  return dane_.get();
}

Resolver* SystemDns::resolver(std::string* error) {
  if (!resolver_ && error_.empty()) {
    auto r = Resolver::create();
    if (r)
      resolver_ = std::move(*r);
    else
      error_ = r.error();
  }
  if (!resolver_) *error = error_;
  return resolver_.get();
}

bool SystemDns::is_local(const IpAddr& addr) {
  return is_local_address(addr);
}

}  // namespace qr
