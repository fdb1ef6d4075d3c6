#include "lib/dns/dns.h"
#include "lib/net/connect.h"

namespace qr {

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
