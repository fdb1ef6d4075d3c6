// control/routes (SPEC §3.1): the seed examples and every kind of bad line.
#include <catch2/catch.hpp>

#include "lib/control/routes.h"
#include "tests/unit/control_fixtures.h"

using namespace qr;
using namespace qr::test;

namespace {

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

std::vector<ControlLine> one_line(const std::string& text) {
  return {ControlLine{1, text}};
}

}  // namespace

TEST_CASE("the seed's route examples parse to their meaning", "[routes]") {
  struct Case {
    std::string line;
    Groups<IpAddr> local;
    Groups<Endpoint> remote;
    std::string user, pass;
  };
  const std::vector<Case> cases = {
      {"route1;;;;", {}, {}, "", ""},
      {"route2;1.1.1.1;2.2.2.2:465;admin;123456",
       {{ip("1.1.1.1")}},
       {{at("2.2.2.2", 465)}},
       "admin",
       "123456"},
      {"route3;1.1.1.1;mx&3.3.3.3:587;;",
       {{ip("1.1.1.1")}},
       {{mx()}, {at("3.3.3.3", 587)}},
       "",
       ""},
      {"route4;1.1.1.1|2.2.2.2;;;", {{ip("1.1.1.1"), ip("2.2.2.2")}}, {}, "", ""},
      {"route5;1.1.1.1&2.2.2.2&3.3.3.3&4.4.4.4;mx&6.6.6.6:587;;",
       {{ip("1.1.1.1")}, {ip("2.2.2.2")}, {ip("3.3.3.3")}, {ip("4.4.4.4")}},
       {{mx()}, {at("6.6.6.6", 587)}},
       "",
       ""},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto routes = parse_routes(one_line(c.line));
    REQUIRE(routes.ok());
    REQUIRE(routes->size() == 1);
    const Route& r = routes->front();
    CHECK(r.name == c.line.substr(0, 6));
    CHECK(r.local == c.local);
    CHECK(r.remote == c.remote);
    CHECK(r.user == c.user);
    CHECK(r.pass == c.pass);
    CHECK(r.line == 1);
    CHECK(r.options.tls == TlsPolicy::May);  // SPEC §3.1 default
    CHECK_FALSE(r.options.auth_cleartext);
  }
}

TEST_CASE("routes items: host names, IPv6, weights, mixed groups", "[routes]") {
  struct Case {
    std::string line;
    Groups<IpAddr> local;
    Groups<Endpoint> remote;
  };
  Endpoint relay = at("smtp-relay.example_1.net", 587);
  Endpoint v6 = at("2001:db8::25", 2525);
  Endpoint v6_default = at("2001:db8::26");
  const std::vector<Case> cases = {
      // Plain IPv6 in LOCAL: no port there, so no ambiguity.
      {"r;2001:db8::1|[2001:db8::2];;;", {{ip("2001:db8::1"), ip("2001:db8::2")}}, {}},
      {"r;;smtp-relay.example_1.net:587;;", {}, {{relay}}},
      {"r;;[2001:db8::25]:2525&[2001:db8::26];;", {}, {{v6}, {v6_default}}},
      // A member listed twice stays twice: that is its weight (SPEC §3.1).
      {"r;;1.1.1.1|1.1.1.1|2.2.2.2;;", {}, {{at("1.1.1.1"), at("1.1.1.1"), at("2.2.2.2")}}},
      // '&' between groups, '|' inside them.
      {"r;;1.1.1.1&2.2.2.2|3.3.3.3;;", {}, {{at("1.1.1.1")}, {at("2.2.2.2"), at("3.3.3.3")}}},
      {"r;;MX&[1.2.3.4]:26;;", {}, {{mx()}, {at("1.2.3.4", 26)}}},
      {"r;;1.2.3.4:65535;;", {}, {{at("1.2.3.4", 65535)}}},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto routes = parse_routes(one_line(c.line));
    REQUIRE(routes.ok());
    CHECK(routes->front().local == c.local);
    CHECK(routes->front().remote == c.remote);
  }
  // A host name item has no IP; an IP item keeps its text as host.
  CHECK_FALSE(relay.ip.has_value());
  CHECK(at("1.2.3.4").host == "1.2.3.4");
}

