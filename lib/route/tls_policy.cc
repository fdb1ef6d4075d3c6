#include "lib/route/tls_policy.h"

namespace qr {

TlsPolicy route_tls_policy(const Route& route, bool ip_literal) {
  if (route.options.tls_set) return route.options.tls;
  if (route.user.empty() || route.options.auth_cleartext) return TlsPolicy::May;
  return ip_literal ? TlsPolicy::Encrypt : TlsPolicy::Verify;
}

bool route_tls_default_changed(const Route& route) {
  return !route.options.tls_set && !route.user.empty() && !route.options.auth_cleartext;
}

TlsChoice tls_for(const Route& route, const TlsFiles& files, const Target& target,
                  bool dane_default) {
  TlsChoice c;
  const bool literal = target.host.empty();
  c.policy = route_tls_policy(route, literal);
  if (dane_default && target.from_mx && !route.options.tls_set && c.policy == TlsPolicy::May)
    c.policy = TlsPolicy::Dane;
  const std::string name = tls_host_key(literal ? target.addr.str() : target.host);
  if (auto ca = files.ca_files.find(name); ca != files.ca_files.end()) {
    c.policy = TlsPolicy::Verify;
    c.ca_file = ca->second;
  } else if (files.no_tls.count(name) != 0 && c.policy == TlsPolicy::May) {
    c.policy = TlsPolicy::None;
  }
  if (target.port == 465) {
    c.implicit = true;
    if (c.policy == TlsPolicy::None || c.policy == TlsPolicy::May) c.policy = TlsPolicy::Encrypt;
  }
  return c;
}

}  // namespace qr
