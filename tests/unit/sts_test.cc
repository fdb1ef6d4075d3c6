// MTA-STS (SPEC §14, RFC 8461): the TXT record, the policy parser, the mx
// pattern rule, the HTTP response reader, the shared cache file and the
// rules that choose between cache and fetch, with scripted DNS answers and
// a scripted fetcher (the real fetch is in tests/integration/t_sts.sh).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "lib/route/mx_security.h"
#include "lib/sts/cache.h"
#include "lib/sts/http.h"
#include "lib/sts/lookup.h"
#include "lib/sts/policy.h"
#include "tests/unit/control_fixtures.h"
#include "tests/unit/fake_dns.h"

namespace sts = qr::sts;
using qr::test::TempDir;

namespace {

const char* kEnforce =
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\nmax_age: 86400\n";

qr::TxtAnswer txt(std::vector<std::string> records) {
  qr::TxtAnswer a;
  a.records = std::move(records);
  return a;
}

}  // namespace

TEST_CASE("sts: the _mta-sts TXT record (RFC 8461 §3.1)", "[sts]") {
  auto id = sts::txt_id({"v=STSv1; id=20160831085700Z;"});
  REQUIRE(id);
  CHECK(*id == "20160831085700Z");
  // Other TXT records at the name are discarded.
  id = sts::txt_id({"google-site-verification=x", "v=STSv1;id=abc"});
  REQUIRE(id);
  CHECK(*id == "abc");
  // Extension fields are allowed.
  id = sts::txt_id({"v=STSv1; ext=1; id=A1"});
  REQUIRE(id);
  CHECK(*id == "A1");

  CHECK(sts::txt_id({}).error() == "no v=STSv1 TXT record");
  CHECK(sts::txt_id({"v=STSv10; id=1"}).error() == "no v=STSv1 TXT record");
  CHECK(sts::txt_id({" v=STSv1; id=1"}).error() == "no v=STSv1 TXT record");
  CHECK(sts::txt_id({"v=STSv1; id=1", "v=STSv1; id=2"}).error() ==
        "more than one v=STSv1 TXT record");
  // Even two identical records: the number of records is not one.
  CHECK_FALSE(sts::txt_id({"v=STSv1; id=1", "v=STSv1; id=1"}));
  CHECK(sts::txt_id({"v=STSv1;"}).error() == "v=STSv1 TXT record without id=");
  CHECK_FALSE(sts::txt_id({"v=STSv1; id="}));
  CHECK_FALSE(sts::txt_id({"v=STSv1; id=a-b"}));
  CHECK_FALSE(sts::txt_id({"v=STSv1; id=123456789012345678901234567890123"}));  // 33
  CHECK(sts::txt_id({"v=STSv1; id=12345678901234567890123456789012"}));         // 32
  CHECK_FALSE(sts::txt_id({"v=STSv1; junk"}));
}

