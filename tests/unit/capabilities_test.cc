// EHLO keywords (RFC 5321 §4.1.1.1, RFC 2920, RFC 1870, RFC 4954) as a table.
#include "lib/smtp/capabilities.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

struct CapCase {
  const char* name;
  const char* text;  // the reply text as ReplyParser keeps it
  bool pipelining, starttls, eightbitmime, smtputf8, size;
  uint64_t size_limit;
  std::vector<std::string> auth;
};

}  // namespace

TEST_CASE("Capabilities from EHLO", "[capabilities]") {
  const std::vector<CapCase> cases = {
      {"everything",
       "250-mx.example.org Hello\n250-PIPELINING\n250-SIZE 10240000\n250-8BITMIME\n"
       "250-SMTPUTF8\n250-STARTTLS\n250 AUTH PLAIN LOGIN",
       true,
       true,
       true,
       true,
       true,
       10240000,
       {"PLAIN", "LOGIN"}},
      {"greeting only", "250 mx.example.org", false, false, false, false, false, 0, {}},
      // The first line is the domain, even when it looks like a keyword.
      {"first line is not a keyword", "250 PIPELINING", false, false, false, false, false, 0, {}},
      {"lower case",
       "250-mx\n250-pipelining\n250-starttls\n250 Size 42",
       true,
       true,
       false,
       false,
       true,
       42,
       {}},
      {"old AUTH= form",
       "250-mx\n250 AUTH=LOGIN PLAIN",
       false,
       false,
       false,
       false,
       false,
       0,
       {"LOGIN", "PLAIN"}},
      {"both AUTH forms, no duplicates",
       "250-mx\n250-AUTH login cram-md5\n250 AUTH=LOGIN",
       false,
       false,
       false,
       false,
       false,
       0,
       {"LOGIN", "CRAM-MD5"}},
      {"AUTH without mechanisms", "250-mx\n250 AUTH", false, false, false, false, false, 0, {}},
      // RFC 1870 §4: SIZE without a number, or 0, means no fixed limit.
      {"SIZE without number", "250-mx\n250 SIZE", false, false, false, false, true, 0, {}},
      {"SIZE 0", "250-mx\n250 SIZE 0", false, false, false, false, true, 0, {}},
      {"SIZE garbage", "250-mx\n250 SIZE 12k", false, false, false, false, true, 0, {}},
      {"SIZE overflow",
       "250-mx\n250 SIZE 99999999999999999999",
       false,
       false,
       false,
       false,
       true,
       0,
       {}},
      {"near-miss keywords",
       "250-mx\n250-PIPELININGX\n250-XSTARTTLS\n250 8BITMIMEX",
       false,
       false,
       false,
       false,
       false,
       0,
       {}},
      {"extra spaces",
       "250-mx\n250-SIZE   1000\n250  PIPELINING",
       true,
       false,
       false,
       false,
       true,
       1000,
       {}},
      {"short lines", "250-mx\n250-\n250", false, false, false, false, false, 0, {}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    qr::Reply r{250, c.text};
    auto caps = qr::Capabilities::from_ehlo(r);
    CHECK(caps.pipelining == c.pipelining);
    CHECK(caps.starttls == c.starttls);
    CHECK(caps.eightbitmime == c.eightbitmime);
    CHECK(caps.smtputf8 == c.smtputf8);
    CHECK(caps.size == c.size);
    CHECK(caps.size_limit == c.size_limit);
    CHECK(caps.auth == c.auth);
  }
}

TEST_CASE("has_auth is case-insensitive", "[capabilities]") {
  auto caps = qr::Capabilities::from_ehlo({250, "250-mx\n250 AUTH Plain CRAM-MD5"});
  CHECK(caps.has_auth("PLAIN"));
  CHECK(caps.has_auth("plain"));
  CHECK(caps.has_auth("cram-md5"));
  CHECK_FALSE(caps.has_auth("LOGIN"));
}

TEST_CASE("a line cut by the 5000-byte text cap is ignored", "[capabilities]") {
  // The reply was "... 250 SIZE 12345" but only "250 SIZE 12" was kept: a
  // limit of 12 would refuse every message (SPEC §7), so the fragment counts
  // for nothing. Lines before it still count.
  std::string head = "250-mx\n250-PIPELINING\n250-X-FILLER ";
  std::string tail = "\n250 SIZE 12";
  std::string text = head + std::string(5000 - head.size() - tail.size(), 'f') + tail;
  REQUIRE(text.size() == qr::ReplyParser::kMaxText);
  auto caps = qr::Capabilities::from_ehlo({250, text});
  CHECK(caps.pipelining);
  CHECK_FALSE(caps.size);
  CHECK(caps.size_limit == 0);
}
