#include "lib/route/expand.h"

#include "lib/text.h"
#include "lib/route/select.h"

namespace qr {

namespace {

Unreached unreached(std::string where, std::string why) {
  return Unreached{AttemptLine{std::move(where), "", std::move(why)}};
}

Expansion verdict(Expansion x, std::string where, std::string why, DnsVerdict::Kind kind,
                  std::string detail = "") {
  x.unreached.push_back(unreached(std::move(where), std::move(why)));
  x.verdict = DnsVerdict{kind, std::move(detail)};
  return x;
}

Expansion expand_mx(const Endpoint& e, std::string_view host, DnsSource& dns, Rng& rng) {
  Expansion x;
  // An IP-literal destination has no MX: the literal itself (SPEC §1).
  if (auto lit = host_literal(host)) {
    x.targets.push_back({"", *lit, e.port, false});
    return x;
  }
  const std::string mx_for = "MX for " + std::string(host);
  std::string err;
  Resolver* res = dns.resolver(&err);
  if (!res) return verdict(std::move(x), mx_for, err, DnsVerdict::Kind::TempFail, err);
  MxAnswer a = res->lookup_mx(to_lower(host), rng);
  switch (a.status) {
    case DnsStatus::NxDomain:
      return verdict(std::move(x), mx_for, "no such domain", DnsVerdict::Kind::NoSuchDomain);
    case DnsStatus::NullMx:
      x = verdict(std::move(x), mx_for, "null MX", DnsVerdict::Kind::NullMx);
      x.stops = true;
      return x;
    case DnsStatus::TempFail:
      return verdict(std::move(x), mx_for, a.error, DnsVerdict::Kind::TempFail, a.error);
    case DnsStatus::Ok:
      break;
  }
  if (a.implicit)
    x.notes.push_back("no MX for " + std::string(host) + ": its own address (implicit MX)");
  // SPEC §5: a best MX that is this host means the mail would loop.
  if (drop_self_mx(a.hosts, [&](const IpAddr& ip) { return dns.is_local(ip); })) {
    if (a.hosts.empty())
      return verdict(std::move(x), mx_for, "this host is the best MX", DnsVerdict::Kind::SelfMx);
    x.notes.push_back("this host is an MX of " + std::string(host) +
                      ": it and every worse MX are dropped");
  }
  // RFC 5321 §5.1: a domain with no MX and no address cannot get mail;
  // vanilla says so permanently (#5.4.4).
  if (a.implicit && a.hosts.size() == 1 && a.hosts[0].addrs.empty())
    return verdict(std::move(x), mx_for, "no MX and no address", DnsVerdict::Kind::NoMailExchanger);
  std::string unresolved;
  for (const MxHost& h : a.hosts) {
    if (h.addrs.empty()) {
      x.unreached.push_back(unreached(h.name, h.error.empty() ? "no address" : h.error));
      unresolved += (unresolved.empty() ? "" : ", ") + h.name;
    }
    for (const IpAddr& ip : h.addrs) x.targets.push_back({h.name, ip, e.port, true});
  }
  if (x.targets.empty()) x.verdict = DnsVerdict{DnsVerdict::Kind::NoAddress, unresolved};
  return x;
}

}  // namespace

Expansion expand_endpoint(const Endpoint& e, std::string_view host, DnsSource& dns, Rng& rng) {
  if (e.is_mx) return expand_mx(e, host, dns, rng);
  Expansion x;
  if (e.ip) {
    x.targets.push_back({"", *e.ip, e.port, false});
    return x;
  }
  std::string err;
  Resolver* res = dns.resolver(&err);
  if (!res) {
    x.unreached.push_back(unreached(e.host, err));
    return x;
  }
  HostAnswer a = res->lookup_host(e.host);
  if (a.status != DnsStatus::Ok || a.addrs.empty()) {
    x.unreached.push_back(unreached(e.host, a.error.empty() ? "no address" : a.error));
    return x;
  }
  for (const IpAddr& ip : a.addrs) x.targets.push_back({e.host, ip, e.port, false});
  return x;
}

}  // namespace qr