TEST_CASE("sts: the policy file (RFC 8461 §3.2)", "[sts]") {
  auto p = sts::parse_policy(kEnforce);
  REQUIRE(p);
  CHECK(p->mode == sts::Mode::Enforce);
  CHECK(p->max_age == 86400);
  CHECK(p->mx == std::vector<std::string>{"mx1.example.com", "*.example.net"});

  SECTION("CRLF, spaces around the value, unknown keys, case of mx") {
    p = sts::parse_policy(
        "version: STSv1\r\nmode:testing  \r\nfoo: bar\r\nmx: "
        "MX.Example.ORG.\r\nmax_age:\t604800\r\n");
    REQUIRE(p);
    CHECK(p->mode == sts::Mode::Testing);
    CHECK(p->max_age == 604800);
    CHECK(p->mx == std::vector<std::string>{"mx.example.org"});
  }
  SECTION("mode none needs no mx") {
    p = sts::parse_policy("version: STSv1\nmode: none\nmax_age: 1\n");
    REQUIRE(p);
    CHECK(p->mode == sts::Mode::None);
  }
  SECTION("the first of a repeated key counts") {
    p = sts::parse_policy(
        "version: STSv1\nmode: testing\nmode: enforce\nmx: a.b\nmax_age: 5\nmax_age: 9\n");
    REQUIRE(p);
    CHECK(p->mode == sts::Mode::Testing);
    CHECK(p->max_age == 5);
  }
  SECTION("max_age bounds") {
    p = sts::parse_policy("version: STSv1\nmode: none\nmax_age: 9999999999\n");
    REQUIRE(p);
    CHECK(p->max_age == sts::kMaxAge);
    p = sts::parse_policy("version: STSv1\nmode: none\nmax_age: 31557600\n");
    REQUIRE(p);
    CHECK(p->max_age == 31557600);
    CHECK(sts::parse_policy("version: STSv1\nmode: none\nmax_age: 10000000000\n").error() ==
          "policy line 3: max_age '10000000000' is not 1 to 10 digits");
    CHECK_FALSE(sts::parse_policy("version: STSv1\nmode: none\nmax_age: -1\n"));
    CHECK_FALSE(sts::parse_policy("version: STSv1\nmode: none\nmax_age: \n"));
  }
  SECTION("what is not a policy") {
    CHECK(sts::parse_policy("").error() == "policy has no version: STSv1");
    CHECK(sts::parse_policy("version: STSv2\nmode: none\nmax_age: 1\n").error() ==
          "policy line 1: version 'STSv2' is not STSv1");
    CHECK(sts::parse_policy("version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n").error() ==
          "policy line 2: mode 'strict' is not enforce, testing or none");
    CHECK(sts::parse_policy("version: STSv1\nmode: enforce\nmax_age: 1\n").error() ==
          "policy has no mx:");
    CHECK(sts::parse_policy("version: STSv1\nmode: enforce\nmx: a.b\n").error() ==
          "policy has no max_age");
    CHECK(sts::parse_policy("version: STSv1\nmx: a.b\nmax_age: 1\n").error() ==
          "policy has no mode");
    CHECK(sts::parse_policy("<html>\n").error() == "policy line 1: '<html>' is not key: value");
    CHECK_FALSE(sts::parse_policy("version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n"));
    CHECK_FALSE(sts::parse_policy("version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n"));
    CHECK_FALSE(sts::parse_policy("version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 1\n"));
    CHECK_FALSE(sts::parse_policy(std::string(sts::kMaxPolicyBytes + 1, '\n')));
  }
}

TEST_CASE("sts: mx patterns, the wildcard is one leftmost label (RFC 8461 §4.1)", "[sts]") {
  CHECK(sts::mx_matches("mx1.example.com", "mx1.example.com"));
  CHECK(sts::mx_matches("mx1.example.com", "MX1.Example.COM."));
  CHECK_FALSE(sts::mx_matches("mx1.example.com", "mx2.example.com"));
  CHECK(sts::mx_matches("*.example.net", "mx.example.net"));
  CHECK_FALSE(sts::mx_matches("*.example.net", "a.b.example.net"));
  CHECK_FALSE(sts::mx_matches("*.example.net", "example.net"));
  CHECK_FALSE(sts::mx_matches("*.example.net", "mxexample.net"));
  CHECK_FALSE(sts::mx_matches("*.example.net", ".example.net"));
  auto p = sts::parse_policy(kEnforce);
  REQUIRE(p);
  CHECK(sts::mx_allowed(*p, "mx1.example.com"));
  CHECK(sts::mx_allowed(*p, "x.example.net"));
  CHECK_FALSE(sts::mx_allowed(*p, "evil.example.com"));
}

