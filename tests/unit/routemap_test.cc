// control/routemap (SPEC §3.2): pattern forms, <>, case, first match, errors.
#include <catch2/catch.hpp>

#include "lib/control/routemap.h"
#include "lib/text.h"

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

TEST_CASE("routemap patterns: the address characters of SPEC §3.2 and UTF-8", "[routemap]") {
  const std::vector<std::string> good = {
      "user@example.com",
      "first.last+tag@sub.example.com",
      "!#$%&'*+/=?^_`{|}~-@example.com",
      "a*b@example.com",
      "user@[192.0.2.1]",
      "[192.0.2.1]",
      "user@[IPv6:2001:db8::1]",
      ".example.co.uk",
      "xn--caf-dma.example",
      "caf\xc3\xa9.example",  // café.example, UTF-8 (SMTPUTF8)
      "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8",  // 用户@例子.公司
      "\xf0\x9f\x93\xa7@example.com",  // U+1F4E7, four bytes
  };
  for (const auto& pattern : good) {
    INFO(pattern);
    auto map =
        parse_routemap({ControlLine{1, pattern + ";" + pattern + ";r"}}, routes_named({"r"}));
    REQUIRE(map.ok());
    CHECK(map->front().sender.value == to_lower(pattern));
  }
  CHECK(sender_pattern("caf\xc3\xa9.example").matches("bob@caf\xc3\xa9.example"));
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
      {"*.example.com;*;r1",
       "bad SENDER '*.example.com' ('*' stands alone; subdomains are written '.example.com')"},
      {"*;.;r1", "bad RECIPIENT '.'"},
      // SPEC §3.2's grammar: bytes outside it are named by position, and
      // never echoed (they end up in reports and on terminals).
      {"*;a b;r1", "bad RECIPIENT: ' ' at position 2 is not allowed"},
      {"*;a\tb;r1", "bad RECIPIENT: byte 0x09 at position 2 is not allowed"},
      {"ab\x01;*;r1", "bad SENDER: byte 0x01 at position 3 is not allowed"},
      {"\x1b[2J;*;r1", "bad SENDER: byte 0x1b at position 1 is not allowed"},
      {"a\x7f.example;*;r1", "bad SENDER: byte 0x7f at position 2 is not allowed"},
      {std::string("a\0b;*;r1", 8), "bad SENDER: byte 0x00 at position 2 is not allowed"},
      {"*;exa\rmple.com;r1", "bad RECIPIENT: byte 0x0d at position 4 is not allowed"},
      {"*;\xff\xfe\x01;r1", "bad RECIPIENT: byte 0xff at position 1 is not allowed"},
      {"*;caf\xc3.example;r1", "bad RECIPIENT: byte 0xc3 at position 4 is not allowed"},
      {"*;\xc0\xaf.example;r1", "bad RECIPIENT: byte 0xc0 at position 1 is not allowed"},
      {"*;\xed\xa0\x80.example;r1", "bad RECIPIENT: byte 0xed at position 1 is not allowed"},
      {"*;a\xc2\x85"
       "b;r1",
       "bad RECIPIENT: byte 0xc2 at position 2 is not allowed"},  // C1 NEL
      {"*;\x80"
       "xyz;r1",
       "bad RECIPIENT: byte 0x80 at position 1 is not allowed"},
      {"\"a b\"@example.com;*;r1", "bad SENDER: '\"' at position 1 is not allowed"},
      {"(c)a@example.com;*;r1", "bad SENDER: '(' at position 1 is not allowed"},
      {"a,b@example.com;*;r1", "bad SENDER: ',' at position 2 is not allowed"},
      {"a\\b@example.com;*;r1", "bad SENDER: '\\' at position 2 is not allowed"},
      {"<a@example.com>;*;r1", "bad SENDER: '<' at position 1 is not allowed"},
      {"*;example.com>;r1", "bad RECIPIENT: '>' at position 12 is not allowed"},
      {"*;a@b@example.com;r1", "bad RECIPIENT 'a@b@example.com'"},
      {"*@example.com;*;r1",
       "bad SENDER '*@example.com' (for any address at a domain, write the domain)"},
      {"*;a@*.example.com;r1",
       "bad RECIPIENT 'a@*.example.com' ('*' stands alone; subdomains are written '.example.com')"},
      // An unknown ROUTE with junk in it is quoted with the junk escaped.
      {"*;*;r\x01\x1b[2J", "unknown route 'r\\x01\\x1b[2J'"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto map =
        parse_routemap({ControlLine{1, "*;*;r1"}, ControlLine{7, c.line}}, routes_named({"r1"}));
    REQUIRE_FALSE(map.ok());
    CHECK(map.error() == "control/routemap line 7: " + c.error);
  }
}
