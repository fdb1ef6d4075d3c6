// lib/text: the one reading of HOST[:PORT] shared by routes (SPEC §3.1),
// smtproutes and DNSCACHEIP (SPEC §2).
#include <catch2/catch.hpp>

#include "lib/text.h"

using namespace qr;

TEST_CASE("split_host_port reads every form once", "[text]") {
  struct Row {
    const char* text;
    const char* host;
    const char* port;
    bool bracketed;
  };
  const Row rows[] = {
      {"relay.example", "relay.example", "", false},
      {"relay.example:2525", "relay.example", "2525", false},
      {"192.0.2.1:25", "192.0.2.1", "25", false},
      {"[192.0.2.1]", "192.0.2.1", "", true},
      {"[2001:db8::1]:587", "2001:db8::1", "587", true},
      // A bare IPv6 address: all host, no port; the caller decides.
      {"2001:db8::1", "2001:db8::1", "", false},
      {"", "", "", false},
      // The port is not checked here (parse_port does that).
      {"h:x", "h", "x", false},
  };
  for (const Row& r : rows) {
    INFO(r.text);
    auto hp = split_host_port(r.text);
    REQUIRE(hp);
    CHECK(hp->host == r.host);
    CHECK(hp->port == r.port);
    CHECK(hp->bracketed == r.bracketed);
  }
}

TEST_CASE("split_host_port names what is wrong", "[text]") {
  const std::pair<const char*, const char*> rows[] = {
      {"[192.0.2.1", "unclosed bracket '[192.0.2.1'"},
      {"[::1]25", "expected ':PORT' after ']' in '[::1]25'"},
      {"[::1]:", "bad port ''"},
      {"relay:", "bad port ''"},
  };
  for (const auto& [text, error] : rows) {
    INFO(text);
    auto hp = split_host_port(text);
    REQUIRE_FALSE(hp);
    CHECK(hp.error() == error);
  }
}

TEST_CASE("to_lower is ASCII only", "[text]") {
  CHECK(to_lower("MX1.Example.COM") == "mx1.example.com");
  // Bytes >= 0x80 are left alone whatever the locale (UTF-8 stays intact).
  CHECK(to_lower("\xc3\x89T\xc3\xa9") == "\xc3\x89t\xc3\xa9");
}