TEST_CASE("sts: the HTTP response (RFC 8461 §3.3)", "[sts]") {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n";
  auto b = sts::http_body(head + "Content-Length: 5\r\n\r\nhello and more");
  REQUIRE(b);
  CHECK(*b == "hello");
  b = sts::http_body(head +
                     "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n");
  REQUIRE(b);
  CHECK(*b == "abcde");
  b = sts::http_body(head + "\r\nto the end");
  REQUIRE(b);
  CHECK(*b == "to the end");

  CHECK(sts::http_body("HTTP/1.1 301 Moved\r\nLocation: x\r\n\r\n").error() ==
        "HTTP status '301' (redirects are not followed)");
  CHECK(sts::http_body("HTTP/1.1 404 Not Found\r\n\r\n").error() == "HTTP status '404'");
  CHECK(sts::http_body("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nx").error() ==
        "Content-Type 'text/html', not text/plain");
  CHECK(sts::http_body("HTTP/1.1 200 OK\r\n\r\nx").error() ==
        "no Content-Type (text/plain required)");
  CHECK(sts::http_body(head + "\r\n" + std::string(sts::kMaxPolicyBytes + 1, 'a')).error() ==
        "body larger than 64 KiB");
  CHECK_FALSE(sts::http_body(head + "Content-Length: 70000\r\n\r\nx"));
  CHECK_FALSE(sts::http_body(head + "Content-Length: 99999999999999999999\r\n\r\nx"));
  CHECK(sts::http_body(head + "Content-Length: 9\r\n\r\nabc").error() ==
        "body shorter than its Content-Length");
  CHECK_FALSE(sts::http_body(head + "Transfer-Encoding: chunked\r\n\r\n3\r\nab"));
  CHECK_FALSE(sts::http_body(head + "Transfer-Encoding: chunked\r\n\r\nffffffff\r\n"));
  CHECK_FALSE(sts::http_body(head + "Transfer-Encoding: gzip\r\n\r\n"));
  CHECK_FALSE(sts::http_body(head));  // headers never ended
  CHECK_FALSE(sts::http_body("garbage"));
  CHECK_FALSE(sts::http_body(""));
}

TEST_CASE("sts: the cache file, written whole and read back", "[sts]") {
  TempDir dir;
  auto p = sts::parse_policy(kEnforce);
  REQUIRE(p);
  sts::Cached c{"id1", 1000, kEnforce, *p};
  REQUIRE(sts::write_cached(dir.path(), "example.com", c));
  std::string why;
  auto back = sts::read_cached(dir.path(), "example.com", &why);
  REQUIRE(back);
  CHECK(back->id == "id1");
  CHECK(back->fetched == 1000);
  CHECK(back->text == kEnforce);
  CHECK(back->policy.mx == p->mx);
  CHECK(back->fresh(1000 + 86399));
  CHECK_FALSE(back->fresh(1000 + 86400));
  // No temporary file is left behind.
  CHECK(::access((dir.path() + "/.example.com." + std::to_string(::getpid())).c_str(), F_OK) != 0);

  SECTION("missing") {
    CHECK_FALSE(sts::read_cached(dir.path(), "other.example", &why));
    CHECK(why == "not cached");
  }
  SECTION("corrupt") {
    dir.write("example.com", "qmail-remote sts cache 1\nid: x\nfetched: 12\n\n<html>\n");
    CHECK_FALSE(sts::read_cached(dir.path(), "example.com", &why));
    CHECK(why.find("corrupt: policy line 1") != std::string::npos);
    dir.write("example.com", std::string("\0\0\0garbage", 10));
    CHECK_FALSE(sts::read_cached(dir.path(), "example.com", &why));
    CHECK(why.find("corrupt: not a cache file") != std::string::npos);
    dir.write("example.com", "qmail-remote sts cache 1\nid: x\nfetched: 1x\n\n");
    CHECK_FALSE(sts::read_cached(dir.path(), "example.com", &why));
  }
  SECTION("a directory, or a name that is not a host name") {
    REQUIRE(::mkdir((dir.path() + "/dir.example").c_str(), 0755) == 0);
    CHECK_FALSE(sts::read_cached(dir.path(), "dir.example", &why));
    CHECK_FALSE(sts::read_cached(dir.path(), "../etc", &why));
    CHECK_FALSE(sts::read_cached(dir.path(), ".hidden", &why));
    CHECK_FALSE(sts::write_cached(dir.path(), "a/b", c));
  }
  SECTION("an unwritable directory is an error, not a crash") {
    CHECK_FALSE(sts::write_cached(dir.path() + "/missing", "example.com", c));
  }
}

