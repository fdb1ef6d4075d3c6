// The report's secret filter (SPEC §1): every form in which a password or
// an AUTH line we sent could come back from a server, in any text a report
// carries.
#include "lib/redact.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "lib/auth/auth.h"
#include "lib/auth/base64.h"
#include "lib/report.h"
#include "tests/unit/report_fixtures.h"

namespace qr {
namespace {

const std::string kPass = "S3cr3tPa55";
const std::string kToken = plain_initial_response("alice", kPass);  // AUTH PLAIN's

Secrets session_secrets() {
  Secrets s;
  s.add(kPass);
  s.add(kToken);
  return s;
}

// True when no form of the password or the token is left in `text`.
bool clean(const std::string& text) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  std::string sq = squeeze(text);
  for (const std::string& secret : {kPass, kToken}) {
    std::string l;
    for (char c : secret)
      l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (lower.find(l) != std::string::npos) return false;
    if (sq.find(squeeze(secret)) != std::string::npos) return false;
  }
  return true;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("redact: each form of issue 11 is withheld, the rest is kept", "[redact]") {
  const Secrets secrets = session_secrets();
  const std::string W(Secrets::kWithheld);
  const struct {
    const char* what;
    std::string in, out;
  } cases[] = {
      {"no secret: unchanged",
       "Connected to 192.0.2.1 but sender was rejected.\nRemote host said: 550 no\n",
       "Connected to 192.0.2.1 but sender was rejected.\nRemote host said: 550 no\n"},
      {"the PLAIN token echoed alone", "Remote host said: 535 bad credentials " + kToken + "\n",
       "Remote host said: 535 " + W + "\n"},
      {"the token in another letter case", "Remote host said: 535 " + upper(kToken) + "\n",
       "Remote host said: 535 " + W + "\n"},
      {"the password in another letter case",
       "Remote host said: 553 5.7.1 password " + upper(kPass) + "\n",
       "Remote host said: 553 " + W + "\n"},
      {"the password as the server sent it to MAIL (a D report)",
       "Connected to 192.0.2.1 but sender was rejected.\nRemote host said: 553 5.7.1 password " +
           kPass + " not allowed\n",
       "Connected to 192.0.2.1 but sender was rejected.\nRemote host said: 553 " + W + "\n"},
      {"the password split by CRs (dropped by sanitize before the filter)",
       "Remote host said: 535 S\r3\rc\rr3tPa55\n", "Remote host said: 535 " + W + "\n"},
      {"the password split by spaces and quotes",
       "Remote host said: 535 you sent \"S3c\" \"r3t\" \"Pa55\"\n",
       "Remote host said: 535 " + W + "\n"},
      {"inside a protocol-error excerpt, in an attempt line",
       "192.0.2.1:2525 from default: AUTH PLAIN: protocol error: malformed reply line \"5x5 " +
           kToken + "\"\n",
       "192.0.2.1:2525 from default: AUTH PLAIN: protocol error: " + W + "\n"},
      {"a secret split over two lines taints both",
       "Remote host said: 535-your password S3cr3t\n535 Pa55 is wrong\n",
       "Remote host said: 535 " + W + "\n535 " + W + "\n"},
      {"the first part of the token at a cut",
       "192.0.2.1:25 from default: AUTH PLAIN refused: 535 " + kToken.substr(0, 9) + "...\n",
       "192.0.2.1:25 from default: AUTH PLAIN refused: 535 " + W + "\n"},
      {"our own words before the secret are kept up to the last ': '", "a: b: c " + kPass,
       "a: b: " + W},
      {"a line with the secret and no ': ' at all", kPass + " x\nnext\n", W + "\nnext\n"},
      {"a reply code that is part of the secret is not kept", "Remote host said: S3cr3tPa55\n",
       "Remote host said: " + W + "\n"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    std::string got = secrets.redact(sanitize(c.in));
    CHECK(got == c.out);
    CHECK(clean(got));
  }
}

TEST_CASE("redact: a cut line keeps text that only looks like the secret's start", "[redact]") {
  Secrets s;
  s.add(kPass);
  // Three characters of the password at a cut: too few to count.
  CHECK(s.redact("Remote host said: 550 no S3c...") == "Remote host said: 550 no S3c...");
  // The same text without the cut marker is not a cut.
  CHECK(s.redact("Remote host said: 550 no S3cr") == "Remote host said: 550 no S3cr");
}

TEST_CASE("redact: short and punctuation-only secrets", "[redact]") {
  Secrets s;
  s.add("a!");  // too short to look for squeezed, still found as written
  CHECK(s.redact("ok\nsaid A! here") == "ok\n" + std::string(Secrets::kWithheld));
  Secrets none;
  none.add("");
  CHECK(none.empty());
  CHECK(none.redact("anything") == "anything");
}

TEST_CASE("report: every text passes the filter (SPEC §1)", "[redact][report]") {
  std::string out = test::written([](Report& r) {
    r.secrets().add(kPass);
    r.secrets().add(kToken);
    r.recipient(RcptLetter::Refused,
                "192.0.2.1 does not like recipient.\nRemote host said: 550 " + kPass + "\n");
    r.message(Letter::D,
              "Connected to 192.0.2.1 but sender was rejected.\nRemote host said: 553 "
              "S\r3\rc\rr\r3\rt\rP\ra\r5\r5\n");
  });
  CHECK(clean(out));
  CHECK(out.find("Remote host said: 550 [withheld") != std::string::npos);
  CHECK(out.find("Remote host said: 553 [withheld") != std::string::npos);
}

}  // namespace qr
