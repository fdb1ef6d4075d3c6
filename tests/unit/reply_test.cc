// Reply parsing (RFC 5321 §4.2, SPEC §7) as a table, then read_reply over a
// real socket pair.
#include "lib/smtp/reply.h"

#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using qr::ReplyParser;
using State = qr::ReplyParser::State;

namespace {

struct ParseCase {
  const char* name;
  std::vector<std::string> lines;
  State last;        // state after the last line
  int code;          // when Done
  std::string text;  // when Done
};

State feed_all(ReplyParser& p, const std::vector<std::string>& lines) {
  State s = State::More;
  for (size_t i = 0; i < lines.size(); ++i) {
    s = p.feed(lines[i]);
    // Every line but the last must ask for more.
    if (i + 1 < lines.size()) REQUIRE(s == State::More);
  }
  return s;
}

}  // namespace

TEST_CASE("ReplyParser table", "[reply]") {
  const std::vector<ParseCase> cases = {
      {"single line", {"250 OK"}, State::Done, 250, "250 OK"},
      {"greeting", {"220 mx.example.org ESMTP"}, State::Done, 220, "220 mx.example.org ESMTP"},
      {"multi-line",
       {"250-mx.example.org", "250-PIPELINING", "250 SIZE 100"},
       State::Done,
       250,
       "250-mx.example.org\n250-PIPELINING\n250 SIZE 100"},
      // RFC 5321 §4.2 grammar: Reply-code [ SP textstring ] CRLF.
      {"code alone", {"354"}, State::Done, 354, "354"},
      {"empty continuation text", {"250-", "250 ok"}, State::Done, 250, "250-\n250 ok"},
      {"lowest code", {"200 x"}, State::Done, 200, "200 x"},
      {"highest code", {"599 x"}, State::Done, 599, "599 x"},
      {"temporary", {"421 4.3.2 shutting down"}, State::Done, 421, "421 4.3.2 shutting down"},
      {"differing codes", {"250-a", "251 b"}, State::Bad, 0, ""},
      {"garbage", {"hello"}, State::Bad, 0, ""},
      {"empty line", {""}, State::Bad, 0, ""},
      {"short code", {"25 ok"}, State::Bad, 0, ""},
      {"two digits alone", {"25"}, State::Bad, 0, ""},
      {"four digits", {"2500 ok"}, State::Bad, 0, ""},
      {"no separator", {"250ok"}, State::Bad, 0, ""},
      {"leading space", {" 250 ok"}, State::Bad, 0, ""},
      {"letter in code", {"2x0 ok"}, State::Bad, 0, ""},
      {"code 199", {"199 x"}, State::Bad, 0, ""},
      {"code 100", {"100 x"}, State::Bad, 0, ""},
      {"code 600", {"600 x"}, State::Bad, 0, ""},
      {"code 000", {"000 x"}, State::Bad, 0, ""},
      {"bad continuation", {"250-a", "250x b"}, State::Bad, 0, ""},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    ReplyParser p;
    State s = feed_all(p, c.lines);
    CHECK(s == c.last);
    if (c.last == State::Done) {
      CHECK(p.reply().code == c.code);
      CHECK(p.reply().text == c.text);
    } else {
      CHECK_FALSE(p.error().empty());
    }
  }
}

TEST_CASE("ReplyParser keeps the first 5000 bytes of text", "[reply]") {
  SECTION("one long line") {
    std::string line = "250 " + std::string(5996, 'x');
    ReplyParser p;
    REQUIRE(p.feed(line) == State::Done);
    CHECK(p.reply().text.size() == 5000);
    CHECK(p.reply().text == line.substr(0, 5000));
    CHECK(p.reply().truncated);  // SPEC §10: the report marks the cut
  }
  SECTION("a reply that fits is not marked") {
    ReplyParser p;
    REQUIRE(p.feed("250-" + std::string(2000, 'a')) == State::More);
    REQUIRE(p.feed("250 " + std::string(2000, 'b')) == State::Done);
    CHECK_FALSE(p.reply().truncated);
  }
  SECTION("a line that filled the connection's keep buffer may have been cut") {
    ReplyParser p;
    REQUIRE(p.feed("550-" + std::string(qr::Connection::kKeep - 4, 'a')) == State::More);
    REQUIRE(p.feed("550 x") == State::Done);
    CHECK(p.reply().truncated);
  }
  SECTION("lines joined by LF, cut inside the third") {
    std::string l1 = "250-" + std::string(1996, 'a');  // 2000 bytes
    std::string l2 = "250-" + std::string(1996, 'b');  // 2000 bytes
    std::string l3 = "250 " + std::string(1996, 'c');
    ReplyParser p;
    REQUIRE(p.feed(l1) == State::More);
    REQUIRE(p.feed(l2) == State::More);
    REQUIRE(p.feed(l3) == State::Done);
    // 2000 + 1 + 2000 + 1 = 4002, so 998 bytes of the third line fit.
    CHECK(p.reply().text == l1 + "\n" + l2 + "\n" + l3.substr(0, 998));
    CHECK(p.reply().truncated);
  }
}

