// The TLS policy of one connection (SPEC §8): the route's tls=, qmail-tls's
// per-host files, port 465.
#include "lib/route/tls_policy.h"

#include <catch2/catch.hpp>

#include "tests/unit/control_fixtures.h"

using namespace qr;

TEST_CASE("tls_for: route policy, notlshosts, tlshosts, port 465", "[tls_policy]") {
  test::TempDir dir;
  dir.write("notlshosts/plain.example", "");
  dir.write("tlshosts/checked.example.pem", "CA");
  dir.write("notlshosts/192.0.2.7", "");
  dir.write("tlshosts/192.0.2.8.pem", "CA");
  const std::string ca_name = dir.path() + "/tlshosts/checked.example.pem";
  const std::string ca_ip = dir.path() + "/tlshosts/192.0.2.8.pem";

  struct Case {
    const char* what;
    TlsPolicy route;
    const char* host;
    const char* ip;
    uint16_t port;
    TlsPolicy want;
    std::string ca;
    bool implicit;
  };
  const std::vector<Case> cases = {
      {"no file: the route's policy", TlsPolicy::Encrypt, "mx.example", "192.0.2.1", 25,
       TlsPolicy::Encrypt, "", false},
      {"notlshosts by name", TlsPolicy::Verify, "plain.example", "192.0.2.1", 25, TlsPolicy::None,
       "", false},
      {"names compare in lower case", TlsPolicy::May, "PLAIN.Example", "192.0.2.1", 25,
       TlsPolicy::None, "", false},
      {"tlshosts by name: verify with that CA", TlsPolicy::May, "checked.example", "192.0.2.1", 25,
       TlsPolicy::Verify, ca_name, false},
      {"an IP literal is named by its address", TlsPolicy::May, "", "192.0.2.7", 25,
       TlsPolicy::None, "", false},
      {"tlshosts for an address", TlsPolicy::None, "", "192.0.2.8", 25, TlsPolicy::Verify, ca_ip,
       false},
      {"a named host is not looked up by address", TlsPolicy::May, "other.example", "192.0.2.7", 25,
       TlsPolicy::May, "", false},
      {"465 raises none to encrypt", TlsPolicy::None, "mx.example", "192.0.2.1", 465,
       TlsPolicy::Encrypt, "", true},
      {"465 raises may to encrypt", TlsPolicy::May, "mx.example", "192.0.2.1", 465,
       TlsPolicy::Encrypt, "", true},
      {"465 keeps verify", TlsPolicy::Verify, "mx.example", "192.0.2.1", 465, TlsPolicy::Verify, "",
       true},
      {"465 with notlshosts still TLS", TlsPolicy::May, "plain.example", "192.0.2.1", 465,
       TlsPolicy::Encrypt, "", true},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Target t{c.host, *IpAddr::parse(c.ip), c.port, false};
    TlsChoice got = tls_for(c.route, dir.path(), t);
    CHECK(got.policy == c.want);
    CHECK(got.ca_file == c.ca);
    CHECK(got.implicit == c.implicit);
  }
}
