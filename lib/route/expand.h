// One route endpoint to the addresses it stands for (SPEC §4, §5): `mx`
// to the destination's MX hosts' addresses, a host name to its addresses,
// an IP literal to itself. The walk (lib/deliver.cc) and `qmail-routes
// explain` both call this one function, so explain never shows a pair the
// walk would not try (issue 13).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/dns/dns.h"
#include "lib/outcome.h"
#include "lib/route/plan.h"

namespace qr {

struct Expansion {
  std::vector<Target> targets;       // in the order to try them
  std::vector<Unreached> unreached;  // names the DNS left without an address
  std::vector<std::string> notes;    // what explain also says (implicit MX, self MX dropped)
  // A DNS answer about the destination. It settles the run when `stops`, or
  // when this `mx` is the route's only remote (doc/DECISIONS.md: a relay may
  // know domains public DNS does not); else the walk goes on.
  std::optional<DnsVerdict> verdict;
  // The destination says it takes no mail (null MX, RFC 7505): no other
  // remote of the route is tried either.
  bool stops = false;
};

// `host` is argv[1], the destination (its MX for `mx`, or an IP literal).
Expansion expand_endpoint(const Endpoint& e, std::string_view host, DnsSource& dns, Rng& rng);

// Whether the walk ends with x's verdict, on a route of `remotes` remotes.
inline bool ends_run(const Expansion& x, size_t remotes) {
  return x.verdict && (x.stops || remotes == 1);
}

}  // namespace qr