TEST_CASE("sts: cache or fetch (RFC 8461 §5.1, SPEC §14)", "[sts]") {
  TempDir dir;
  qr::test::FakeResolver dns;
  dns.txt["_mta-sts.example.com"] = txt({"v=STSv1; id=1"});
  int fetches = 0;
  std::string body = kEnforce;
  bool fail = false;
  sts::Fetcher fetch = [&](std::string_view d) -> qr::Result<std::string> {
    ++fetches;
    CHECK(d == "example.com");
    if (fail) return qr::Error{"connection refused"};
    return body;
  };
  const int64_t t0 = 1'700'000'000;

  auto l = sts::lookup_policy("Example.COM", dns, dir.path(), t0, fetch);
  REQUIRE(l.policy);
  CHECK(l.how == "fetched");
  CHECK(l.fetched);
  CHECK(fetches == 1);
  CHECK(l.cache_error.empty());

  // A hit: the TXT's id is the cached one; nothing fetched.
  l = sts::lookup_policy("example.com", dns, dir.path(), t0 + 10, fetch);
  REQUIRE(l.policy);
  CHECK(l.how == "cached");
  CHECK(fetches == 1);

  SECTION("a new id refetches") {
    dns.txt["_mta-sts.example.com"] = txt({"v=STSv1; id=2"});
    body = "version: STSv1\nmode: testing\nmx: mx1.example.com\nmax_age: 600\n";
    l = sts::lookup_policy("example.com", dns, dir.path(), t0 + 20, fetch);
    CHECK(fetches == 2);
    REQUIRE(l.policy);
    CHECK(l.policy->mode == sts::Mode::Testing);
    std::string why;
    auto c = sts::read_cached(dir.path(), "example.com", &why);
    REQUIRE(c);
    CHECK(c->id == "2");
  }
  SECTION("a failed refresh keeps the cached policy") {
    dns.txt["_mta-sts.example.com"] = txt({"v=STSv1; id=2"});
    fail = true;
    l = sts::lookup_policy("example.com", dns, dir.path(), t0 + 20, fetch);
    CHECK(fetches == 2);
    REQUIRE(l.policy);
    CHECK(l.policy->mode == sts::Mode::Enforce);
    CHECK(l.how == "cached (refresh failed: connection refused)");
  }
  SECTION("an invalid new policy keeps the cached one") {
    dns.txt["_mta-sts.example.com"] = txt({"v=STSv1; id=2"});
    body = "garbage";
    l = sts::lookup_policy("example.com", dns, dir.path(), t0 + 20, fetch);
    REQUIRE(l.policy);
    CHECK(l.policy->mode == sts::Mode::Enforce);
  }
  SECTION("the TXT record gone, or DNS failing: the cache until max_age") {
    dns.txt.erase("_mta-sts.example.com");
    l = sts::lookup_policy("example.com", dns, dir.path(), t0 + 20, fetch);
    REQUIRE(l.policy);
    CHECK(fetches == 1);
    l = sts::lookup_policy("example.com", dns, dir.path(), t0 + 86400, fetch);
    CHECK_FALSE(l.policy);
  }
  SECTION("expired: fetched again") {
    l = sts::lookup_policy("example.com", dns, dir.path(), t0 + 86400, fetch);
    REQUIRE(l.policy);
    CHECK(fetches == 2);
    CHECK(l.how == "fetched");
  }
  SECTION("expired and the fetch fails: no policy") {
    fail = true;
    l = sts::lookup_policy("example.com", dns, dir.path(), t0 + 86400, fetch);
    CHECK_FALSE(l.policy);
    CHECK(l.how == "fetch failed: connection refused");
  }
  SECTION("a corrupt cache file: fetched again") {
    dir.write("example.com", "junk");
    l = sts::lookup_policy("example.com", dns, dir.path(), t0 + 20, fetch);
    REQUIRE(l.policy);
    CHECK(fetches == 2);
  }
  SECTION("force fetches on a hit") {
    l = sts::lookup_policy("example.com", dns, dir.path(), t0 + 20, fetch, true);
    CHECK(fetches == 2);
  }
}

