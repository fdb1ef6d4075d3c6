// The TLS policy of one connection (SPEC §8): the route's tls= (or the
// default that credentials imply), qmail-tls's per-host files, port 465.
#include "lib/route/tls_policy.h"

#include <catch2/catch.hpp>

#include "tests/unit/control_fixtures.h"

using namespace qr;

namespace {

// A route with the given tls= (or none written), credentials or not.
Route route_with(std::optional<TlsPolicy> tls, bool credentials = false,
                 bool auth_cleartext = false) {
  Route r;
  r.name = "r";
  if (tls) {
    r.options.tls = *tls;
    r.options.tls_set = true;
  }
  if (credentials) {
    r.user = "alice";
    r.pass = "S3cr3tPa55";
  }
  r.options.auth_cleartext = auth_cleartext;
  return r;
}

}  // namespace

TEST_CASE("tls_for: route policy, notlshosts, tlshosts, port 465", "[tls_policy]") {
  test::TempDir dir;
  dir.write("me", "testhost.example\n");
  dir.write("notlshosts/plain.example", "");
  dir.write("notlshosts/Mixed.Example", "");
  dir.write("tlshosts/checked.example.pem", "CA");
  dir.write("tlshosts/Relay.Example.com.pem", "CA");
  dir.write("notlshosts/192.0.2.7", "");
  dir.write("tlshosts/192.0.2.8.pem", "CA");
  dir.write("notlshosts/both.example", "");
  dir.write("tlshosts/both.example.pem", "CA");
  auto files = load_tls_files(dir.path());
  REQUIRE(files);
  const std::string ca_name = dir.path() + "/tlshosts/checked.example.pem";
  const std::string ca_relay = dir.path() + "/tlshosts/Relay.Example.com.pem";
  const std::string ca_ip = dir.path() + "/tlshosts/192.0.2.8.pem";
  const std::string ca_both = dir.path() + "/tlshosts/both.example.pem";
  const auto none = TlsPolicy::None, may = TlsPolicy::May, encrypt = TlsPolicy::Encrypt,
             verify = TlsPolicy::Verify;

  struct Case {
    const char* what;
    Route route;
    const char* host;
    const char* ip;
    uint16_t port;
    TlsPolicy want;
    std::string ca;
    bool implicit;
  };
  const std::vector<Case> cases = {
      {"no file: the route's policy", route_with(encrypt), "mx.example", "192.0.2.1", 25, encrypt,
       "", false},
      {"no tls= and no credentials: may", route_with(std::nullopt), "mx.example", "192.0.2.1", 25,
       may, "", false},
      {"notlshosts turns may off", route_with(may), "plain.example", "192.0.2.1", 25, none, "",
       false},
      {"notlshosts never lowers verify (SPEC §8)", route_with(verify), "plain.example", "192.0.2.1",
       25, verify, "", false},
      {"notlshosts never lowers encrypt", route_with(encrypt), "plain.example", "192.0.2.1", 25,
       encrypt, "", false},
      {"host names compare in lower case", route_with(may), "PLAIN.Example", "192.0.2.1", 25, none,
       "", false},
      {"file names compare in lower case", route_with(may), "mixed.example", "192.0.2.1", 25, none,
       "", false},
      {"a trailing dot does not count", route_with(may), "plain.example.", "192.0.2.1", 25, none,
       "", false},
      {"tlshosts by name: verify with that CA", route_with(may), "checked.example", "192.0.2.1", 25,
       verify, ca_name, false},
      {"tlshosts file in mixed case", route_with(may), "relay.example.com", "192.0.2.1", 25, verify,
       ca_relay, false},
      {"tlshosts, relay written in mixed case with a dot", route_with(may), "RELAY.example.COM.",
       "192.0.2.1", 25, verify, ca_relay, false},
      {"tlshosts raises none too", route_with(none), "checked.example", "192.0.2.1", 25, verify,
       ca_name, false},
      {"tlshosts wins over notlshosts", route_with(may), "both.example", "192.0.2.1", 25, verify,
       ca_both, false},
      {"an IP literal is named by its address", route_with(may), "", "192.0.2.7", 25, none, "",
       false},
      {"tlshosts for an address", route_with(none), "", "192.0.2.8", 25, verify, ca_ip, false},
      {"a named host is not looked up by address", route_with(may), "other.example", "192.0.2.7",
       25, may, "", false},
      {"credentials to a named relay: verify", route_with(std::nullopt, true), "relay.example",
       "192.0.2.1", 25, verify, "", false},
      {"credentials to an IP literal: encrypt", route_with(std::nullopt, true), "", "192.0.2.1", 25,
       encrypt, "", false},
      {"credentials with tls=may: may, as written", route_with(may, true), "relay.example",
       "192.0.2.1", 25, may, "", false},
      {"credentials with auth-cleartext=yes: may", route_with(std::nullopt, true, true),
       "relay.example", "192.0.2.1", 25, may, "", false},
      {"credentials: notlshosts cannot lower the default verify", route_with(std::nullopt, true),
       "plain.example", "192.0.2.1", 25, verify, "", false},
      {"465 raises none to encrypt", route_with(none), "mx.example", "192.0.2.1", 465, encrypt, "",
       true},
      {"465 raises may to encrypt", route_with(may), "mx.example", "192.0.2.1", 465, encrypt, "",
       true},
      {"465 keeps verify", route_with(verify), "mx.example", "192.0.2.1", 465, verify, "", true},
      {"465 with notlshosts still TLS", route_with(may), "plain.example", "192.0.2.1", 465, encrypt,
       "", true},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Target t{c.host, *IpAddr::parse(c.ip), c.port, false};
    TlsChoice got = tls_for(c.route, *files, t);
    CHECK(got.policy == c.want);
    CHECK(got.ca_file == c.ca);
    CHECK(got.implicit == c.implicit);
  }
}

