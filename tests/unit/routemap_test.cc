// control/routemap (SPEC §3.2): pattern forms, <>, case, first match, errors.
#include <catch2/catch.hpp>

#include "lib/control/routemap.h"

using namespace qr;

namespace {

std::vector<Route> routes_named(std::initializer_list<const char*> names) {
  std::vector<Route> routes;
  for (const char* n : names) {
    Route r;
    r.name = n;
    routes.push_back(r);
  }
  return routes;
}

AddressPattern sender_pattern(const std::string& text) {
  auto map = parse_routemap({ControlLine{1, text + ";*;r"}}, routes_named({"r"}));
  REQUIRE(map.ok());
  return map->front().sender;
}

}  // namespace

TEST_CASE("routemap patterns match what SPEC §3.2 says", "[routemap]") {
  struct Case {
    std::string pattern, address;
    bool match;
  };
  const std::vector<Case> cases = {
      {"*", "anyone@anywhere.example", true},
      {"*", "", true},
      {"example.com", "user@example.com", true},
      {"example.com", "user@EXAMPLE.Com", true},
      {"Example.COM", "user@example.com", true},
      {"example.com", "user@mail.example.com", false},
      {"example.com", "user@notexample.com", false},
      {"example.com", "example.com", true},  // no '@': all domain
      {"example.com", "", false},
      {".example.com", "user@mail.example.com", true},
      {".example.com", "user@a.b.EXAMPLE.com", true},
      {".example.com", "user@example.com", false},  // subdomains only
      {".example.com", "user@badexample.com", false},
      {"alice@example.com", "alice@example.com", true},
      {"alice@example.com", "ALICE@Example.COM", true},
      {"alice@example.com", "bob@example.com", false},
      {"alice@example.com", "alice@mail.example.com", false},
      {"<>", "", true},
      {"<>", "#@[]", true},
      {"<>", "user@example.com", false},
      {"<>", "#@[x]", false},
      // The domain is after the LAST '@'.
      {"example.com", "odd@local@example.com", true},
  };
  for (const auto& c : cases) {
    INFO(c.pattern << " vs '" << c.address << "'");
    CHECK(sender_pattern(c.pattern).matches(c.address) == c.match);
  }
}

TEST_CASE("routemap parses kinds, lower-cases values, keeps line numbers", "[routemap]") {
  auto map = parse_routemap(
      {ControlLine{2, "<>;.Example.COM;bounces"}, ControlLine{5, "Alice@Example.com;*;main"}},
      routes_named({"main", "bounces"}));
  REQUIRE(map.ok());
  REQUIRE(map->size() == 2);
  CHECK((*map)[0].sender.kind == AddressPattern::Kind::Null);
  CHECK((*map)[0].recipient.kind == AddressPattern::Kind::Subdomains);
  CHECK((*map)[0].recipient.value == ".example.com");
  CHECK((*map)[0].route == "bounces");
  CHECK((*map)[0].line == 2);
  CHECK((*map)[1].sender.kind == AddressPattern::Kind::Address);
  CHECK((*map)[1].sender.value == "alice@example.com");
  CHECK((*map)[1].recipient.kind == AddressPattern::Kind::Any);
  CHECK((*map)[1].line == 5);
}

TEST_CASE("bad routemap lines name the line and what is wrong", "[routemap]") {
  struct Case {
    std::string line, error;
  };
  const std::vector<Case> cases = {
      {"*;*;x", "unknown route 'x'"},
      {"*;*;R1", "unknown route 'R1'"},  // route names are case-sensitive
      {"*;*", "expected 3 fields SENDER;RECIPIENT;ROUTE, found 2"},
      {"*;*;r1;extra", "expected 3 fields SENDER;RECIPIENT;ROUTE, found 4"},
      {"*;<>;r1", "'<>' is only valid as SENDER"},
      {";*;r1", "bad SENDER ''"},
      {"*;;r1", "bad RECIPIENT ''"},
      {"*;@example.com;r1", "bad RECIPIENT '@example.com'"},
      {"user@;*;r1", "bad SENDER 'user@'"},
      {"*.example.com;*;r1", "bad SENDER '*.example.com'"},
      {"*;.;r1", "bad RECIPIENT '.'"},
      {"*;a b;r1", "bad RECIPIENT 'a b'"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto map =
        parse_routemap({ControlLine{1, "*;*;r1"}, ControlLine{7, c.line}}, routes_named({"r1"}));
    REQUIRE_FALSE(map.ok());
    CHECK(map.error() == "control/routemap line 7: " + c.error);
  }
}
