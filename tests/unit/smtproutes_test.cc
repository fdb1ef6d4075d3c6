// control/smtproutes: vanilla qmail 1.03's rules (SPEC §3), the AUTH form.
#include <catch2/catch.hpp>

#include "lib/control/smtproutes.h"
#include "tests/unit/control_fixtures.h"

using namespace qr;
using namespace qr::test;

namespace {

std::vector<SmtpRoute> parse(std::initializer_list<const char*> texts) {
  auto routes = parse_smtproutes(numbered(texts));
  REQUIRE(routes.ok());
  return *routes;
}

}  // namespace

TEST_CASE("smtproutes lines parse to domain, relay, port, credentials", "[smtproutes]") {
  struct Case {
    const char* line;
    std::string domain, relay;
    uint16_t port;
    std::string user, pass;
  };
  const std::vector<Case> cases = {
      {"example.com:relay.example.net", "example.com", "relay.example.net", 25, "", ""},
      {"Example.COM:relay.example.net:2525", "example.com", "relay.example.net", 2525, "", ""},
      {".example.com:relay.example.net", ".example.com", "relay.example.net", 25, "", ""},
      {":smarthost.example.net", "", "smarthost.example.net", 25, "", ""},
      {"example.org:", "example.org", "", 25, "", ""},
      {"lit.example:[192.0.2.7]", "lit.example", "[192.0.2.7]", 25, "", ""},
      {"lit.example:[192.0.2.7]:587", "lit.example", "[192.0.2.7]", 587, "", ""},
      {"v6.example:[2001:db8::7]:587", "v6.example", "[2001:db8::7]", 587, "", ""},
      {"auth.example:relay.example.net:587|joe|s3cr|t", "auth.example", "relay.example.net", 587,
       "joe", "s3cr|t"},
      {"auth.example:relay.example.net|joe|pw", "auth.example", "relay.example.net", 25, "joe",
       "pw"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto r = parse({c.line}).front();
    CHECK(r.domain == c.domain);
    CHECK(r.relay == c.relay);
    CHECK(r.port == c.port);
    CHECK(r.user == c.user);
    CHECK(r.pass == c.pass);
    CHECK(r.line == 1);
  }
}

TEST_CASE("smtproutes lookup follows vanilla qmail-remote", "[smtproutes]") {
  const auto routes = parse({
      "example.com:exact.relay",    // line 1
      ".example.com:sub.relay",     // line 2
      ".com:com.relay",             // line 3
      "dup.example:first.relay",    // line 4
      "DUP.example:last.relay",     // line 5: duplicate key, last wins
      "mxonly.example.com:",        // line 6: empty relay = MX
      ":default.relay",             // line 7
      "[192.0.2.1]:literal.relay",  // line 8
  });
  struct Case {
    const char* host;
    int line;  // 0: no match
  };
  const std::vector<Case> cases = {
      {"example.com", 1},
      {"EXAMPLE.COM", 1},
      {"mail.example.com", 2},  // ".example.com" before ".com"
      {"a.b.example.com", 2},
      {"other.com", 3},
      {"dup.example", 5},
      {"mxonly.example.com", 6},  // found: the empty relay stops the lookup
      {"example.net", 7},         // default key
      {"net", 7},
      {"[192.0.2.1]", 8},
  };
  for (const auto& c : cases) {
    INFO(c.host);
    const SmtpRoute* r = match_smtproutes(routes, c.host);
    REQUIRE(r != nullptr);
    CHECK(r->line == c.line);
  }
}

TEST_CASE("smtproutes: '.x' matches subdomains only, no default means no match", "[smtproutes]") {
  const auto routes = parse({".example.com:sub.relay"});
  CHECK(match_smtproutes(routes, "example.com") == nullptr);
  CHECK(match_smtproutes(routes, "www.example.com") != nullptr);
  CHECK(match_smtproutes(routes, "wwwexample.com") == nullptr);
  CHECK(match_smtproutes({}, "example.com") == nullptr);
}

TEST_CASE("bad smtproutes lines name the line and what is wrong", "[smtproutes]") {
  struct Case {
    std::string line, error;
  };
  const std::vector<Case> cases = {
      {"example.com", "expected domain:relay[:port]"},
      {"example.com:relay:0", "bad port '0'"},
      {"example.com:relay:65536", "bad port '65536'"},
      {"example.com:relay:x25", "bad port 'x25'"},
      {"example.com:relay:", "bad port ''"},
      {"example.com:re lay", "bad relay 're lay'"},
      {"example.com:[192.0.2.300]", "bad IP address '[192.0.2.300]'"},
      {"example.com:[192.0.2.3", "unclosed bracket '[192.0.2.3'"},
      {"example.com:relay:25|joe", "expected relay:port|user|pass"},
      {"example.com:relay:25|joe|", "user without password"},
      {"example.com:relay:25||pw", "password without user"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto routes = parse_smtproutes({ControlLine{1, "ok:relay"}, ControlLine{3, c.line}});
    REQUIRE_FALSE(routes.ok());
    CHECK(routes.error() == "control/smtproutes line 3: " + c.error);
  }
}
