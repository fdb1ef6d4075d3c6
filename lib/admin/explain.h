// `qmail-routes explain` (SPEC §11): what qmail-remote would try for one
// delivery, without sending anything.
#pragma once

#include <string>

#include "lib/control/control.h"
#include "lib/dns/dns.h"
#include "lib/net/tcpto.h"
#include "lib/route/plan.h"

namespace qr {

struct ExplainRequest {
  std::string host, sender, recipient;  // as qmail-remote's argv
  // $QMAIL_ROOT/queue/sts: MTA-STS policies are read from here (never
  // fetched: explain sends nothing). Empty: MTA-STS is not looked at.
  std::string sts_cache_dir = {};
};

// Lines:
//   rule: routemap:N | smtproutes:N | mx
//   route: NAME
//   tls: POLICY            (the route's; per-host files and port 465 show per pair)
//   auth: no | yes (user LOGIN)
//   remote=HOST[IP]:PORT local=IP|default tls=POLICY   one per pair, in order
// and "# ..." notes for DNS answers that leave an item without addresses;
// "# the walk ends here: LETTER text" when a DNS answer settles the run, as
// the walk (lib/deliver.cc) would, and no pair after it. Both expand items
// with expand_endpoint (issue 13).
// `dns` null: no DNS (--no-dns): `mx` items are shown as "mx" and host
// names unresolved, paired with every local IP.
// Under `dane`, MX pairs show what SPEC §14 makes of them: a "# MTA-STS"
// note with the domain's policy (from the cache), "tls=verify sts=enforce"
// on the hosts it allows, and a note for each host it refuses.
// `dead` (may be null): what SPEC §12 remembers of dead hosts; pairs the
// walk would skip are shown as notes, demoted ones last.
std::string explain(const Control& control, const ExplainRequest& req, DnsSource* dns, Rng& rng,
                    DeadHosts* dead = nullptr);

}  // namespace qr