TEST_CASE("routes OPTIONS", "[routes]") {
  struct Case {
    std::string options;
    TlsPolicy tls;
    std::string helo;
    bool helo_ptr, auth_cleartext;
  };
  const std::vector<Case> cases = {
      {"", TlsPolicy::May, "", false, false},
      {"tls=none", TlsPolicy::None, "", false, false},
      {"tls=may", TlsPolicy::May, "", false, false},
      {"tls=encrypt", TlsPolicy::Encrypt, "", false, false},
      {"tls=verify,helo=out.example.com", TlsPolicy::Verify, "out.example.com", false, false},
      {"helo=ptr,auth-cleartext=yes", TlsPolicy::May, "", true, true},
      {"auth-cleartext=no", TlsPolicy::May, "", false, false},
  };
  for (const auto& c : cases) {
    INFO(c.options);
    auto routes = parse_routes(one_line("r;;relay.example;u;p;" + c.options));
    REQUIRE(routes.ok());
    const RouteOptions& o = routes->front().options;
    CHECK(o.tls == c.tls);
    CHECK(o.helo == c.helo);
    CHECK(o.helo_ptr == c.helo_ptr);
    CHECK(o.auth_cleartext == c.auth_cleartext);
  }
  CHECK(std::string(tls_policy_name(TlsPolicy::Verify)) == "verify");
  CHECK(std::string(tls_policy_name(TlsPolicy::None)) == "none");
}

