// The walk (lib/deliver.cc) without root, servers or DNS (issue 13): each
// connect gets a socket pair with a scripted server on the other end
// (tests/unit/scripted_server.h), the DNS answers from tests/unit/fake_dns.h.
// A table of server scripts -> the report's letters, who got the message,
// and what the report says, covering SPEC §4's rules and §7's.
#include "lib/deliver.h"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "lib/control/routemap.h"
#include "tests/unit/fake_dns.h"
#include "tests/unit/scripted_server.h"

namespace {

using qr::test::Script;
using qr::test::ScriptedServer;

constexpr const char* kA = "192.0.2.1";
constexpr const char* kB = "192.0.2.2";
const std::string kMessage = "Subject: t\n\nbody\n";

// Connects to scripted servers: one new server per connect, by address.
class FakeNet final : public qr::Connector {
 public:
  std::map<std::string, Script> scripts;  // an address not here: connection refused
  std::set<std::string> unbindable;       // local IPs that cannot be bound
  std::vector<std::string> connects;      // "remote from local", in order

  qr::Connected connect(const qr::IpAddr& remote, uint16_t, const std::optional<qr::IpAddr>& local,
                        unsigned) override {
    std::string from = local ? local->str() : "default";
    connects.push_back(remote.str() + " from " + from);
    if (local && unbindable.count(from))
      return qr::ConnectFailure{"cannot bind " + from + ": Cannot assign requested address", true};
    auto it = scripts.find(remote.str());
    if (it == scripts.end()) return qr::ConnectFailure{"connection refused"};
    servers.push_back({remote.str(), std::make_unique<ScriptedServer>(it->second)});
    return qr::Fd(servers.back().second->take_client());
  }
  // What each server (in connect order) was sent, after the walk closed
  // every connection.
  std::vector<std::pair<std::string, qr::test::Seen>> seen() {
    std::vector<std::pair<std::string, qr::test::Seen>> out;
    for (auto& [addr, server] : servers) out.push_back({addr, server->seen()});
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::unique_ptr<ScriptedServer>>> servers;
};

struct Outcome {
  std::string letters;  // "rK"
  std::string final;    // the message report's text
  std::string bytes;    // every byte of the report
  std::vector<std::string> connects;
  std::string delivered_to;  // the servers that got the whole message, "A", "B", "AB"
};

qr::Control control_for(const std::string& routes_line) {
  qr::Control c;
  c.helohost = "client.test";
  c.timeoutconnect = 2;
  c.timeoutremote = 2;
  auto routes = qr::parse_routes({qr::ControlLine{1, routes_line}});
  REQUIRE(routes.ok());
  c.routes = *routes;
  auto map = qr::parse_routemap({qr::ControlLine{1, "*;*;r"}}, c.routes);
  REQUIRE(map.ok());
  c.routemap = *map;
  return c;
}

Outcome run_walk(const qr::Control& control, FakeNet& net, qr::test::FakeDns& dns,
                 qr::Envelope env = {"s@example.org", {"r@example.org"}},
                 std::string host = "example.org") {
  const qr::MessageSource message = qr::MessageSource::from_bytes(kMessage);
  qr::Job job{std::move(host), std::move(env), &message};
  qr::Rng rng(1);
  qr::Report report(-1);  // nothing written: bytes() holds the report
  qr::walk(job, control, net, dns, rng, report);
  Outcome o;
  o.bytes = report.bytes();
  for (size_t at = 0; at < o.bytes.size();) {
    size_t nul = o.bytes.find('\0', at);
    o.letters += o.bytes[at];
    o.final = o.bytes.substr(at + 1, nul - at - 1);
    at = nul + 1;
  }
  o.connects = net.connects;
  for (auto& [addr, seen] : net.seen())
    if (seen.log.find("DOT\n") != std::string::npos && seen.body == kMessage)
      o.delivered_to += addr == kA ? "A" : "B";
  return o;
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("walk: what each server does decides the next pair or the outcome", "[walk]") {
  const Script good;
  Script greeting_554, helo_refused, mail_421, drop_at_mail, drop_before_dot, no_starttls, mail_550,
      mail_451, rcpt_550, rcpt_451, data_554, dot_554, dot_451, drop_after_dot, early_bytes,
      too_small;
  greeting_554.greeting = "554 go away\r\n";
  helo_refused.ehlo = "550 no EHLO\r\n";
  helo_refused.helo = "550 no HELO either\r\n";
  mail_421.mail = "421 closing\r\n";
  drop_at_mail.drop_at = "MAIL";
  drop_before_dot.drop_at = "DATA";
  mail_550.mail = "550 sender refused\r\n";
  mail_451.mail = "451 sender later\r\n";
  rcpt_550.rcpt = "550 no such user\r\n";
  rcpt_451.rcpt = "451 later\r\n";
  data_554.data = "554 no data\r\n";
  dot_554.dot = "554 message refused\r\n";
  dot_451.dot = "451 message later\r\n";
  drop_after_dot.drop_at = "DOT";
  early_bytes.data = "354 go\r\n250 fake\r\n";
  too_small.ehlo = "250-test\r\n250 SIZE 10\r\n";

  const struct {
    const char* name;
    std::optional<Script> a;  // nullopt: connection refused
    std::string letters, delivered_to;
    std::vector<std::string> report_has;
    size_t connects;
  } cases[] = {
      {"a good server: K at the first", good, "rK", "A", {"192.0.2.1 accepted message."}, 1},
      {"connection refused: next pair",
       std::nullopt,
       "rK",
       "B",
       {"Failed before this attempt:\n192.0.2.1:25 from default: connection refused"},
       2},
      {"greeting not 2xx: next pair", greeting_554, "rK", "B", {"greeting failed: 554 go away"}, 2},
      {"EHLO and HELO refused: next pair",
       helo_refused,
       "rK",
       "B",
       {"my name was rejected: 550 no HELO either"},
       2},
      {"421 to MAIL: next pair", mail_421, "rK", "B", {"MAIL: 421 closing"}, 2},
      {"dropped at MAIL: next pair",
       drop_at_mail,
       "rK",
       "B",
       {"192.0.2.1:25 from default: MAIL"},
       2},
      {"dropped before the dot: next pair", drop_before_dot, "rK", "B", {"DATA"}, 2},
      {"bytes before the body: next pair (SPEC §7)",
       early_bytes,
       "rK",
       "B",
       {"DATA: protocol error: bytes received before the message was sent"},
       2},
      {"MAIL 5xx: D, final",
       mail_550,
       "D",
       "",
       {"Connected to 192.0.2.1 but sender was rejected.", "remote=[192.0.2.1]:25 tls=none\n"},
       1},
      {"MAIL 4xx: Z, final", mail_451, "Z", "", {"route=r local=default remote=[192.0.2.1]:25"}, 1},
      {"every RCPT 5xx: D", rcpt_550, "hD", "", {"Giving up on 192.0.2.1."}, 1},
      {"a RCPT 4xx: Z", rcpt_451, "sZ", "", {"Giving up on 192.0.2.1."}, 1},
      {"DATA 5xx: D", data_554, "rD", "", {"192.0.2.1 failed on DATA command."}, 1},
      {"final dot 5xx: D", dot_554, "rD", "A", {"192.0.2.1 failed after I sent the message."}, 1},
      {"final dot 4xx: Z", dot_451, "rZ", "A", {"failed after I sent the message."}, 1},
      {"dropped after the dot: Z, possible duplicate, no other pair",
       drop_after_dot,
       "Z",
       "A",
       {"Possible duplicate! (#4.4.2)"},
       1},
      {"SIZE too small: D before sending (#5.3.4)", too_small, "D", "", {"(#5.3.4)"}, 1},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      FakeNet net;
      if (c.a) net.scripts[kA] = *c.a;
      net.scripts[kB] = good;
      qr::test::FakeDns dns;
      Outcome o =
          run_walk(control_for(std::string("r;;") + kA + "&" + kB + ";;;tls=none"), net, dns);
      INFO(o.bytes);
      CHECK(o.letters == c.letters);
      CHECK(o.delivered_to == c.delivered_to);
      CHECK(o.connects.size() == c.connects);
      for (const auto& n : c.report_has) CHECK(has(o.bytes, n));
      // SPEC §10: a D report never names the route or our local IP.
      if (o.letters.back() == 'D') {
        CHECK_FALSE(has(o.final, "route="));
        CHECK_FALSE(has(o.final, "local="));
      }
      CHECK(dns.asked == 0);  // IP literals need no DNS
    }
  }
}

TEST_CASE("walk: bind failure, TLS required, AUTH, may retried in plaintext", "[walk]") {
  qr::test::FakeDns dns;
  SECTION("the first local IP cannot be bound: the next local IP, same remote") {
    FakeNet net;
    net.scripts[kA] = Script{};
    net.unbindable = {"10.0.0.1"};
    Outcome o =
        run_walk(control_for(std::string("r;10.0.0.1&10.0.0.2;") + kA + ";;;tls=none"), net, dns);
    CHECK(o.letters == "rK");
    CHECK(o.connects ==
          std::vector<std::string>{"192.0.2.1 from 10.0.0.1", "192.0.2.1 from 10.0.0.2"});
    CHECK(has(o.final, "route=r local=10.0.0.2 remote=[192.0.2.1]:25"));
    CHECK(has(o.final, "192.0.2.1:25 from 10.0.0.1: cannot bind 10.0.0.1"));
  }
  SECTION("TLS required (tlshosts/) but not offered: next pair, never plaintext") {
    FakeNet net;
    net.scripts[kA] = Script{};
    net.scripts[kB] = Script{};
    qr::Control c = control_for(std::string("r;;") + kA + "&" + kB + ";;;tls=may");
    c.tls.ca_files[kA] = "/nonexistent/ca.pem";
    Outcome o = run_walk(c, net, dns);
    CHECK(o.letters == "rK");
    CHECK(o.delivered_to == "B");
    CHECK(has(o.final, "STARTTLS required by tls=verify but not offered"));
  }
  SECTION("a failed handshake under may: the same pair once more, in plaintext") {
    Script sc;
    sc.ehlo = "250-test\r\n250 STARTTLS\r\n";
    sc.starttls = "220 go ahead\r\n";  // then the server hangs up: the handshake fails
    FakeNet net;
    net.scripts[kA] = sc;
    Outcome o = run_walk(control_for(std::string("r;;") + kA + ";;;tls=may"), net, dns);
    CHECK(o.letters == "rK");
    CHECK(o.connects ==
          std::vector<std::string>{"192.0.2.1 from default", "192.0.2.1 from default"});
    CHECK(o.delivered_to == "A");
    CHECK(has(o.final, "tls=failed-plaintext"));
    CHECK(has(o.final, "TLS handshake failed"));
  }
  SECTION("AUTH refused: next pair; the password reaches no report") {
    Script refuses, accepts;
    refuses.ehlo = accepts.ehlo = "250-test\r\n250 AUTH PLAIN\r\n";
    refuses.auth = "535 bad password S3cretPw\r\n";
    accepts.auth = "235 ok\r\n";
    FakeNet net;
    net.scripts[kA] = refuses;
    net.scripts[kB] = accepts;
    Outcome o = run_walk(control_for(std::string("r;;") + kA + "&" + kB +
                                     ";user;S3cretPw;tls=none,auth-cleartext=yes"),
                         net, dns);
    CHECK(o.letters == "rK");
    CHECK(o.delivered_to == "B");
    CHECK(has(o.final, "auth=PLAIN"));
    CHECK(has(o.final, "AUTH PLAIN refused"));
    CHECK_FALSE(has(o.bytes, "S3cretPw"));
  }
  SECTION("every pair failed: Z listing each, with our local IP (SPEC §4, §10)") {
    Script greeting_421;
    greeting_421.greeting = "421 busy\r\n";
    FakeNet net;
    net.scripts[kB] = greeting_421;
    Outcome o = run_walk(control_for(std::string("r;;") + kA + "&" + kB + ";;;tls=none"), net, dns);
    CHECK(o.letters == "Z");
    CHECK(o.final ==
          "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"
          "192.0.2.1:25 from default: connection refused\n"
          "192.0.2.2:25 from default: greeting failed: 421 busy\n"
          "route=r\n");
  }
}

TEST_CASE("walk: SMTPUTF8 missing is D only when every host was reached (issue 13)", "[walk]") {
  const qr::Envelope utf8{"j\xc3\xb6rg@example.org", {"r@example.org"}};
  Script no_utf8;  // the default EHLO offers no SMTPUTF8
  SECTION("every server reached, none offers it: D (#5.6.7), no local IP in it") {
    FakeNet net;
    net.scripts[kA] = net.scripts[kB] = no_utf8;
    qr::test::FakeDns dns;
    Outcome o = run_walk(control_for(std::string("r;10.0.0.1;") + kA + "&" + kB + ";;;tls=none"),
                         net, dns, utf8);
    CHECK(o.letters == "D");
    CHECK(has(o.final, "no server offers SMTPUTF8. (#5.6.7)"));
    CHECK_FALSE(has(o.final, "10.0.0.1"));
    CHECK(o.delivered_to.empty());
  }
  SECTION("the relay's DNS fails for now: Z, the relay listed (the reported bug)") {
    FakeNet net;
    net.scripts[kA] = no_utf8;
    qr::test::FakeDns dns;
    dns.answers.hosts["relay2.example"] = qr::test::temp_fail("DNS temporary failure");
    Outcome o = run_walk(control_for(std::string("r;;") + kA + ":2525&relay2.example;;;tls=none"),
                         net, dns, utf8);
    CHECK(o.letters == "Z");
    CHECK(has(o.final, "(#4.4.1)"));
    CHECK(has(o.final, "relay2.example: DNS temporary failure"));
    CHECK_FALSE(has(o.final, "(#5.6.7)"));
  }
  SECTION("a host that refused the connect might offer it later: Z") {
    FakeNet net;
    net.scripts[kA] = no_utf8;  // B refuses connections
    qr::test::FakeDns dns;
    Outcome o =
        run_walk(control_for(std::string("r;;") + kA + "&" + kB + ";;;tls=none"), net, dns, utf8);
    CHECK(o.letters == "Z");
  }
}

TEST_CASE("walk: DNS verdicts of the destination's MX", "[walk][dns]") {
  qr::test::FakeDns dns;
  qr::MxAnswer null;
  null.status = qr::DnsStatus::NullMx;
  dns.answers.mx["example.org"] = null;
  SECTION("null MX: D whatever else the route lists, nothing connected") {
    FakeNet net;
    net.scripts[kA] = Script{};
    Outcome o = run_walk(control_for(std::string("r;;mx&") + kA + ";;;tls=none"), net, dns);
    CHECK(o.letters == "D");
    CHECK(o.final == "example.org does not accept mail (null MX). (#5.1.10)\n");
    CHECK(o.connects.empty());
  }
  SECTION("NXDOMAIN with a relay after it: the relay delivers") {
    FakeNet net;
    net.scripts[kA] = Script{};
    dns.answers.mx.clear();
    Outcome o = run_walk(control_for(std::string("r;;mx&") + kA + ";;;tls=none"), net, dns);
    CHECK(o.letters == "rK");
    CHECK(has(o.final, "MX for example.org: no such domain"));
  }
  SECTION("MX only, SERVFAIL: Z (#4.1.2) naming the route") {
    FakeNet net;
    qr::MxAnswer servfail;
    servfail.status = qr::DnsStatus::TempFail;
    servfail.error = "SERVFAIL";
    dns.answers.mx["example.org"] = servfail;
    Outcome o = run_walk(control_for("r;;mx;;;tls=none"), net, dns);
    CHECK(o.letters == "Z");
    CHECK(o.final == "Sorry, I couldn't find any host by that name. (#4.1.2)\nSERVFAIL\nroute=r\n");
  }
}

// SPEC §13: with control/dnssec-anchors, MX deliveries are `dane`; what
// DNSSEC says of each host decides its policy, and a bogus host is never
// connected to.
TEST_CASE("walk: DANE decisions per MX host", "[walk][dane]") {
  qr::test::FakeDns dns;
  qr::MxAnswer mx;
  mx.hosts = {{"mx-a.example.org", 10, {*qr::IpAddr::parse(kA)}, ""},
              {"mx-b.example.org", 20, {*qr::IpAddr::parse(kB)}, ""}};
  dns.answers.mx["example.org"] = mx;
  qr::Control c = control_for("r;;mx;;;");
  c.anchors = qr::DnssecAnchors{"control/dnssec-anchors", {"example.org. IN DS 1 13 2 00"}};
  const qr::Tlsa ee{3, 1, 1, std::vector<uint8_t>(32, 7)};
  const qr::Tlsa pkix{1, 1, 1, std::vector<uint8_t>(32, 7)};
  FakeNet net;
  net.scripts[kA] = Script{};
  net.scripts[kB] = Script{};
  SECTION("a bogus host is skipped unconnected; the next, insecure, is may") {
    dns.dnssec.hosts["mx-a.example.org"] = {qr::Security::Bogus, {}, {}, "bad signature"};
    Outcome o = run_walk(c, net, dns);
    CHECK(o.letters == "rK");
    CHECK(o.connects == std::vector<std::string>{std::string(kB) + " from default"});
    CHECK(has(o.final, "DNSSEC: mx-a.example.org is bogus: bad signature"));
    CHECK(o.delivered_to == "B");
  }
  SECTION("a bogus MX RRset: no host is used, Z") {
    dns.dnssec.mx = qr::Security::Bogus;
    Outcome o = run_walk(c, net, dns);
    CHECK(o.letters == "Z");
    CHECK(o.connects.empty());
    CHECK(has(o.final, "DNSSEC: bogus MX records of example.org"));
  }
  SECTION("usable TLSA and no STARTTLS: never plaintext; the next host is may") {
    dns.dnssec.hosts["mx-a.example.org"] = {qr::Security::Secure, {ee}, {"mx-a.example.org"}, ""};
    Outcome o = run_walk(c, net, dns);
    CHECK(o.letters == "rK");
    CHECK(has(o.final, "STARTTLS required by tls=dane but not offered"));
    CHECK(o.delivered_to == "B");
  }
  SECTION("secure TLSA records, none usable: TLS required, unchecked (encrypt)") {
    dns.dnssec.hosts["mx-a.example.org"] = {qr::Security::Secure, {pkix}, {"mx-a.example.org"}, ""};
    dns.dnssec.hosts["mx-b.example.org"] = {qr::Security::Secure, {pkix}, {"mx-b.example.org"}, ""};
    Outcome o = run_walk(c, net, dns);
    CHECK(o.letters == "Z");
    CHECK(has(o.final, "STARTTLS required by tls=encrypt but not offered"));
    CHECK(o.delivered_to.empty());
  }
  SECTION("an insecure MX RRset: no host look-ups, may") {
    dns.dnssec.mx = qr::Security::Insecure;
    dns.dnssec.hosts["mx-a.example.org"] = {qr::Security::Bogus, {}, {}, "never asked"};
    Outcome o = run_walk(c, net, dns);
    CHECK(o.letters == "rK");
    CHECK(o.delivered_to == "A");
    CHECK(dns.dnssec.asked == 1);
  }
  SECTION("no anchors: no DNSSEC look-up at all") {
    c.anchors.reset();
    dns.dnssec.hosts["mx-a.example.org"] = {qr::Security::Bogus, {}, {}, "never asked"};
    Outcome o = run_walk(c, net, dns);
    CHECK(o.letters == "rK");
    CHECK(o.delivered_to == "A");
    CHECK(dns.dnssec.asked == 0);
  }
}

TEST_CASE("give_up: the D-versus-Z rule and the attempt list (SPEC §4, §7, §10)",
          "[walk][report]") {
  using qr::Failure;
  const qr::AttemptLine a{"192.0.2.1:25", " from 10.0.0.1", "no SMTPUTF8"};
  const qr::AttemptLine b{"192.0.2.2:25", " from 10.0.0.1", "no SMTPUTF8"};
  const qr::Refused no_utf8_a{a, qr::Refusal::NoSmtpUtf8}, no_utf8_b{b, qr::Refusal::NoSmtpUtf8};
  SECTION("every attempt reached a server without SMTPUTF8: D, no local IP, no route name") {
    auto v = qr::give_up({no_utf8_a, no_utf8_b}, "r");
    CHECK(v.letter == qr::Letter::D);
    CHECK(v.text ==
          "The envelope is not ASCII and no server offers SMTPUTF8. (#5.6.7)\n"
          "192.0.2.1:25: no SMTPUTF8\n192.0.2.2:25: no SMTPUTF8\n");
  }
  SECTION("one host unreached (DNS for now): Z, local IPs and the route named") {
    auto v = qr::give_up(
        {no_utf8_a, qr::Unreached{{"relay2.example", "", "DNS temporary failure"}}}, "r");
    CHECK(v.letter == qr::Letter::Z);
    CHECK(v.text ==
          "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"
          "192.0.2.1:25 from 10.0.0.1: no SMTPUTF8\n"
          "relay2.example: DNS temporary failure\nroute=r\n");
  }
  SECTION("another refusal among them: Z") {
    auto v = qr::give_up({no_utf8_a, qr::Refused{b, qr::Refusal::Other}}, "r");
    CHECK(v.letter == qr::Letter::Z);
  }
  SECTION("nothing tried at all: Z") {
    CHECK(qr::give_up({}, "r").letter == qr::Letter::Z);
  }
  SECTION("lines capped at 400 bytes with ..., the list at 3000") {
    std::vector<Failure> many;
    for (int i = 0; i < 20; ++i)
      many.push_back(qr::Unreached{{"192.0.2.9:25", " from 10.0.0.1", std::string(1000, 'x')}});
    auto v = qr::give_up(many, "r");
    std::string list = qr::attempt_list(many, qr::Letter::Z);
    CHECK(list.size() <= qr::kMaxAttemptText + 4);
    CHECK(list.substr(list.size() - 4) == "...\n");
    std::string first = list.substr(0, list.find('\n'));
    CHECK(first.size() == qr::kMaxAttemptLine + 3 + std::string(" from 10.0.0.1").size());
    CHECK(first.substr(first.size() - 3) == "...");
  }
  SECTION("failed_before: for K and Z only") {
    CHECK(qr::failed_before({no_utf8_a}, qr::Letter::K) ==
          "Failed before this attempt:\n192.0.2.1:25 from 10.0.0.1: no SMTPUTF8\n");
    CHECK(qr::failed_before({no_utf8_a}, qr::Letter::D).empty());
    CHECK(qr::failed_before({}, qr::Letter::Z).empty());
  }
}