TEST_CASE("route_tls_default_changed: routes whose policy SPEC §8 changed", "[tls_policy]") {
  CHECK(route_tls_default_changed(route_with(std::nullopt, true)));
  CHECK_FALSE(route_tls_default_changed(route_with(std::nullopt, false)));
  CHECK_FALSE(route_tls_default_changed(route_with(TlsPolicy::May, true)));
  CHECK_FALSE(route_tls_default_changed(route_with(TlsPolicy::Verify, true)));
  CHECK_FALSE(route_tls_default_changed(route_with(std::nullopt, true, true)));
}

TEST_CASE("load_tls_files: what exists but cannot be used is an error", "[tls_policy]") {
  SECTION("nothing there: no files") {
    test::TempDir dir;
    auto f = load_tls_files(dir.path());
    REQUIRE(f);
    CHECK(f->ciphers.empty());
    CHECK(f->client_cert.empty());
    CHECK(f->ca_files.empty());
    CHECK(f->no_tls.empty());
  }
  SECTION("the files are read") {
    test::TempDir dir;
    dir.write("tlsclientciphers", "HIGH:!aNULL\n");
    dir.write("clientcert.pem", "PEM");
    dir.write("tlshosts/README", "not a CA file: ignored, as qmail-tls does");
    auto f = load_tls_files(dir.path());
    REQUIRE(f);
    CHECK(f->ciphers == "HIGH:!aNULL");
    CHECK(f->client_cert == dir.path() + "/clientcert.pem");
    CHECK(f->ca_files.empty());
  }
  SECTION("tlshosts is a file, not a directory") {
    test::TempDir dir;
    dir.write("tlshosts", "oops");
    auto f = load_tls_files(dir.path());
    REQUIRE_FALSE(f);
    CHECK(f.error() == "control/tlshosts: not a directory");
  }
  SECTION("clientcert.pem is a directory") {
    test::TempDir dir;
    dir.write("clientcert.pem/x", "");
    auto f = load_tls_files(dir.path());
    REQUIRE_FALSE(f);
    CHECK(f.error() == "control/clientcert.pem: not a regular file");
  }
  // An unsearchable tlshosts/ (EACCES) needs a user other than root: t_tls.sh.
}

// SPEC §13: with control/dnssec-anchors, `dane` is the default for MX
// deliveries only; a written tls=, credentials, a relay or tlshosts/ win.
TEST_CASE("tls_for: dane is the MX default when anchors exist", "[tls_policy][dane]") {
  TlsFiles files;
  files.ca_files["mx.example"] = "/ca.pem";
  files.no_tls.insert("plain.example");
  struct Case {
    const char* what;
    Route route;
    Target target;
    bool anchors;
    TlsPolicy want;
  };
  const Target mx{"mx1.example", *IpAddr::parse("192.0.2.1"), 25, true};
  const Target relay{"relay.example", *IpAddr::parse("192.0.2.2"), 25, false};
  const Target pinned{"mx.example", *IpAddr::parse("192.0.2.3"), 25, true};
  const Target notls{"plain.example", *IpAddr::parse("192.0.2.4"), 25, true};
  const Case cases[] = {
      {"MX, anchors", route_with(std::nullopt), mx, true, TlsPolicy::Dane},
      {"MX, no anchors", route_with(std::nullopt), mx, false, TlsPolicy::May},
      {"relay, anchors", route_with(std::nullopt), relay, true, TlsPolicy::May},
      {"MX, tls=may written", route_with(TlsPolicy::May), mx, true, TlsPolicy::May},
      {"MX, tls=dane written, no anchors", route_with(TlsPolicy::Dane), mx, false, TlsPolicy::Dane},
      {"relay, tls=dane written", route_with(TlsPolicy::Dane), relay, false, TlsPolicy::Dane},
      {"MX, credentials", route_with(std::nullopt, true), mx, true, TlsPolicy::Verify},
      {"MX, tlshosts/", route_with(std::nullopt), pinned, true, TlsPolicy::Verify},
      // notlshosts/ never lowers dane (SPEC §8).
      {"MX, notlshosts/", route_with(std::nullopt), notls, true, TlsPolicy::Dane},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(tls_for(c.route, files, c.target, c.anchors).policy == c.want);
  }
}
