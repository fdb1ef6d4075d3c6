// The resolver (SPEC §5): MX, A/AAAA, PTR and TXT (§14) look-ups. ldns builds and
// parses the packets; lib/dns/exchange.cc sends them. Every ldns handle is
// owned by a unique_ptr.
//
// Settings, chosen for a mail sender that must fail fast and retry later:
// - One deadline per query, 10 s, shared by every server and both tries
//   (DnsTiming); a server that refuses (nothing on its port: ICMP port
//   unreachable) fails at once on its connected UDP socket, so the next
//   server, or the temporary failure, comes without waiting (SPEC §12).
//   A server silent through its whole share is not asked again by this
//   process, so the later look-ups of one delivery do not wait for it again.
// - EDNS0 with a 1232-byte UDP size (the DNS Flag Day 2020 value, which avoids
//   IP fragmentation) and TCP when an answer is still truncated (RFC 7766):
//   SPEC §5 "answers over 512 bytes must work".
// - No DNSSEC, no search list, no default domain: a qmail domain is always
//   fully qualified, so every name is sent with a trailing dot.
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "lib/dns/dns.h"
#include "lib/dns/exchange.h"  // ldns/ldns.h, after stdbool.h
#include "lib/text.h"

namespace qr {

namespace {

using ResolverPtr = std::unique_ptr<ldns_resolver, LdnsFree>;
using PktPtr = DnsPkt;

constexpr int kMaxCnameHops = 8;

// Text form of a domain name without the trailing dot of the root.
std::string dname_text(const ldns_rdf* rdf) {
  CharPtr text(ldns_rdf2str(rdf));
  if (!text) return {};
  std::string s = text.get();
  if (s.size() > 1 && s.back() == '.') s.pop_back();
  return s;
}

std::string strip_dot(std::string_view name) {
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  return std::string(name);
}

std::optional<IpAddr> rdf_addr(const ldns_rdf* rdf) {
  sockaddr_storage ss{};
  if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_A && ldns_rdf_size(rdf) == 4) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    std::memcpy(&s->sin_addr, ldns_rdf_data(rdf), 4);
  } else if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_AAAA && ldns_rdf_size(rdf) == 16) {
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    std::memcpy(&s->sin6_addr, ldns_rdf_data(rdf), 16);
  } else {
    return std::nullopt;
  }
  return IpAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss));
}

RdfPtr addr_rdf(const IpAddr& addr) {
  sockaddr_storage ss;
  addr.to_sockaddr(0, &ss);
  if (addr.is_v6())
    return RdfPtr(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16,
                                        &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr));
  return RdfPtr(
      ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr));
}

// One query's outcome. Ok: NOERROR (the answer may hold no record of the
// type: NODATA); NxDomain; TempFail: no server answered, or SERVFAIL, REFUSED
// or any other error rcode (RFC 1035 §4.1.1), which say nothing about the name.
struct Reply {
  DnsStatus status = DnsStatus::TempFail;
  PktPtr pkt;
  std::string error;
};

// The records of `type` in the answer section, following CNAMEs the server
// already followed (the answer then holds the chain and the final records).
RrListPtr answers(const Reply& reply, ldns_rr_type type) {
  return RrListPtr(ldns_pkt_rr_list_by_type(reply.pkt.get(), type, LDNS_SECTION_ANSWER));
}

// Where the answer's CNAME chain starting at `name` ends; null when there is
// none. Owner names compare case-insensitively (ldns_dname_compare).
RdfPtr cname_chain_end(const Reply& reply, const ldns_rdf* name) {
  RrListPtr cnames = answers(reply, LDNS_RR_TYPE_CNAME);
  size_t n = cnames ? ldns_rr_list_rr_count(cnames.get()) : 0;
  const ldns_rdf* end = name;
  for (size_t step = 0; step < n; ++step) {  // n steps at most: no loop forever
    const ldns_rdf* next = nullptr;
    for (size_t i = 0; i < n && !next; ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(cnames.get(), i);
      if (ldns_dname_compare(ldns_rr_owner(rr), end) == 0) next = ldns_rr_rdf(rr, 0);
    }
    if (!next) break;
    end = next;
  }
  // `end` points into the list, which dies here.
  return end == name ? nullptr : RdfPtr(ldns_rdf_clone(end));
}

// Appends the addresses of an A or AAAA answer, in the order received.
void append_addrs(const Reply& reply, ldns_rr_type type, std::vector<IpAddr>* out) {
  if (reply.status != DnsStatus::Ok) return;
  RrListPtr list = answers(reply, type);
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list.get()); ++i)
    if (auto ip = rdf_addr(ldns_rr_rdf(ldns_rr_list_rr(list.get(), i), 0))) out->push_back(*ip);
}

class LdnsResolver final : public Resolver {
 public:
  explicit LdnsResolver(std::vector<DnsServer> servers) : exchanger_(std::move(servers)) {}

  MxAnswer lookup_mx(std::string_view domain, Rng& rng) override;
  HostAnswer lookup_host(std::string_view name) override;
  Result<std::string> lookup_ptr(const IpAddr& addr) override;
  TxtAnswer lookup_txt(std::string_view name) override;

