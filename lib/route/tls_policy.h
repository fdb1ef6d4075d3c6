// The TLS policy for one connection (SPEC §8).
#pragma once

#include <string>

#include "lib/control/routes.h"
#include "lib/route/plan.h"

namespace qr {

struct TlsChoice {
  TlsPolicy policy = TlsPolicy::May;
  std::string ca_file;    // control/tlshosts/<name>.pem when it decided the policy
  bool implicit = false;  // port 465: TLS from the first byte
};

// The route's tls= option, overridden per host by qmail-tls's files:
// control/notlshosts/<name> (no TLS) and control/tlshosts/<name>.pem (TLS
// required, certificate checked against that CA file). <name> is the MX or
// relay host name in lower case, or the address as written for an IP
// literal (qmail-tls's partner_fqdn). Port 465 is TLS from the first byte,
// so at least `encrypt` there.
TlsChoice tls_for(TlsPolicy route_policy, const std::string& control_dir, const Target& target);

}  // namespace qr