TEST_CASE("sts: no policy without one TXT record, nothing fetched", "[sts]") {
  TempDir dir;
  qr::test::FakeResolver dns;
  int fetches = 0;
  sts::Fetcher fetch = [&](std::string_view) -> qr::Result<std::string> {
    ++fetches;
    return std::string(kEnforce);
  };
  dns.txt["_mta-sts.two.example"] = txt({"v=STSv1; id=1", "v=STSv1; id=2"});
  auto l = sts::lookup_policy("two.example", dns, dir.path(), 1, fetch);
  CHECK_FALSE(l.policy);
  CHECK(l.how == "more than one v=STSv1 TXT record");
  l = sts::lookup_policy("none.example", dns, dir.path(), 1, fetch);
  CHECK_FALSE(l.policy);
  CHECK(fetches == 0);
}

TEST_CASE("sts: an unwritable cache: the fetched policy is used all the same", "[sts]") {
  qr::test::FakeResolver dns;
  dns.txt["_mta-sts.example.com"] = txt({"v=STSv1; id=1"});
  auto l = sts::lookup_policy(
      "example.com", dns, "/nonexistent/queue/sts", 1,
      [](std::string_view) -> qr::Result<std::string> { return std::string(kEnforce); });
  REQUIRE(l.policy);
  CHECK(l.cache_error.find("cannot create") != std::string::npos);
}

TEST_CASE("sts: what `dane` makes of an MX host (the seam of SPEC §8)", "[sts]") {
  qr::Target mx1{"mx1.example.com", *qr::IpAddr::parse("192.0.2.1"), 25, true};
  qr::Target evil{"evil.example.org", *qr::IpAddr::parse("192.0.2.2"), 25, true};
  auto p = sts::parse_policy(kEnforce);
  REQUIRE(p);

  auto h = qr::dane_host_security(mx1, "example.com", std::nullopt);
  CHECK(h.policy == qr::TlsPolicy::May);
  CHECK_FALSE(h.skip);
  CHECK(h.mark.empty());

  h = qr::dane_host_security(mx1, "example.com", *p);
  CHECK(h.policy == qr::TlsPolicy::Verify);
  CHECK(h.mark == "sts=enforce");
  h = qr::dane_host_security(evil, "example.com", *p);
  CHECK(h.skip);
  CHECK(h.why.find("matches no mx: pattern") != std::string::npos);

  p->mode = sts::Mode::Testing;
  h = qr::dane_host_security(evil, "example.com", *p);
  CHECK_FALSE(h.skip);
  CHECK(h.policy == qr::TlsPolicy::May);
  CHECK(h.mark == "sts=testing");
  CHECK(h.testing_note == "evil.example.org matches no mx: pattern of example.com's policy");

  p->mode = sts::Mode::None;
  h = qr::dane_host_security(evil, "example.com", *p);
  CHECK(h.policy == qr::TlsPolicy::May);
  CHECK(h.mark.empty());
}

