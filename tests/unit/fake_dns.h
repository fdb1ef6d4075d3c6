// Scripted DNS answers for the walk and explain tests (issue 13): a
// DnsSource whose resolver answers from maps and never sends a packet.
#pragma once

#include <map>
#include <set>
#include <string>

#include "lib/dns/dns.h"
#include "lib/dns/dnssec.h"

namespace qr::test {

class FakeResolver final : public Resolver {
 public:
  std::map<std::string, MxAnswer> mx;
  std::map<std::string, HostAnswer> hosts;  // a name not here: NXDOMAIN

  MxAnswer lookup_mx(std::string_view domain, Rng&) override {
    auto it = mx.find(std::string(domain));
    if (it != mx.end()) return it->second;
    MxAnswer a;
    a.status = DnsStatus::NxDomain;
    a.error = "no such domain";
    return a;
  }
  HostAnswer lookup_host(std::string_view name) override {
    auto it = hosts.find(std::string(name));
    if (it != hosts.end()) return it->second;
    HostAnswer a;
    a.status = DnsStatus::NxDomain;
    a.error = "no such domain";
    return a;
  }
  Result<std::string> lookup_ptr(const IpAddr&) override { return Error{"no PTR"}; }
  std::map<std::string, TxtAnswer> txt;  // a name not here: NXDOMAIN
  TxtAnswer lookup_txt(std::string_view name) override {
    auto it = txt.find(std::string(name));
    if (it != txt.end()) return it->second;
    TxtAnswer a;
    a.status = DnsStatus::NxDomain;
    a.error = "no such domain";
    return a;
  }
};

// Scripted DNSSEC states for the DANE decisions of the walk (SPEC §13).
class FakeDaneDns final : public DaneDns {
 public:
  Security mx = Security::Secure;
  std::map<std::string, DaneHost> hosts;  // a host not here: insecure
  int asked = 0;                          // look-ups made

  Security mx_security(std::string_view, std::string* why) override {
    ++asked;
    *why = "scripted";
    return mx;
  }
  DaneHost host(std::string_view host, uint16_t, bool) override {
    ++asked;
    auto it = hosts.find(std::string(host));
    return it != hosts.end() ? it->second : DaneHost{Security::Insecure, {}, {}, "unsigned"};
  }
  Security anchors_status(std::string*) override { return Security::Secure; }
};

class FakeDns final : public DnsSource {
 public:
  FakeResolver answers;
  FakeDaneDns dnssec;
  std::set<IpAddr> local;  // this host's own addresses
  int asked = 0;           // how often a resolver was asked for

  Resolver* resolver(std::string*) override {
    ++asked;
    return &answers;
  }
  bool is_local(const IpAddr& addr) override { return local.count(addr) != 0; }
  DaneDns* dane(const DnssecAnchors&, std::string*) override { return &dnssec; }
};

inline HostAnswer temp_fail(std::string why) {
  HostAnswer a;
  a.status = DnsStatus::TempFail;
  a.error = std::move(why);
  return a;
}

}  // namespace qr::test
