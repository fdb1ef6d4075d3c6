// One DNS query to the configured servers (SPEC §5, §12): UDP on connected
// sockets, TCP when the answer is truncated. ldns builds and parses the
// packets; the sockets are ours, because ldns sends UDP on unconnected
// sockets, where a server that refuses (ICMP port unreachable) is only
// noticed when the timeout runs out. Internal to lib/dns.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "lib/dns/dns.h"

// ldns/common.h defines `bool` and `false` as macros unless stdbool.h came
// first; those macros break C++ headers (std::optional's operator<=>).
#include <stdbool.h>  // NOLINT: see above

#include <ldns/ldns.h>

namespace qr {

struct LdnsPktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using DnsPkt = std::unique_ptr<ldns_pkt, LdnsPktFree>;

// Owners of the other ldns handles lib/dns uses (DESIGN.md: RAII around
// every C handle).
struct LdnsFree {
  void operator()(ldns_resolver* r) const { ldns_resolver_deep_free(r); }
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
  void operator()(ldns_rdf* d) const { ldns_rdf_deep_free(d); }
  void operator()(char* s) const { std::free(s); }  // ldns_rdf2str's malloc'd text
};
using RrListPtr = std::unique_ptr<ldns_rr_list, LdnsFree>;
using RrPtr = std::unique_ptr<ldns_rr, LdnsFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, LdnsFree>;
using CharPtr = std::unique_ptr<char, LdnsFree>;

// Timing of one query, shared by every server and retry:
// - `budget` is the query's whole time (10 s: the 5 s x 2 tries per server
//   of the ldns resolver this replaces, now for all servers together).
// - It is cut into `rounds` equal parts. In each part every server still
//   in play is sent the query (the first time, or again with the same ID)
//   and gets an equal share of what is left of the part; a server that
//   refuses or answers uselessly hands its time to the next one at once.
// - A socket stays open until the query ends, so a late answer from a
//   server already passed over is still taken.
struct DnsTiming {
  std::chrono::milliseconds budget{10000};
  int rounds = 2;
};

struct DnsExchangeResult {
  DnsPkt pkt;         // NOERROR or NXDOMAIN, ID and question checked; else null
  std::string error;  // when pkt is null: what each server did
};

class DnsExchanger {
 public:
  explicit DnsExchanger(std::vector<DnsServer> servers, DnsTiming timing = {});

  // Asks for (name, type, IN) with RD and EDNS0 (1232-byte UDP size).
  // SERVFAIL, REFUSED and other error rcodes pass the query to the next
  // server. A server that let its whole share of a query go by without a
  // word is not asked again by this exchanger (as ldns marked such a server
  // unreachable); when none is left, the query fails at once.
  // With `dnssec`, the DO bit (RFC 3225: send the RRSIG, NSEC, NSEC3 and DS
  // records) and the CD bit (RFC 4035 §3.2.2: a validating resolver passes
  // bogus data instead of SERVFAIL, so that we can say why it is bogus):
  // lib/dns/dnssec.cc validates by itself.
  DnsExchangeResult query(const ldns_rdf* name, ldns_rr_type type, bool dnssec = false);

  const std::vector<DnsServer>& servers() const { return servers_; }

 private:
  std::vector<DnsServer> servers_;
  std::vector<bool> silent_;  // silent through a whole share of an earlier query
  DnsTiming timing_;
};

}  // namespace qr
