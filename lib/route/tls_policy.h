// The TLS policy for one connection (SPEC §8).
#pragma once

#include <string>

#include "lib/control/routes.h"
#include "lib/control/tls_files.h"
#include "lib/route/plan.h"

namespace qr {

struct TlsChoice {
  TlsPolicy policy = TlsPolicy::May;
  std::string ca_file;    // control/tlshosts/<name>.pem when it decided the policy
  bool implicit = false;  // port 465: TLS from the first byte
};

// The route's own policy: its tls= when written; else, with USER/PASS (and
// no auth-cleartext=yes), `verify` for a relay named by host name and
// `encrypt` for an IP literal, so that credentials never go to an unchecked
// (or, for a literal, an unencrypted) server; else `may`.
TlsPolicy route_tls_policy(const Route& route, bool ip_literal);

// True when route_tls_policy differs from what the route meant before SPEC
// §8 made credentials imply TLS (`may`): qmail-routes check names them.
bool route_tls_default_changed(const Route& route);

// The route's policy for this target, then qmail-tls's per-host files:
// tlshosts/<name>.pem requires TLS checked against that CA file;
// notlshosts/<name> turns `may` off and nothing else (never lowers
// encrypt or verify). <name> is the MX or relay host name, or the address
// as written for an IP literal (qmail-tls's partner_fqdn), compared as
// tls_host_key does. Port 465 is TLS from the first byte, so at least
// `encrypt` there.
// `dane_default`: control/dnssec-anchors exists, so an MX delivery whose
// route sets no tls= and no credentials gets `dane` (SPEC §13).
TlsChoice tls_for(const Route& route, const TlsFiles& files, const Target& target,
                  bool dane_default = false);

}  // namespace qr
