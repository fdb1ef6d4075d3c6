// A whole SMTP session (lib/smtp/session.cc) over a socket pair, against a
// scripted server in a thread (tests/unit/scripted_server.h; SPEC §4, §6, §7).
#include "lib/smtp/session.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/scripted_server.h"

namespace {

using qr::test::Script;
using qr::test::ScriptedServer;
using qr::test::Seen;

struct Run {
  qr::SessionOutcome outcome;
  Seen seen;
};

Run run(Script script, qr::Envelope env = {"s@example.org", {"r@example.org"}},
        const qr::MessageSource* message = nullptr) {
  ScriptedServer server(std::move(script));
  Run out;
  {
    qr::Connection conn(qr::Fd(server.take_client()), 2);
    qr::SessionSettings s;
    s.helo = "client.test";
    s.peer = "192.0.2.1";
    s.tls = qr::TlsPolicy::None;
    auto msg = qr::MessageSource::from_bytes("Subject: t\n\nbody\n");
    out.outcome = qr::run_session(conn, s, env, message ? *message : msg);
  }  // closes the client's end: the server sees the end of the stream
  out.seen = server.seen();
  return out;
}

bool is_final_k(const qr::SessionOutcome& o) {
  auto* f = std::get_if<qr::Final>(&o);
  return f && f->letter == qr::Letter::K;
}
// The outcome's parts, or a test failure when it is the other kind.
const qr::Final& final_of(const qr::SessionOutcome& o) {
  REQUIRE(std::holds_alternative<qr::Final>(o));
  return std::get<qr::Final>(o);
}
const qr::NextPair& next_of(const qr::SessionOutcome& o) {
  REQUIRE(std::holds_alternative<qr::NextPair>(o));
  return std::get<qr::NextPair>(o);
}
// For INFO: what a NextPair said, or nothing.
std::string reason_of(const qr::SessionOutcome& o) {
  auto* n = std::get_if<qr::NextPair>(&o);
  return n ? n->reason : std::string();
}

}  // namespace

TEST_CASE("session: a well-behaved server gets the message, K", "[session]") {
  SECTION("pipelined, each reply in its own write") {
    auto r = run(Script{});
    CHECK(is_final_k(r.outcome));
    CHECK(r.seen.log.find("DOT\n") != std::string::npos);
  }
  SECTION("pipelined, the whole group's replies in one write (RFC 2920)") {
    Script sc;
    sc.batch = true;
    auto r = run(sc, {"s@example.org", {"a@example.org", "b@example.org", "c@example.org"}});
    INFO(reason_of(r.outcome));
    CHECK(is_final_k(r.outcome));
    CHECK(final_of(r.outcome).recipients.size() == 3);
    CHECK(r.seen.body == "Subject: t\n\nbody\n");
  }
  SECTION("lock-step, no PIPELINING") {
    Script sc;
    sc.ehlo = "250 test\r\n";
    auto r = run(sc);
    CHECK(is_final_k(r.outcome));
  }
}