 private:
  Reply query(std::string_view name, ldns_rr_type type);
  Reply query(const ldns_rdf* name, ldns_rr_type type);
  Reply ask(const ldns_rdf* name, ldns_rr_type type);  // one query, no CNAME chasing

  // DNSCACHEIP's or resolv.conf's servers, asked in the order configured.
  DnsExchanger exchanger_;
};

Reply LdnsResolver::query(std::string_view name, ldns_rr_type type) {
  std::string fqdn(name);
  if (fqdn.empty() || fqdn.back() != '.') fqdn += '.';
  RdfPtr dname(ldns_dname_new_frm_str(fqdn.c_str()));
  if (!dname) {
    // Not a DNS name at all (an empty label, a label over 63 octets): no such
    // domain can exist, so this is permanent.
    return Reply{DnsStatus::NxDomain, nullptr, "bad domain name " + strip_dot(name)};
  }
  return query(dname.get(), type);
}

// A NOERROR answer without records of the type asked may end in a CNAME
// chain the server did not finish (Unbound's local data does this; RFC 1034
// §3.6.2 lets a resolver restart the query at the alias): ask again for the
// chain's end, at most kMaxCnameHops times. Loops end as NODATA.
Reply LdnsResolver::query(const ldns_rdf* name, ldns_rr_type type) {
  RdfPtr current(ldns_rdf_clone(name));
  for (int hop = 0;; ++hop) {
    Reply reply = ask(current.get(), type);
    if (reply.status != DnsStatus::Ok || type == LDNS_RR_TYPE_CNAME) return reply;
    RrListPtr wanted = answers(reply, type);
    if (wanted && ldns_rr_list_rr_count(wanted.get()) > 0) return reply;
    RdfPtr end = cname_chain_end(reply, current.get());
    if (!end || hop == kMaxCnameHops) return reply;
    current = std::move(end);
  }
}

Reply LdnsResolver::ask(const ldns_rdf* name, ldns_rr_type type) {
  std::string what = dname_text(name);
  DnsExchangeResult r = exchanger_.query(name, type);
  if (!r.pkt)
    return Reply{DnsStatus::TempFail, nullptr,
                 "DNS temporary failure for " + what + ": " + r.error};
  if (ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NXDOMAIN)
    return Reply{DnsStatus::NxDomain, std::move(r.pkt), "no such domain " + what};
  return Reply{DnsStatus::Ok, std::move(r.pkt), {}};
}

HostAnswer LdnsResolver::lookup_host(std::string_view name) {
  HostAnswer out;
  std::string what = strip_dot(name);
  Reply a = query(name, LDNS_RR_TYPE_A);
  if (a.status == DnsStatus::NxDomain) {
    out.status = DnsStatus::NxDomain;
    out.error = a.error;
    return out;
  }
  append_addrs(a, LDNS_RR_TYPE_A, &out.addrs);
  Reply aaaa = query(name, LDNS_RR_TYPE_AAAA);
  append_addrs(aaaa, LDNS_RR_TYPE_AAAA, &out.addrs);
  if (!out.addrs.empty()) return out;  // one family failing is not fatal
  if (a.status == DnsStatus::TempFail || aaaa.status == DnsStatus::TempFail) {
    out.status = DnsStatus::TempFail;
    out.error = a.status == DnsStatus::TempFail ? a.error : aaaa.error;
    return out;
  }
  if (aaaa.status == DnsStatus::NxDomain) {
    out.status = DnsStatus::NxDomain;
    out.error = aaaa.error;
    return out;
  }
  out.error = "no address for " + what;
  return out;
}

