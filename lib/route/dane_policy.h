// The DANE decision for one target (SPEC §13, RFC 7672 §2.2), shared by
// the walk (lib/deliver.cc) and `qmail-routes explain`, so explain shows
// what the walk would do: under policy `dane`, a host is DANE-checked only
// when the destination's MX RRset (for MX deliveries), the host's
// addresses and its TLSA RRset are all DNSSEC-secure. Insecure or
// unavailable anywhere: `may`. Secure TLSA records of which none is usable:
// `encrypt`. Bogus: the host is not used.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "lib/control/control.h"
#include "lib/dns/dnssec.h"
#include "lib/route/plan.h"
#include "lib/route/tls_policy.h"

namespace qr {

struct DaneDecision {
  TlsChoice tls;                    // the policy to use (Dane only with usable records)
  std::optional<DaneOptions> dane;  // set when tls.policy is Dane
  std::string refused;              // not empty: bogus, do not connect; why
  // For explain: the DNSSEC state that decided, and why when not secure.
  Security security = Security::Insecure;
  std::string why;
  const DaneHost* host = nullptr;  // the host's look-up, when one was made
};

class DanePolicy {
 public:
  // `domain`: the destination (argv[1]), whose MX RRset is checked.
  DanePolicy(const Control& control, DnsSource& dns, std::string domain)
      : control_(control), dns_(dns), domain_(std::move(domain)) {}

  // `tls` is tls_for()'s choice; anything but Dane is returned as it is,
  // with no DNS query (SPEC §13: no extra cost off the dane path).
  DaneDecision decide(const TlsChoice& tls, const Target& t);

 private:
  const DnssecAnchors* anchors(std::string* why);

  const Control& control_;
  DnsSource& dns_;
  std::string domain_;
  std::optional<Result<DnssecAnchors>> default_anchors_;
  std::optional<std::pair<Security, std::string>> mx_;
  std::map<std::string, DaneHost> hosts_;  // by host, port and family
};

}  // namespace qr