// SPEC §7: a reply can only answer a command already sent. Bytes waiting
// before the body (or before a command) are a protocol error: the next pair,
// and never read as the answer to a later command.
TEST_CASE("session: bytes that arrive before their command are a protocol error", "[session]") {
  SECTION("354 and a fake 250 in one write, then 554 to the dot: never K") {
    Script sc;
    sc.data = "354 go\r\n250 fake\r\n";
    sc.dot = "554 no\r\n";
    auto r = run(sc);
    CHECK_FALSE(is_final_k(r.outcome));
    CHECK(std::holds_alternative<qr::NextPair>(r.outcome));
    CHECK(next_of(r.outcome).reason.find("protocol error") != std::string::npos);
    CHECK(next_of(r.outcome).reason.find("before the message was sent") != std::string::npos);
    CHECK(r.seen.log.find("DOT") == std::string::npos);  // the body never went out
  }
  SECTION("the same in lock-step mode") {
    Script sc;
    sc.ehlo = "250 test\r\n";
    sc.data = "354 go\r\n250 fake\r\n";
    sc.dot = "554 no\r\n";
    auto r = run(sc);
    CHECK(std::holds_alternative<qr::NextPair>(r.outcome));
    CHECK(r.seen.log.find("DOT") == std::string::npos);
  }
  SECTION("a pipelined group with one reply too many") {
    Script sc;
    sc.batch = true;
    sc.data = "354 go\r\n250 extra\r\n";
    auto r = run(sc);
    CHECK(std::holds_alternative<qr::NextPair>(r.outcome));
    CHECK(next_of(r.outcome).reason.find("protocol error") != std::string::npos);
  }
  SECTION("bytes sent with the greeting, before EHLO") {
    Script sc;
    sc.greeting = "220 test ESMTP\r\n250-test\r\n250 PIPELINING\r\n";
    auto r = run(sc);
    CHECK(std::holds_alternative<qr::NextPair>(r.outcome));
    CHECK(next_of(r.outcome).reason.find("EHLO: protocol error") == 0);
    CHECK(r.seen.log.empty());  // not even EHLO was sent
  }
  SECTION("an unsolicited reply after EHLO's, before MAIL, in lock-step mode") {
    Script sc;
    sc.ehlo = "250 test\r\n250 unsolicited\r\n";
    auto r = run(sc);
    CHECK(std::holds_alternative<qr::NextPair>(r.outcome));
    CHECK(next_of(r.outcome).reason.find("MAIL: protocol error") == 0);
    CHECK(r.seen.log == "C EHLO client.test\n");
  }
  SECTION("an unsolicited reply after MAIL's, before RCPT, in lock-step mode") {
    Script sc;
    sc.ehlo = "250 test\r\n";
    sc.mail = "250 ok\r\n250 fake for RCPT\r\n";
    sc.rcpt = "550 no such user\r\n";
    auto r = run(sc);
    CHECK(std::holds_alternative<qr::NextPair>(r.outcome));
    CHECK(next_of(r.outcome).reason.find("RCPT: protocol error") == 0);
  }
  SECTION("an unsolicited reply before the pipelined group") {
    Script sc;
    sc.ehlo = "250-test\r\n250 PIPELINING\r\n250 fake for MAIL\r\n";
    auto r = run(sc);
    CHECK(std::holds_alternative<qr::NextPair>(r.outcome));
    CHECK(next_of(r.outcome).reason.find("MAIL: protocol error") == 0);
    CHECK(r.seen.log == "C EHLO client.test\n");
  }
}

// SPEC §6: what goes between the angle brackets, lock-step and pipelined.
TEST_CASE("session: addresses are quoted on the wire", "[session][address]") {
  SECTION("lock-step, the null sender") {
    Script sc;
    sc.ehlo = "250 test\r\n";
    auto r = run(sc, {"", {"john smith@example.org", "x> NOTIFY=NEVER y@example.org"}});
    CHECK(is_final_k(r.outcome));
    CHECK(r.seen.log ==
          "C EHLO client.test\n"
          "C MAIL FROM:<>\n"
          "C RCPT TO:<\"john smith\"@example.org>\n"
          "C RCPT TO:<\"x> NOTIFY=NEVER y\"@example.org>\n"
          "C DATA\n"
          "DOT\n"
          "C QUIT\n");
  }
  SECTION("pipelined, a sender that needs quotes too") {
    auto r = run(Script{}, {"a> b@example.org", {"a@b@example.org", "#@[]"}});
    CHECK(is_final_k(r.outcome));
    CHECK(r.seen.log ==
          "C EHLO client.test\n"
          "C MAIL FROM:<\"a> b\"@example.org>\n"
          "C RCPT TO:<\"a@b\"@example.org>\n"
          "C RCPT TO:<#@[]>\n"
          "C DATA\n"
          "DOT\n"
          "C QUIT\n");
  }
}

// Issue 13: the body is read from the file while it is sent. A file that
// shrank since the facts were taken (or an I/O error) half-way through is a
// Z, and the connection ends without the dot (so the server drops the
// transaction) and without QUIT, which would be body text.
TEST_CASE("session: a message that cannot be read half-way is Z without the dot", "[session]") {
  char name[] = "/tmp/qr-session-XXXXXX";
  qr::Fd fd(::mkstemp(name));
  REQUIRE(fd.valid());
  ::unlink(name);
  std::string line = std::string(99, 'x') + "\n";
  std::string content;
  while (content.size() < (2u << 20)) content += line;
  REQUIRE(::write(fd.get(), content.data(), content.size()) == ssize_t(content.size()));
  REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
  auto msg = qr::MessageSource::from_fd(fd.get());
  REQUIRE(msg.ok());
  REQUIRE(::ftruncate(fd.get(), 1 << 20) == 0);
  auto r = run(Script{}, {"s@example.org", {"r@example.org"}}, &*msg);
  CHECK(std::holds_alternative<qr::Final>(r.outcome));
  CHECK(final_of(r.outcome).letter == qr::Letter::Z);
  CHECK(final_of(r.outcome).text ==
        "Unable to read message. (#4.3.0)\ncannot read the message: the file has shrunk\n");
  CHECK_FALSE(r.seen.body.empty());  // part of it went out
  CHECK(r.seen.body.size() < content.size());
  CHECK(r.seen.log.find("DOT") == std::string::npos);
  CHECK(r.seen.log.find("QUIT") == std::string::npos);
}
