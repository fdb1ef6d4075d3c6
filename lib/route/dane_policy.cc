#include "lib/route/dane_policy.h"

#include <algorithm>

namespace qr {

const DnssecAnchors* DanePolicy::anchors(std::string* why) {
  if (control_.anchors) return &*control_.anchors;
  // A route's tls=dane without control/dnssec-anchors: Debian's root key.
  if (!default_anchors_)
    default_anchors_ = load_dnssec_anchors(kDefaultAnchorsFile, kDefaultAnchorsFile);
  if (!*default_anchors_) {
    *why = default_anchors_->error();
    return nullptr;
  }
  return &**default_anchors_;
}

DaneDecision DanePolicy::decide(const TlsChoice& tls, const Target& t) {
  DaneDecision d;
  d.tls = tls;
  if (tls.policy != TlsPolicy::Dane) return d;
  d.tls.policy = TlsPolicy::May;  // unless everything below is secure
  d.security = Security::Unavailable;
  if (t.host.empty()) {
    d.why = "an IP address has no TLSA records";
    return d;
  }
  const DnssecAnchors* a = anchors(&d.why);
  if (!a) return d;  // unreadable anchors: DANE unavailable, as without DNSSEC
  DaneDns* dane = dns_.dane(*a, &d.why);
  if (!dane) return d;
  if (t.from_mx) {
    if (!mx_) {
      std::string why;
      Security s = dane->mx_security(domain_, &why);
      mx_.emplace(s, why);
    }
    if (mx_->first != Security::Secure) {
      d.security = mx_->first;
      d.why = "MX records of " + domain_ + ": " + mx_->second;
      // RFC 7672 §2.2.1: insecure MX names cannot be trusted for TLSA.
      if (mx_->first == Security::Bogus) d.refused = "DNSSEC: bogus " + d.why;
      return d;
    }
  }
  const std::string key = t.host + "/" + std::to_string(t.port) + (t.addr.is_v6() ? "/6" : "/4");
  auto it = hosts_.find(key);
  if (it == hosts_.end())
    it = hosts_.emplace(key, dane->host(t.host, t.port, t.addr.is_v6())).first;
  const DaneHost& h = it->second;
  d.host = &h;
  d.security = h.security;
  d.why = h.why;
  if (h.security == Security::Bogus) {
    d.refused = "DNSSEC: " + t.host + " is bogus: " + h.why;
    return d;
  }
  if (h.security != Security::Secure || h.tlsa.empty()) return d;
  // RFC 7672 §2.2: TLSA records, none usable: TLS still required, unchecked.
  if (std::none_of(h.tlsa.begin(), h.tlsa.end(), tlsa_usable)) {
    d.tls.policy = TlsPolicy::Encrypt;
    return d;
  }
  d.tls.policy = TlsPolicy::Dane;
  d.dane = DaneOptions{h.tlsa, h.names};
  return d;
}

}  // namespace qr