MxAnswer LdnsResolver::lookup_mx(std::string_view domain, Rng& rng) {
  MxAnswer out;
  Reply mx = query(domain, LDNS_RR_TYPE_MX);
  if (mx.status != DnsStatus::Ok) {
    out.status = mx.status;
    out.error = mx.error;
    return out;
  }
  std::vector<MxHost> hosts;
  if (auto list = answers(mx, LDNS_RR_TYPE_MX)) {
    for (size_t i = 0; i < ldns_rr_list_rr_count(list.get()); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(list.get(), i);
      if (ldns_rr_rd_count(rr) != 2) continue;
      MxHost host;
      host.preference = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
      host.name = to_lower(dname_text(ldns_rr_rdf(rr, 1)));
      hosts.push_back(std::move(host));
    }
  }

  if (hosts.empty()) {
    // NODATA: the domain itself is the mail exchanger (RFC 5321 §5.1).
    out.implicit = true;
    HostAnswer self = lookup_host(domain);
    if (self.status != DnsStatus::Ok) {
      out.status = self.status;
      out.error = self.error;
      return out;
    }
    MxHost host{to_lower(strip_dot(domain)), 0, std::move(self.addrs), {}};
    if (host.addrs.empty()) host.error = "couldn't find a mail exchanger or IP address";
    out.hosts.push_back(std::move(host));
    return out;
  }

  // RFC 7505 §3: a single MX of preference 0 whose target is the root.
  if (hosts.size() == 1 && hosts[0].preference == 0 && hosts[0].name == ".") {
    out.status = DnsStatus::NullMx;
    out.error = strip_dot(domain) + " does not accept mail (null MX)";
    return out;
  }

  // Names are lowercased (DNS names compare case-insensitively, RFC 4343;
  // servers echo the query's case into compressed names). The same host
  // listed twice keeps its best preference.
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
  std::vector<MxHost> unique;
  for (auto& h : hosts) {
    bool seen = std::any_of(unique.begin(), unique.end(),
                            [&](const MxHost& u) { return u.name == h.name; });
    if (!seen) unique.push_back(std::move(h));
  }
  // Equal preferences in random order (RFC 5321 §5.1): shuffle, then a stable
  // sort keeps the shuffled order within each preference.
  std::shuffle(unique.begin(), unique.end(), rng);
  std::stable_sort(unique.begin(), unique.end(),
                   [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });

  for (auto& h : unique) {
    if (h.name == ".") {
      h.error = "MX target is the root (a null MX among other MX records)";
      continue;
    }
    HostAnswer addrs = lookup_host(h.name);
    h.addrs = std::move(addrs.addrs);
    if (h.addrs.empty()) h.error = addrs.error.empty() ? "no address for " + h.name : addrs.error;
  }
  out.hosts = std::move(unique);
  return out;
}

Result<std::string> LdnsResolver::lookup_ptr(const IpAddr& addr) {
  RdfPtr ip = addr_rdf(addr);
  RdfPtr reverse(ip ? ldns_rdf_address_reverse(ip.get()) : nullptr);
  if (!reverse) return Error{"cannot build the reverse name of " + addr.str()};
  Reply ptr = query(reverse.get(), LDNS_RR_TYPE_PTR);
  if (ptr.status != DnsStatus::Ok) return Error{ptr.error};
  if (auto list = answers(ptr, LDNS_RR_TYPE_PTR))
    if (ldns_rr_list_rr_count(list.get()) > 0)
      return dname_text(ldns_rr_rdf(ldns_rr_list_rr(list.get(), 0), 0));
  return Error{"no PTR record for " + addr.str()};
}

TxtAnswer LdnsResolver::lookup_txt(std::string_view name) {
  TxtAnswer out;
  Reply txt = query(name, LDNS_RR_TYPE_TXT);
  if (txt.status != DnsStatus::Ok) {
    out.status = txt.status;
    out.error = txt.error;
    return out;
  }
  RrListPtr list = answers(txt, LDNS_RR_TYPE_TXT);
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list.get()); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list.get(), i);
    std::string record;
    // Each rdf is one character-string: a length byte, then the bytes.
    for (size_t j = 0; j < ldns_rr_rd_count(rr); ++j) {
      const ldns_rdf* rdf = ldns_rr_rdf(rr, j);
      const uint8_t* d = ldns_rdf_data(rdf);
      size_t n = ldns_rdf_size(rdf);
      if (n == 0 || size_t(d[0]) + 1 > n) continue;
      record.append(reinterpret_cast<const char*>(d + 1), d[0]);
    }
    out.records.push_back(std::move(record));
  }
  return out;
}

// resolv.conf's nameserver lines, parsed by ldns, in their order.
Result<std::vector<DnsServer>> from_resolv_conf() {
  ldns_resolver* raw = nullptr;
  ldns_status st = ldns_resolver_new_frm_file(&raw, nullptr);  // /etc/resolv.conf
  ResolverPtr r(raw);
  if (st == LDNS_STATUS_FILE_ERR && access("/etc/resolv.conf", F_OK) != 0) {
    // No resolv.conf: the C library's default, a cache on this host.
    return std::vector<DnsServer>{DnsServer{*IpAddr::parse("127.0.0.1"), 53}};
  }
  if (st != LDNS_STATUS_OK || !r)
    return Error{std::string("/etc/resolv.conf: ") + ldns_get_errorstr_by_id(st)};
  std::vector<DnsServer> servers;
  ldns_rdf** ns = ldns_resolver_nameservers(r.get());
  for (size_t i = 0; i < ldns_resolver_nameserver_count(r.get()); ++i) {
    auto addr = rdf_addr(ns[i]);
    if (!addr) return Error{"/etc/resolv.conf: a nameserver that is not an IP address"};
    servers.push_back(DnsServer{*addr, ldns_resolver_port(r.get())});
  }
  if (servers.empty()) return Error{"/etc/resolv.conf: no nameserver line"};
  return servers;
}

}  // namespace

Result<std::vector<DnsServer>> configured_dns_servers() {
  if (const char* env = std::getenv("DNSCACHEIP")) return parse_dnscacheip(env);
  return from_resolv_conf();
}

Result<std::unique_ptr<Resolver>> Resolver::create() {
  auto servers = configured_dns_servers();
  if (!servers) return servers.failure();
  return std::unique_ptr<Resolver>(new LdnsResolver(std::move(*servers)));
}

}  // namespace qr
