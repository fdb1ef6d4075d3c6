// SMTP AUTH building blocks (SPEC §9): base64, PLAIN, LOGIN, CRAM-MD5 and the
// choice of mechanism. Expected values come from the RFCs or were worked out
// by hand (bit by bit for the base64 cases).
#include <catch2/catch.hpp>

#include "lib/auth/auth.h"
#include "lib/auth/base64.h"

using namespace qr;
using namespace std::string_literals;

TEST_CASE("base64_encode: RFC 4648 section 10 vectors", "[auth]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  // High bytes must not sign-extend: 0xFF 0xFE 0xFD -> 111111 111111 111011 111101.
  CHECK(base64_encode("\xff\xfe\xfd") == "//79");
}

TEST_CASE("base64_decode: strict table", "[auth]") {
  struct Case {
    std::string text;
    bool ok;
    std::string bytes;
  };
  const Case cases[] = {
      // RFC 4648 §10, and the empty text.
      {"", true, ""},
      {"Zg==", true, "f"},
      {"Zm8=", true, "fo"},
      {"Zm9v", true, "foo"},
      {"Zm9vYmFy", true, "foobar"},
      {"//79", true, "\xff\xfe\xfd"},
      {"AA==", true, "\0"s},
      // Exim's LOGIN challenges.
      {"VXNlcm5hbWU6", true, "Username:"},
      {"UGFzc3dvcmQ6", true, "Password:"},
      // Characters outside the alphabet (URL-safe alphabet included).
      {"Zm9*", false, ""},
      {"Zm-v", false, ""},
      {"Zm_v", false, ""},
      {"Zm9v\x80\x80\x80\x80", false, ""},
      // Missing padding.
      {"Zg", false, ""},
      {"Zm8", false, ""},
      // Bad padding: too much, in the middle, alone, after data quanta.
      {"Zg===", false, ""},
      {"Z===", false, ""},
      {"====", false, ""},
      {"Z=g=", false, ""},
      {"Zg==Zm9v", false, ""},
      {"Zm9v=", false, ""},
      // Non-zero bits before the padding: "Zh==" would be 'f' with junk bits.
      {"Zh==", false, ""},
      {"Zm9=", false, ""},
      // Whitespace and line ends anywhere.
      {" Zm9v", false, ""},
      {"Zm9v ", false, ""},
      {"Zm 9v", false, ""},
      {"Zm9v\r\n", false, ""},
      {"Zm9v\n", false, ""},
      {"Zm9v\t", false, ""},
      // Trailing garbage after a complete text.
      {"Zm9vx", false, ""},
      // A NUL inside.
      {"Zm9v\0AAA"s, false, ""},
  };
  for (const auto& c : cases) {
    INFO("text: " << c.text);
    auto r = base64_decode(c.text);
    REQUIRE(r.ok() == c.ok);
    if (c.ok) CHECK(*r == c.bytes);
  }
}

TEST_CASE("base64 round-trips every byte value", "[auth]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  for (size_t n = 0; n <= all.size(); n += 37) {
    auto r = base64_decode(base64_encode(all.substr(0, n)));
    REQUIRE(r.ok());
    CHECK(*r == all.substr(0, n));
  }
}

TEST_CASE("PLAIN initial response, empty authzid (RFC 4616)", "[auth]") {
  // "\0test\0test" = 00 74 65 | 73 74 00 | 74 65 73 | 74, worked by hand:
  // 000000 000111 010001 100101 -> A H R l; 011100 110111 010000 000000 -> c 3 Q A;
  // 011101 000110 010101 110011 -> d G V z; 011101 00(0000) -> d A = =.
  CHECK(plain_initial_response("test", "test") == "AHRlc3QAdGVzdA==");
  auto decoded = base64_decode(plain_initial_response("tim", "tanstaaftanstaaf"));
  REQUIRE(decoded.ok());
  CHECK(*decoded == "\0tim\0tanstaaftanstaaf"s);
  CHECK(auth_command(Mechanism::Plain, "test", "test") == "AUTH PLAIN AHRlc3QAdGVzdA==");
  CHECK(auth_command(Mechanism::Login, "test", "test") == "AUTH LOGIN");
  CHECK(auth_command(Mechanism::CramMd5, "test", "test") == "AUTH CRAM-MD5");
}