TEST_CASE("ReplyParser line cap", "[reply]") {
  SECTION("1000 lines are allowed") {
    ReplyParser p;
    for (int i = 0; i < 999; ++i) REQUIRE(p.feed("250-x") == State::More);
    CHECK(p.feed("250 x") == State::Done);
  }
  SECTION("the 1001st line is an error") {
    ReplyParser p;
    for (int i = 0; i < 1000; ++i) REQUIRE(p.feed("250-x") == State::More);
    CHECK(p.feed("250 x") == State::Bad);
    CHECK(p.error().find("1000") != std::string::npos);
  }
}

namespace {

// A connection to a socket pair; the test plays the server on `peer`.
struct Wire {
  qr::Fd peer;
  std::unique_ptr<qr::Connection> conn;
  explicit Wire(unsigned timeout_s = 5) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    conn = std::make_unique<qr::Connection>(qr::Fd(sv[0]), timeout_s);
    peer = qr::Fd(sv[1]);
  }
  // Sends from another thread, so a write larger than the socket buffer
  // cannot block the reader; the peer end is closed after when asked.
  std::thread send(std::string bytes, bool close_after = false) {
    return std::thread([this, b = std::move(bytes), close_after] {
      qr::PlainStream s(peer.get());
      (void)s.write_all(b.data(), b.size(), 5);
      if (close_after) peer.reset();
    });
  }
};

}  // namespace

TEST_CASE("read_reply over a socket", "[reply]") {
  SECTION("CRLF and bare LF line ends, two replies in a row") {
    Wire w;
    w.send("220 hi there\r\n250-a\n250-b\r\n250 c\n").join();
    auto r1 = qr::read_reply(*w.conn);
    REQUIRE(r1.ok());
    CHECK(r1->code == 220);
    CHECK(r1->text == "220 hi there");
    auto r2 = qr::read_reply(*w.conn);
    REQUIRE(r2.ok());
    CHECK(r2->code == 250);
    CHECK(r2->text == "250-a\n250-b\n250 c");
  }
  SECTION("a 1 MB line is kept to 5000 bytes and the stream stays in step") {
    Wire w;
    std::string big = "550 " + std::string(1000000, 'x') + "\r\n";
    auto t = w.send(big + "250 next\r\n");
    auto r1 = qr::read_reply(*w.conn);
    auto r2 = qr::read_reply(*w.conn);
    t.join();
    REQUIRE(r1.ok());
    CHECK(r1->code == 550);
    CHECK(r1->text == big.substr(0, 5000));
    REQUIRE(r2.ok());
    CHECK(r2->text == "250 next");
  }
  SECTION("a line of more than 1 MiB without LF is an error") {
    Wire w;
    auto t = w.send("250 " + std::string(qr::Connection::kMaxLine, 'x'));
    auto r = qr::read_reply(*w.conn);
    w.conn.reset();  // the writer may be stuck on a full buffer: unblock it
    t.join();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("longer than 1048576") != std::string::npos);
  }
  SECTION("end of stream inside a line or a multi-line reply") {
    for (const char* bytes : {"250 partial", "250-first\r\n", ""}) {
      INFO(bytes);
      Wire w;
      w.send(bytes, true).join();
      auto r = qr::read_reply(*w.conn);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error() == "connection closed by server");
    }
  }
  SECTION("a malformed reply is a protocol error") {
    Wire w;
    w.send("hello\r\n").join();
    auto r = qr::read_reply(*w.conn);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().rfind("protocol error: ", 0) == 0);
  }
  SECTION("silence times out after timeout_s") {
    Wire w(1);
    auto t0 = std::chrono::steady_clock::now();
    auto r = qr::read_reply(*w.conn);
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "timed out after 1 s");
    CHECK(secs >= 0.9);
    CHECK(secs < 2.5);
  }
}

TEST_CASE("Reply classes: only 2yz completes a command", "[reply]") {
  // RFC 5321 §4.2.1. A 354 to the final dot once counted as positive, which
  // would have reported K for a message the server never accepted.
  const struct {
    int code;
    bool positive, intermediate, temporary, permanent;
  } cases[] = {
      {200, true, false, false, false}, {250, true, false, false, false},
      {299, true, false, false, false}, {334, false, true, false, false},
      {354, false, true, false, false}, {421, false, false, true, false},
      {451, false, false, true, false}, {550, false, false, false, true},
      {599, false, false, false, true},
  };
  for (const auto& c : cases) {
    INFO(c.code);
    qr::Reply r;
    r.code = c.code;
    CHECK(r.positive() == c.positive);
    CHECK(r.intermediate() == c.intermediate);
    CHECK(r.temporary() == c.temporary);
    CHECK(r.permanent() == c.permanent);
  }
}
