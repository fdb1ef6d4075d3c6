// DNS layer pieces that need no server (SPEC §2 DNSCACHEIP, §5 self-MX).
// The resolver itself is tested against Unbound: tests/integration/t_dns.sh.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "lib/dns/dns.h"

using qr::DnsServer;
using qr::IpAddr;
using qr::MxHost;

namespace {

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

std::string show(const std::vector<DnsServer>& servers) {
  std::string out;
  for (const auto& s : servers) {
    if (!out.empty()) out += ' ';
    out += qr::format_endpoint(s.addr, s.port);
  }
  return out;
}

}  // namespace

TEST_CASE("parse_dnscacheip accepts the SPEC §2 forms", "[dns]") {
  struct Row {
    const char* value;
    const char* servers;  // as format_endpoint prints them
  };
  const Row rows[] = {
      {"127.0.0.1", "127.0.0.1:53"},
      {"1.2.3.4 5.6.7.8", "1.2.3.4:53 5.6.7.8:53"},
      {"1.2.3.4,5.6.7.8:5353", "1.2.3.4:53 5.6.7.8:5353"},
      {"  1.2.3.4 , ,\t::1  ", "1.2.3.4:53 [::1]:53"},
      {"[::1]:5353", "[::1]:5353"},
      {"[2001:db8::1]", "[2001:db8::1]:53"},
      {"2001:db8::1", "[2001:db8::1]:53"},  // bare IPv6: its colons are not a port
      {"127.0.0.53:65535,[::1]:1", "127.0.0.53:65535 [::1]:1"},
      {"1.2.3.4 [::1]:5353,127.0.0.1:53", "1.2.3.4:53 [::1]:5353 127.0.0.1:53"},  // dns.h's example
  };
  for (const auto& row : rows) {
    INFO("DNSCACHEIP=" << row.value);
    auto got = qr::parse_dnscacheip(row.value);
    REQUIRE(got.ok());
    CHECK(show(*got) == row.servers);
  }
}

TEST_CASE("parse_dnscacheip rejects bad values and names them", "[dns]") {
  struct Row {
    const char* value;
    const char* named;  // the error text must contain this
  };
  const Row rows[] = {
      {"", "DNSCACHEIP"},
      {" , ", "DNSCACHEIP"},
      {"localhost", "localhost"},
      {"1.2.3.4 cache.example", "cache.example"},
      {"256.1.1.1", "256.1.1.1"},
      {"1.2.3.4:", "1.2.3.4:"},
      {"1.2.3.4:0", "1.2.3.4:0"},
      {"1.2.3.4:65536", "1.2.3.4:65536"},
      {"1.2.3.4:53x", "1.2.3.4:53x"},
      {"1.2.3.4:-1", "1.2.3.4:-1"},
      {"[::1", "[::1"},
      {"[::1]53", "[::1]53"},
      {"[::1]:", "[::1]:"},
      {"[1.2.3.4]:53", "[1.2.3.4]:53"},
      {"[]:53", "[]:53"},
      {"1.2.3.4:5:6", "1.2.3.4:5:6"},
  };
  for (const auto& row : rows) {
    INFO("DNSCACHEIP=\"" << row.value << "\"");
    auto got = qr::parse_dnscacheip(row.value);
    REQUIRE_FALSE(got.ok());
    CHECK_THAT(got.error(), Catch::Contains(row.named));
  }
}

TEST_CASE("drop_self_mx drops a local MX and every MX not better (SPEC §5)", "[dns]") {
  const std::set<IpAddr> local = {ip("192.0.2.1"), ip("2001:db8::1")};
  auto is_local = [&](const IpAddr& a) { return local.count(a) > 0; };
  struct Row {
    const char* name;
    std::vector<MxHost> hosts;
    std::vector<std::string> kept;
    bool dropped;
  };
  // Hosts come in preference order, as lookup_mx returns them.
  const Row rows[] = {
      {"best MX is local: all dropped",
       {{"a", 10, {ip("192.0.2.1")}, ""}, {"b", 20, {ip("198.51.100.2")}, ""}},
       {},
       true},
      {"second-best local: only the best kept",
       {{"a", 10, {ip("198.51.100.1")}, ""},
        {"b", 20, {ip("192.0.2.1")}, ""},
        {"c", 30, {ip("198.51.100.3")}, ""}},
       {"a"},
       true},
      {"equal preference of a local host dropped too (local one listed second)",
       {{"a", 10, {ip("198.51.100.1")}, ""},
        {"b", 20, {ip("198.51.100.2")}, ""},
        {"c", 20, {ip("192.0.2.1")}, ""},
        {"d", 30, {ip("198.51.100.4")}, ""}},
       {"a"},
       true},
      {"equal preference of a local host dropped too (local one listed first)",
       {{"a", 10, {ip("198.51.100.1")}, ""},
        {"c", 20, {ip("192.0.2.1")}, ""},
        {"b", 20, {ip("198.51.100.2")}, ""}},
       {"a"},
       true},
      {"a local IPv6 address after a remote IPv4 one counts",
       {{"a", 10, {ip("198.51.100.1")}, ""},
        {"b", 20, {ip("198.51.100.2"), ip("2001:db8::1")}, ""}},
       {"a"},
       true},
      {"no local address: nothing dropped",
       {{"a", 10, {ip("198.51.100.1")}, ""}, {"b", 10, {ip("2001:db8::2")}, ""}},
       {"a", "b"},
       false},
      {"a host without addresses is kept when better",
       {{"x", 5, {}, "no address for x"}, {"y", 10, {ip("192.0.2.1")}, ""}},
       {"x"},
       true},
      {"empty list", {}, {}, false},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    auto hosts = row.hosts;
    CHECK(qr::drop_self_mx(hosts, is_local) == row.dropped);
    std::vector<std::string> kept;
    for (const auto& h : hosts) kept.push_back(h.name);
    CHECK(kept == row.kept);
  }
}