TEST_CASE("sts: host_security, the policy a session gets under each route", "[sts]") {
  qr::Target mx1{"mx1.example.com", *qr::IpAddr::parse("192.0.2.1"), 25, true};
  qr::Target evil{"evil.example.org", *qr::IpAddr::parse("192.0.2.2"), 25, true};
  qr::Target relay{"relay.example.com", *qr::IpAddr::parse("192.0.2.3"), 25, false};
  std::optional<sts::Policy> enforce = *sts::parse_policy(kEnforce);
  int asked = 0;
  auto sts_fn = [&]() -> const std::optional<sts::Policy>& {
    ++asked;
    return enforce;
  };
  qr::Route dane;
  dane.options.tls = qr::TlsPolicy::Dane;
  dane.options.tls_set = true;
  qr::TlsFiles files;
  // DANE's answer for every host: insecure (no DNSSEC), so MTA-STS decides.
  auto dane_fn = [](const qr::TlsChoice&, const qr::Target&) { return qr::DaneDecision{}; };

  auto h = qr::host_security(dane, files, mx1, "example.com", false, dane_fn, sts_fn);
  CHECK(h.policy == qr::TlsPolicy::Verify);
  CHECK(h.mark == "sts=enforce");
  CHECK(qr::host_security(dane, files, evil, "example.com", false, dane_fn, sts_fn).skip);
  // A relay named by the route: no MTA-STS, `may`, and no look-up.
  asked = 0;
  h = qr::host_security(dane, files, relay, "example.com", false, dane_fn, sts_fn);
  CHECK(h.policy == qr::TlsPolicy::May);
  CHECK(asked == 0);
  // tlshosts/ pins the CA but does not let in a host enforce leaves out.
  files.ca_files["evil.example.org"] = "/ca.pem";
  CHECK(qr::host_security(dane, files, evil, "example.com", false, dane_fn, sts_fn).skip);
  files.ca_files["mx1.example.com"] = "/ca.pem";
  h = qr::host_security(dane, files, mx1, "example.com", false, dane_fn, sts_fn);
  CHECK(h.policy == qr::TlsPolicy::Verify);
  CHECK(h.mark == "sts=enforce");
  // Any other policy: tls_for's, and MTA-STS is never asked.
  qr::Route may;
  asked = 0;
  h = qr::host_security(may, qr::TlsFiles{}, evil, "example.com", false, dane_fn, sts_fn);
  CHECK(h.policy == qr::TlsPolicy::May);
  CHECK_FALSE(h.skip);
  CHECK(asked == 0);
}

TEST_CASE("sts: a response whose end is known before the close", "[sts]") {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n";
  bool delimited = true;
  CHECK(sts::http_body(head + "\r\nsome", &delimited));
  CHECK_FALSE(delimited);  // up to the close: only the close ends it
  CHECK(sts::http_body(head + "Content-Length: 4\r\n\r\nsome", &delimited));
  CHECK(delimited);
  CHECK_FALSE(sts::http_body(head + "Content-Length: 5\r\n\r\nsome", &delimited));
  CHECK_FALSE(delimited);
  CHECK(sts::http_body(head + "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n", &delimited));
  CHECK(delimited);
}

