// DNSSEC validated here, from our own trust anchors (SPEC §13): the MX
// RRset, the MX hosts' A/AAAA and their TLSA records, checked with ldns from
// control/dnssec-anchors down (DS/DNSKEY chain, RRSIG times, NSEC/NSEC3
// denials, CNAMEs). The resolver's AD bit is never looked at, so any
// resolver that passes the DNSSEC records (DO bit) will do; queries carry
// the CD bit, so that a validating resolver hands over bogus data and we
// can say why it is bogus.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/dns/dns.h"
#include "lib/result.h"
#include "lib/tls/dane.h"

namespace qr {

// RFC 4033 §5's states, and ours for a resolver that returns no DNSSEC
// records at all (djbdns's dnscache drops them): DANE is then unavailable.
enum class Security { Secure, Insecure, Bogus, Unavailable };
const char* security_name(Security s);  // "secure", "insecure", "bogus", "unavailable"

// control/dnssec-anchors (SPEC §13): DS or DNSKEY records in zone-file
// syntax (as /usr/share/dns/root.key), checked record by record.
struct DnssecAnchors {
  std::string file;                  // where they came from, for messages
  std::vector<std::string> records;  // each in presentation format
};
constexpr const char* kDefaultAnchorsFile = "/usr/share/dns/root.key";

// Errors name the file and the line: "control/dnssec-anchors line 3: not a
// DS or DNSKEY record". `shown` is the name used in messages. A file with
// no record is an error (it would make every answer insecure).
Result<DnssecAnchors> load_dnssec_anchors(const std::string& path, const std::string& shown);
Result<DnssecAnchors> parse_dnssec_anchors(std::string_view text, const std::string& shown);

// What DANE needs to know of one MX host (RFC 7672 §2.2).
struct DaneHost {
  Security security = Security::Insecure;
  // Secure: the TLSA RRset (empty: secure proof that there is none).
  std::vector<Tlsa> tlsa;
  // The names a DANE-TA certificate may carry (RFC 7672 §3.2.2): the TLSA
  // base domain (after a secure CNAME expansion) first, then the MX name.
  std::vector<std::string> names;
  std::string why;  // what made it insecure, bogus or unavailable
};

// A validating view of the DNS for one delivery: answers and zone keys are
// remembered for the process's life (a run asks for a few hosts).
class DaneDns {
 public:
  virtual ~DaneDns() = default;
  // The destination's MX RRset (or its proof of absence: implicit MX).
  virtual Security mx_security(std::string_view domain, std::string* why) = 0;
  // The host's address records of `v6`'s family, then `_PORT._tcp.<host>`.
  // Only secure addresses lead to a TLSA look-up (RFC 7672 §2.2.2).
  virtual DaneHost host(std::string_view host, uint16_t port, bool v6) = 0;
  // The anchors' own zones: secure when the DNS server passes their signed
  // DNSKEY records; unavailable when it passes no DNSSEC records at all.
  virtual Security anchors_status(std::string* why) = 0;
};

// The real one: DNSCACHEIP's or resolv.conf's servers, as Resolver::create.
Result<std::unique_ptr<DaneDns>> make_dane_dns(const DnssecAnchors& anchors);

}  // namespace qr
