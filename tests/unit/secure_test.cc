// The AUTH exchange of lib/smtp/secure.cc over a socket pair (SPEC §9): the
// test plays a hostile server whose replies are all written up front, then
// looks at every byte the client sent.
#include "lib/smtp/secure.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

namespace {

struct AuthRun {
  qr::Result<std::string> result = qr::Error{"not run"};
  std::string sent;  // everything the client wrote
};

// authenticate() with `mech` offered, LOGIN allowed in cleartext, against a
// server whose replies are `replies`; the server side is closed after them
// only when asked, so a client waiting for more times out (1 s).
AuthRun run_auth(const std::string& mech, const std::string& replies) {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  qr::Fd peer(sv[1]);
  qr::Connection conn(qr::Fd(sv[0]), 1);
  REQUIRE(::write(peer.get(), replies.data(), replies.size()) ==
          static_cast<ssize_t>(replies.size()));
  qr::Capabilities caps;
  caps.auth = {mech};
  qr::SessionSettings s;
  s.user = "testuser";
  s.pass = "testpass-S3cret";
  s.auth_cleartext = true;
  AuthRun out;
  out.result = qr::authenticate(conn, caps, false, s);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(peer.get(), buf, sizeof buf)) > 0)
    out.sent.append(buf, static_cast<size_t>(n));
  return out;
}

const char* kPass64 = "dGVzdHBhc3MtUzNjcmV0";  // base64("testpass-S3cret")

}  // namespace

TEST_CASE("AUTH: a bad 334 is answered with *, and nothing follows it", "[auth][secure]") {
  SECTION("LOGIN, then a hostile 334 Password: after the *") {
    auto r = run_auth("LOGIN", "334 !!not=base64!!\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n");
    CHECK(r.sent == "AUTH LOGIN\r\n*\r\n");
    CHECK(r.sent.find(kPass64) == std::string::npos);
    REQUIRE_FALSE(r.result.ok());
    CHECK(r.result.error().find("cancelled") != std::string::npos);
  }
  SECTION("LOGIN, a 235 to the * is no success") {
    auto r = run_auth("LOGIN", "334 !!not=base64!!\r\n235 ok\r\n");
    CHECK(r.sent == "AUTH LOGIN\r\n*\r\n");
    CHECK_FALSE(r.result.ok());
  }
  SECTION("LOGIN, bad second 334: the user went, the password did not") {
    auto r = run_auth("LOGIN", "334 VXNlcm5hbWU6\r\n334 !!bad\r\n334 UGFzc3dvcmQ6\r\n");
    CHECK(r.sent == "AUTH LOGIN\r\ndGVzdHVzZXI=\r\n*\r\n");
    CHECK_FALSE(r.result.ok());
  }
  SECTION("CRAM-MD5, then another 334 after the *") {
    auto r = run_auth("CRAM-MD5", "334 @@@\r\n334 PDEyMzQ+\r\n235 ok\r\n");
    CHECK(r.sent == "AUTH CRAM-MD5\r\n*\r\n");
    CHECK_FALSE(r.result.ok());
  }
  SECTION("the usual 501 to the *") {
    auto r = run_auth("LOGIN", "334 !!\r\n501 cancelled\r\n");
    CHECK(r.sent == "AUTH LOGIN\r\n*\r\n");
    REQUIRE_FALSE(r.result.ok());
    CHECK(r.result.error().find("testpass") == std::string::npos);
  }
  SECTION("a good LOGIN exchange is unchanged") {
    auto r = run_auth("LOGIN", "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n");
    CHECK(r.sent == std::string("AUTH LOGIN\r\ndGVzdHVzZXI=\r\n") + kPass64 + "\r\n");
    REQUIRE(r.result.ok());
    CHECK(*r.result == "LOGIN");
  }
}