// SPEC §8, §13, §14 (RFC 8461 §2): under `dane`, DANE first; MTA-STS only
// where DANE does not apply, and then not even asked for.
TEST_CASE("sts: DANE wins where both are published", "[sts][dane]") {
  qr::Target mx1{"mx1.example.com", *qr::IpAddr::parse("192.0.2.1"), 25, true};
  std::optional<sts::Policy> enforce = *sts::parse_policy(kEnforce);
  int sts_asked = 0, dane_asked = 0;
  auto sts_fn = [&]() -> const std::optional<sts::Policy>& {
    ++sts_asked;
    return enforce;
  };
  qr::DaneDecision answer;
  auto dane_fn = [&](const qr::TlsChoice& c, const qr::Target&) {
    ++dane_asked;
    CHECK(c.policy == qr::TlsPolicy::Dane);
    return answer;
  };
  qr::Route plain;  // no tls=: `dane` only as the default (dnssec-anchors)
  qr::TlsFiles files;

  SECTION("secure, usable TLSA: DANE, MTA-STS not asked") {
    answer.tls.policy = qr::TlsPolicy::Dane;
    answer.dane =
        qr::DaneOptions{{qr::Tlsa{3, 1, 1, std::vector<uint8_t>(32, 1)}}, {"mx1.example.com"}};
    auto h = qr::host_security(plain, files, mx1, "example.com", true, dane_fn, sts_fn);
    CHECK(h.policy == qr::TlsPolicy::Dane);
    REQUIRE(h.dane);
    CHECK(h.dane->names.front() == "mx1.example.com");
    CHECK(h.mark.empty());  // dane=ok comes from the session that checked it
    CHECK(sts_asked == 0);
  }
  SECTION("bogus: the host is skipped, MTA-STS not asked") {
    answer.refused = "DNSSEC: mx1.example.com is bogus: bad signature";
    auto h = qr::host_security(plain, files, mx1, "example.com", true, dane_fn, sts_fn);
    CHECK(h.skip);
    CHECK(h.why == answer.refused);
    CHECK(sts_asked == 0);
  }
  SECTION("secure TLSA, none usable: encrypt, MTA-STS not asked") {
    answer.tls.policy = qr::TlsPolicy::Encrypt;
    auto h = qr::host_security(plain, files, mx1, "example.com", true, dane_fn, sts_fn);
    CHECK(h.policy == qr::TlsPolicy::Encrypt);
    CHECK(sts_asked == 0);
  }
  SECTION("insecure: MTA-STS enforce") {
    auto h = qr::host_security(plain, files, mx1, "example.com", true, dane_fn, sts_fn);
    CHECK(h.policy == qr::TlsPolicy::Verify);
    CHECK(h.mark == "sts=enforce");
    CHECK(sts_asked == 1);
  }
  SECTION("no dnssec-anchors and no tls=dane: neither is asked") {
    auto h = qr::host_security(plain, files, mx1, "example.com", false, dane_fn, sts_fn);
    CHECK(h.policy == qr::TlsPolicy::May);
    CHECK(dane_asked == 0);
    CHECK(sts_asked == 0);
  }
}

// SPEC §8: a route with credentials under tls=dane never falls back to
// `may` where DANE does not apply: the credentials' own default instead
// (verify for a named relay, encrypt for an IP literal), unless
// auth-cleartext=yes relaxes it.
TEST_CASE("sts: tls=dane with credentials keeps them off plaintext", "[sts][dane]") {
  qr::Target relay{"relay.example.com", *qr::IpAddr::parse("192.0.2.3"), 25, false};
  qr::Target literal{"", *qr::IpAddr::parse("192.0.2.4"), 587, false};
  std::optional<sts::Policy> none;
  auto sts_fn = [&]() -> const std::optional<sts::Policy>& { return none; };
  // DANE insecure (or unavailable) for every host.
  auto dane_fn = [](const qr::TlsChoice&, const qr::Target&) { return qr::DaneDecision{}; };
  qr::Route r;
  r.options.tls = qr::TlsPolicy::Dane;
  r.options.tls_set = true;
  r.user = "u";
  r.pass = "p";
  qr::TlsFiles files;
  CHECK(qr::host_security(r, files, relay, "example.com", false, dane_fn, sts_fn).policy ==
        qr::TlsPolicy::Verify);
  CHECK(qr::host_security(r, files, literal, "example.com", false, dane_fn, sts_fn).policy ==
        qr::TlsPolicy::Encrypt);
  r.options.auth_cleartext = true;
  CHECK(qr::host_security(r, files, relay, "example.com", false, dane_fn, sts_fn).policy ==
        qr::TlsPolicy::May);
  // Without credentials, `may` as before.
  r.options.auth_cleartext = false;
  r.user.clear();
  r.pass.clear();
  CHECK(qr::host_security(r, files, relay, "example.com", false, dane_fn, sts_fn).policy ==
        qr::TlsPolicy::May);
}
