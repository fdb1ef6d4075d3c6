// Route selection (SPEC §3.3): routemap first, then smtproutes, then MX.
#include <catch2/catch.hpp>

#include "lib/route/select.h"
#include "tests/unit/control_fixtures.h"

using namespace qr;
using namespace qr::test;

namespace {

Control sample_control() {
  Control c;
  c.helohost = "me.example";
  c.default_ips = *parse_local_ips("9.9.9.9");
  c.routes = *parse_routes(numbered({
      "bulk;1.1.1.1;relay.bulk.example:587;;",
      "bounce;;;;",
      "vip;;10.0.0.1;;",
  }));
  c.routemap = *parse_routemap(numbered({
                                   "<>;*;bounce",              // 1
                                   "ceo@corp.example;*;vip",   // 2
                                   "*;.partner.example;bulk",  // 3
                                   "corp.example;*;bulk",      // 4: after line 2
                               }),
                               c.routes);
  c.smtproutes = *parse_smtproutes(numbered({
      "relay.example:smart.example.net:2525|u|p", "mx.example:", "lit.example:[192.0.2.9]",
      "plain.example:192.0.2.10:2526",  // vanilla takes an unbracketed IP too
  }));
  return c;
}

}  // namespace

TEST_CASE("select_route: routemap, then smtproutes, then MX", "[select]") {
  const Control c = sample_control();
  const Groups<IpAddr> default_ips = {{*IpAddr::parse("9.9.9.9")}};
  struct Case {
    const char *host, *sender, *recipient;
    std::string rule, name;
    Groups<Endpoint> remote;
    Groups<IpAddr> local;
    std::string user;
  };
  const std::vector<Case> cases = {
      // Null sender and double bounce: <>; empty LOCAL takes defaultoutgoingip.
      {"x.partner.example", "", "a@x.partner.example", "routemap:1", "bounce", {}, default_ips, ""},
      {"x.partner.example",
       "#@[]",
       "a@x.partner.example",
       "routemap:1",
       "bounce",
       {},
       default_ips,
       ""},
      // First match wins: line 2 before line 4; case-insensitive.
      {"other.example",
       "CEO@Corp.Example",
       "a@other.example",
       "routemap:2",
       "vip",
       {{at("10.0.0.1")}},
       default_ips,
       ""},
      {"other.example",
       "staff@corp.example",
       "a@other.example",
       "routemap:4",
       "bulk",
       {{at("relay.bulk.example", 587)}},
       {{*IpAddr::parse("1.1.1.1")}},
       ""},
      {"x.partner.example",
       "u@elsewhere.example",
       "bob@x.partner.example",
       "routemap:3",
       "bulk",
       {{at("relay.bulk.example", 587)}},
       {{*IpAddr::parse("1.1.1.1")}},
       ""},
      // smtproutes: the relay, its port and credentials, from defaultoutgoingip.
      {"relay.example",
       "u@elsewhere.example",
       "a@relay.example",
       "smtproutes:1",
       "smtproutes",
       {{at("smart.example.net", 2525)}},
       default_ips,
       "u"},
      {"mx.example",
       "u@elsewhere.example",
       "a@mx.example",
       "smtproutes:2",
       "smtproutes",
       {{mx()}},
       default_ips,
       ""},
      {"lit.example",
       "u@elsewhere.example",
       "a@lit.example",
       "smtproutes:3",
       "smtproutes",
       {{at("192.0.2.9")}},
       default_ips,
       ""},
      {"plain.example",
       "u@elsewhere.example",
       "a@plain.example",
       "smtproutes:4",
       "smtproutes",
       {{at("192.0.2.10", 2526)}},
       default_ips,
       ""},
      // Nothing matches: the destination's MX.
      {"nowhere.example",
       "u@elsewhere.example",
       "a@nowhere.example",
       "mx",
       "mx",
       {{mx()}},
       default_ips,
       ""},
      // An IP-literal destination: connect to the literal on port 25.
      {"[192.0.2.5]",
       "u@elsewhere.example",
       "a@[192.0.2.5]",
       "mx",
       "mx",
       {{at("192.0.2.5")}},
       default_ips,
       ""},
  };
  for (const auto& k : cases) {
    INFO(k.host << " " << k.sender << " " << k.recipient);
    Selection s = select_route(c, k.host, k.sender, k.recipient);
    CHECK(s.rule == k.rule);
    CHECK(s.route.name == k.name);
    CHECK(s.route.remote == k.remote);
    CHECK(s.route.local == k.local);
    CHECK(s.route.user == k.user);
    CHECK(s.route.options.tls == TlsPolicy::May);
  }
  CHECK(select_route(c, "relay.example", "", "a@relay.example").route.name == "bounce");
  CHECK(select_route(c, "relay.example", "x@y", "a@relay.example").route.pass == "p");
}