TEST_CASE("LOGIN answers", "[auth]") {
  // Exim's challenges; answers by position, base64 of the user and password.
  auto user = login_response("VXNlcm5hbWU6", "test");
  REQUIRE(user.ok());
  CHECK(*user == "dGVzdA==");
  auto pass = login_response("UGFzc3dvcmQ6", "foobar");
  REQUIRE(pass.ok());
  CHECK(*pass == "Zm9vYmFy");
  // Other wordings are accepted: the text is not compared.
  CHECK(login_response("VXNlciBOYW1l", "test").ok());  // "User Name"
  CHECK(login_response("", "test").ok());              // empty challenge
  // A challenge that is not base64: the caller cancels with "*".
  CHECK_FALSE(login_response("Username:", "test").ok());
  CHECK_FALSE(login_response("VXNlcm5hbWU", "test").ok());
  CHECK(kAuthCancel == "*");
}

TEST_CASE("CRAM-MD5: the RFC 2195 example", "[auth]") {
  // RFC 2195 §2: the challenge "<1896.697170952@postoffice.reston.mci.net>",
  // user "tim", secret "tanstaaftanstaaf", digest b913a602c7eda7a495b4e6e7334d3890.
  const char* challenge = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
  auto decoded = base64_decode(challenge);
  REQUIRE(decoded.ok());
  CHECK(*decoded == "<1896.697170952@postoffice.reston.mci.net>");
  auto r = cram_md5_response(challenge, "tim", "tanstaaftanstaaf");
  REQUIRE(r.ok());
  CHECK(*r == "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  auto text = base64_decode(*r);
  REQUIRE(text.ok());
  CHECK(*text == "tim b913a602c7eda7a495b4e6e7334d3890");
}

TEST_CASE("CRAM-MD5: a bad challenge is an error", "[auth]") {
  CHECK_FALSE(cram_md5_response("<1896.697170952@postoffice>", "tim", "x").ok());
  CHECK_FALSE(
      cram_md5_response("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ", "tim", "x")
          .ok());
}

TEST_CASE("choose_mechanism: SPEC §9 order, cleartext rule of §3.1", "[auth]") {
  using V = std::vector<std::string>;
  using M = std::optional<Mechanism>;
  struct Case {
    V offered;
    bool tls, cleartext;
    M want;
  };
  const Case cases[] = {
      {{"PLAIN", "LOGIN", "CRAM-MD5"}, true, false, Mechanism::Plain},
      {{"CRAM-MD5", "LOGIN", "PLAIN"}, true, false, Mechanism::Plain},  // our order, not theirs
      {{"LOGIN", "CRAM-MD5"}, true, false, Mechanism::Login},
      {{"CRAM-MD5"}, true, false, Mechanism::CramMd5},
      {{"plain"}, true, false, Mechanism::Plain},  // case-insensitive (RFC 4954 §3)
      // Without TLS: PLAIN and LOGIN only with auth-cleartext=yes.
      {{"PLAIN", "LOGIN", "CRAM-MD5"}, false, false, Mechanism::CramMd5},
      {{"PLAIN", "LOGIN"}, false, false, std::nullopt},
      {{"PLAIN", "LOGIN"}, false, true, Mechanism::Plain},
      {{"LOGIN"}, false, true, Mechanism::Login},
      {{"CRAM-MD5"}, false, false, Mechanism::CramMd5},
      // Nothing we have.
      {{}, true, true, std::nullopt},
      {{"GSSAPI", "DIGEST-MD5", "XOAUTH2", "SCRAM-SHA-256"}, true, true, std::nullopt},
      {{"PLAINX", "CRAM-MD5-PLUS"}, true, true, std::nullopt},
  };
  for (const auto& c : cases) {
    INFO("offered " << c.offered.size() << " tls " << c.tls << " cleartext " << c.cleartext);
    CHECK(choose_mechanism(c.offered, c.tls, c.cleartext) == c.want);
  }
  CHECK(std::string(mechanism_name(Mechanism::CramMd5)) == "CRAM-MD5");
}
