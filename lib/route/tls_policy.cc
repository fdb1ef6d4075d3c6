#include "lib/route/tls_policy.h"

#include <unistd.h>

#include "lib/control/text.h"

namespace qr {

namespace {
bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}
}  // namespace

TlsChoice tls_for(TlsPolicy route_policy, const std::string& control_dir, const Target& target) {
  TlsChoice c;
  c.policy = route_policy;
  const std::string name = target.host.empty() ? target.addr.str() : to_lower(target.host);
  if (exists(control_dir + "/notlshosts/" + name)) {
    c.policy = TlsPolicy::None;
  } else if (std::string ca = control_dir + "/tlshosts/" + name + ".pem"; exists(ca)) {
    c.policy = TlsPolicy::Verify;
    c.ca_file = ca;
  }
  if (target.port == 465) {
    c.implicit = true;
    if (c.policy == TlsPolicy::None || c.policy == TlsPolicy::May) c.policy = TlsPolicy::Encrypt;
  }
  return c;
}

}  // namespace qr
