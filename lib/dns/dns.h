// DNS with ldns (SPEC §5): MX, A/AAAA, PTR, TXT (§14).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/net/address.h"
#include "lib/result.h"
#include "lib/rng.h"

namespace qr {

enum class DnsStatus {
  Ok,
  NxDomain,  // the name does not exist: permanent
  TempFail,  // SERVFAIL, timeout, no server: temporary
  NullMx,    // RFC 7505: the domain accepts no mail
};

struct MxHost {
  std::string name;  // lowercase, no trailing dot
  uint16_t preference = 0;
  std::vector<IpAddr> addrs;  // A records first, then AAAA
  std::string error;          // why addrs is empty, when it is
};

struct MxAnswer {
  DnsStatus status = DnsStatus::Ok;
  std::vector<MxHost> hosts;  // by preference; equal preferences shuffled
  bool implicit = false;      // no MX records: the domain itself (RFC 5321 §5.1)
  std::string error;          // for NxDomain / TempFail: what happened
};

// Ok with empty addrs: the name exists but has no A or AAAA; error says so.
// A temporary failure of one family is ignored when the other has addresses.
struct HostAnswer {
  DnsStatus status = DnsStatus::Ok;
  std::vector<IpAddr> addrs;  // A first, then AAAA
  std::string error;
};

// TXT records of one name (SPEC §14: _mta-sts.<domain>). Ok with no
// records: the name has none (NODATA); NxDomain: the name does not exist.
struct TxtAnswer {
  DnsStatus status = DnsStatus::Ok;
  // One string per record: its character-strings joined with nothing
  // between them (RFC 8461 §3.1 and RFC 7208 §3.3 read a record so).
  std::vector<std::string> records;
  std::string error;
};

// Servers from /etc/resolv.conf, or from DNSCACHEIP ("1.2.3.4
// [::1]:5353,127.0.0.1:53") when set, asked in that order on connected UDP
// sockets (a refusing server fails at once: SPEC §12). EDNS0 on, TCP on
// truncation, one 10 s deadline per query for all servers and both tries
// (lib/dns/exchange.h). A bad DNSCACHEIP or resolv.conf: create() fails.
// (ldns/ldns.h needs <stdbool.h> included first in C++: see exchange.h.)
class Resolver {
 public:
  static Result<std::unique_ptr<Resolver>> create();
  virtual ~Resolver() = default;
  virtual MxAnswer lookup_mx(std::string_view domain, Rng& rng) = 0;
  virtual HostAnswer lookup_host(std::string_view name) = 0;
  virtual Result<std::string> lookup_ptr(const IpAddr& addr) = 0;
  virtual TxtAnswer lookup_txt(std::string_view name) = 0;
};

class DaneDns;         // lib/dns/dnssec.h
struct DnssecAnchors;  // lib/dns/dnssec.h

// Where the walk and `qmail-routes explain` get the DNS from, so that both
// expand a route the same way and tests can inject answers (issue 13).
class DnsSource {
 public:
  virtual ~DnsSource() = default;
  // The resolver, made on first use; null when none can be made, and then
  // *error says why (every later call says the same).
  virtual Resolver* resolver(std::string* error) = 0;
  // True when `addr` is configured on one of this host's interfaces
  // (vanilla's ipme): the self-MX rule of SPEC §5.
  virtual bool is_local(const IpAddr& addr) = 0;
  // The DNSSEC-validating view for DANE (SPEC §13), made on first use from
  // `anchors` (the same ones every call); null when none can be made, and
  // then *error says why. Asked only under policy `dane`.
  virtual DaneDns* dane(const DnssecAnchors& anchors, std::string* error) {
    (void)anchors;
    *error = "no DNSSEC validation here";
    return nullptr;
  }
};

// The real one: Resolver::create() on first use (so a run that needs no DNS
// costs none), getifaddrs for is_local. Or around a resolver made already.
class SystemDns final : public DnsSource {
 public:
  SystemDns();
  explicit SystemDns(std::unique_ptr<Resolver> r);
  ~SystemDns() override;
  Resolver* resolver(std::string* error) override;
  bool is_local(const IpAddr& addr) override;
  DaneDns* dane(const DnssecAnchors& anchors, std::string* error) override;

 private:
  std::unique_ptr<Resolver> resolver_;
  std::string error_;
  std::unique_ptr<DaneDns> dane_;
  std::string dane_error_;
};

// Parses DNSCACHEIP's value (SPEC §2): addresses separated by spaces or
// commas, each "IP", "IP:PORT" or "[IPv6]:PORT".
struct DnsServer {
  IpAddr addr;
  uint16_t port = 53;
};
Result<std::vector<DnsServer>> parse_dnscacheip(std::string_view value);

// DNSCACHEIP's servers when it is set, else resolv.conf's (as Resolver::create).
Result<std::vector<DnsServer>> configured_dns_servers();

// The self-MX rule (SPEC §5): if any address of a host is local (is_local),
// drop that host and every host of equal or worse preference. Returns true
// when something was dropped.
template <class IsLocal>
bool drop_self_mx(std::vector<MxHost>& hosts, IsLocal is_local) {
  for (size_t i = 0; i < hosts.size(); ++i) {
    for (const auto& a : hosts[i].addrs) {
      if (is_local(a)) {
        uint16_t pref = hosts[i].preference;
        size_t keep = 0;
        while (keep < hosts.size() && hosts[keep].preference < pref) ++keep;
        hosts.resize(keep);
        return true;
      }
    }
  }
  return false;
}

}  // namespace qr