TEST_CASE("bad routes lines name the line and what is wrong", "[routes]") {
  struct Case {
    std::string line, error;
  };
  const std::vector<Case> cases = {
      {"a;b;c;d",
       "expected 5 or 6 fields NAME;LOCAL_IPS;REMOTE_ADDRS;USER;PASS[;OPTIONS], found 4"},
      {"a;;;;;;",
       "expected 5 or 6 fields NAME;LOCAL_IPS;REMOTE_ADDRS;USER;PASS[;OPTIONS], found 7"},
      {";;;;", "empty route name"},
      {"my route;;;;", "bad route name 'my route'"},
      {"r/1;;;;", "bad route name 'r/1'"},
      {"first;;;;", "duplicate route name 'first' (first on line 1)"},
      {"r;1.1.1.300;;;", "bad IP address '1.1.1.300' in LOCAL_IPS"},
      {"r;mail.example.com;;;", "bad IP address 'mail.example.com' in LOCAL_IPS"},
      {"r;1.1.1.1&&2.2.2.2;;;", "empty item in LOCAL_IPS"},
      {"r;1.1.1.1,2.2.2.2;;;", "unknown separator ',' in LOCAL_IPS"},
      {"r;;1.1.1.1/2.2.2.2;;", "unknown separator '/' in REMOTE_ADDRS"},
      {"r;;a.example&&b.example;;", "empty item in REMOTE_ADDRS"},
      {"r;;a.example|;;", "empty item in REMOTE_ADDRS"},
      {"r;;1.2.3.4:0;;", "bad port '0' in REMOTE_ADDRS"},
      {"r;;1.2.3.4:65536;;", "bad port '65536' in REMOTE_ADDRS"},
      {"r;;1.2.3.4:25x;;", "bad port '25x' in REMOTE_ADDRS"},
      {"r;;1.2.3.4:;;", "bad port '' in REMOTE_ADDRS"},
      {"r;;[2001:db8::1]:smtp;;", "bad port 'smtp' in REMOTE_ADDRS"},
      {"r;;mx|1.2.3.4;;", "'mx' cannot share a '|' group with other members in REMOTE_ADDRS"},
      {"r;;mx:587;;", "'mx' takes no port in REMOTE_ADDRS"},
      {"r;;2001:db8::1;;",
       "IPv6 address '2001:db8::1' needs brackets ([IPv6]:PORT) in REMOTE_ADDRS"},
      {"r;;[2001:db8::1;;", "unclosed bracket '[2001:db8::1' in REMOTE_ADDRS"},
      {"r;;[2001:db8::1]25;;", "bad item '[2001:db8::1]25' in REMOTE_ADDRS"},
      {"r;;[relay.example]:25;;", "bad IP address 'relay.example' in REMOTE_ADDRS"},
      {"r;;:25;;", "bad host name '' in REMOTE_ADDRS"},
      {"r;;;admin;", "USER without PASS"},
      {"r;;;;secret", "PASS without USER"},
      {"r;;;;;color=red", "unknown option 'color' in OPTIONS"},
      {"r;;;;;tls", "option 'tls' is not key=value in OPTIONS"},
      {"r;;;;;tls=maybe",
       "bad value 'maybe' for option 'tls' (none, may, encrypt, verify or dane) in OPTIONS"},
      {"r;;;;;helo=a b", "bad value 'a b' for option 'helo' (a host name or ptr) in OPTIONS"},
      {"r;;;;;helo=", "bad value '' for option 'helo' (a host name or ptr) in OPTIONS"},
      {"r;;;;;auth-cleartext=1",
       "bad value '1' for option 'auth-cleartext' (yes or no) in OPTIONS"},
      {"r;;;;;tls=may,tls=none", "option 'tls' given twice in OPTIONS"},
      {"r;;;;;tls=may,", "option '' is not key=value in OPTIONS"},
      // Without credentials OPTIONS text is quoted (typos are easier to
      // find), with its control bytes escaped; so are the other fields.
      {"r;;;;;tls=\x1b[2J",
       "bad value '\\x1b[2J' for option 'tls' (none, may, encrypt, verify or dane) "
       "in OPTIONS"},
      {"r\x01;;;;", "bad route name 'r\\x01'"},
      {"r;;relay\x7f.example;;", "unknown separator '\\x7f' in REMOTE_ADDRS"},
      {"r;1.1.1.1\x02;;;", "unknown separator '\\x02' in LOCAL_IPS"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    // The bad line is line 4 of the file, after a good one.
    auto routes = parse_routes({ControlLine{1, "first;;;;"}, ControlLine{4, c.line}});
    REQUIRE_FALSE(routes.ok());
    CHECK(routes.error() == "control/routes line 4: " + c.error);
  }
}

TEST_CASE("routes errors never quote USER, PASS or what follows them (SPEC §1)", "[routes]") {
  // A ';' in a password splits the line there (see qmail-routes(8)); the
  // password's tail must not reach a report or the qmail-routes output.
  struct Case {
    std::string line, error;
    std::vector<std::string> secrets;  // none may appear in the error
  };
  const std::string hint = " (PASS cannot contain ';': see qmail-routes(8))";
  const std::vector<Case> cases = {
      {"r1;;relay.example.com:2525;alice;S3c;r3tPa55;tls=verify",
       "expected 5 or 6 fields NAME;LOCAL_IPS;REMOTE_ADDRS;USER;PASS[;OPTIONS], found 7",
       {"alice", "S3c", "r3tPa55", "tls=verify"}},
      {"r1;;relay.example.com:2525;alice;S3c;r3tPa55",
       "OPTIONS item 1 is not key=value" + hint,
       {"alice", "S3c", "r3tPa55"}},
      {"r1;;relay.example.com:2525;alice;S3c;r3t,Pa55",
       "OPTIONS item 1 is not key=value" + hint,
       {"alice", "S3c", "r3t", "Pa55"}},
      {"r1;;relay.example.com:2525;alice;S3c;tls=may,r3tPa55",
       "OPTIONS item 2 is not key=value" + hint,
       {"alice", "S3c", "r3tPa55"}},
      {"r1;;relay.example.com:2525;alice;S3c;r3t=Pa55",
       "OPTIONS item 1 has an unknown key" + hint,
       {"alice", "S3c", "r3t", "Pa55"}},
      {"r1;;relay.example.com:2525;alice;S3c;tls=r3tPa55",
       "OPTIONS item 1 has a bad value" + hint,
       {"alice", "S3c", "r3tPa55"}},
      {"r1;;relay.example.com:2525;alice;S3c;helo=r3t Pa55",
       "OPTIONS item 1 has a bad value" + hint,
       {"alice", "S3c", "r3t", "Pa55"}},
      {"r1;;relay.example.com:2525;alice;S3c;auth-cleartext=r3t",
       "OPTIONS item 1 has a bad value" + hint,
       {"alice", "S3c", "r3t"}},
      {"r1;;relay.example.com:2525;alice;S3c;tls=may,tls=r3t",
       "OPTIONS item 2 repeats an earlier key" + hint,
       {"alice", "S3c", "r3t"}},
      // A ';' in the user name splits it the same way.
      {"r1;;relay.example.com;al;ice;S3cr3t",
       "OPTIONS item 1 is not key=value" + hint,
       {"ice", "S3cr3t"}},
      {"r1;;relay.example.com;alice;;S3cr3t", "USER without PASS", {"alice", "S3cr3t"}},
      {"r1;;relay.example.com;;S3c;r3t", "PASS without USER", {"S3c", "r3t"}},
      {"r1;;relay.example.com;alice;S3c;r3t\x01\x1b[2J",
       "OPTIONS item 1 is not key=value" + hint,
       {"S3c", "r3t", "\x1b"}},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto routes = parse_routes({ControlLine{1, "first;;;;"}, ControlLine{4, c.line}});
    REQUIRE_FALSE(routes.ok());
    CHECK(routes.error() == "control/routes line 4: " + c.error);
    for (const auto& secret : c.secrets) CHECK(routes.error().find(secret) == std::string::npos);
  }
}

TEST_CASE("parse_local_ips and parse_remote_addrs give errors without file and line", "[routes]") {
  auto local = parse_local_ips("1.1.1.1 2.2.2.2");
  REQUIRE_FALSE(local.ok());
  CHECK(local.error() == "unknown separator ' '");
  auto remote = parse_remote_addrs("mx|mx.example");
  REQUIRE_FALSE(remote.ok());
  CHECK(remote.error() == "'mx' cannot share a '|' group with other members");
  auto empty = parse_local_ips("");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}
