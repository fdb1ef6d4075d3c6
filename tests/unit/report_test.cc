// The qmail byte protocol (SPEC §1, §10): framing, sanitizing, caps, and the
// texts administrators grep for, as vanilla qmail-remote 1.03 writes them.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "lib/report.h"
#include "tests/unit/report_fixtures.h"

namespace qr {
namespace {

using test::written;

}  // namespace

// SPEC §10: a certificate checked by DANE adds dane=ok to the line of a K
// or Z; a D (mailed to the sender) carries only remote= and tls=.
TEST_CASE("report: the route line names DANE when it checked the certificate", "[report][dane]") {
  RouteLine l{"mx",   "default", "mx1.example[192.0.2.1]:25", "TLSv1.3:TLS_AES_256_GCM_SHA384",
              "none", "dane=ok"};
  CHECK(route_line(Letter::K, l) ==
        "route=mx local=default remote=mx1.example[192.0.2.1]:25 "
        "tls=TLSv1.3:TLS_AES_256_GCM_SHA384 auth=none dane=ok\n");
  CHECK(route_line(Letter::D, l) ==
        "remote=mx1.example[192.0.2.1]:25 tls=TLSv1.3:TLS_AES_256_GCM_SHA384\n");
  l.mark.clear();
  CHECK(route_line(Letter::Z, l).find("dane") == std::string::npos);
}

TEST_CASE("report: recipient reports wait for the message report", "[report]") {
  using namespace std::string_literals;
  CHECK(written([](Report& r) {
          r.recipient(RcptLetter::Accepted, "");
          r.recipient(RcptLetter::Refused, "192.0.2.1 does not like recipient.\n");
        }) == "");  // nothing reaches qmail before the outcome is final
  CHECK(written([](Report& r) {
          r.recipient(RcptLetter::Accepted, "");
          r.recipient(RcptLetter::Deferred, "x\n");
          r.message(Letter::K, "ok\n");
          r.message(Letter::Z, "second outcome\n");  // never written: the first is final
          r.recipient(RcptLetter::Accepted, "late");
        }) == "r\0sx\n\0Kok\n\0"s);
}

TEST_CASE("report: non-printable bytes become ?, CRs are dropped", "[report]") {
  const struct {
    std::string in, out;
  } cases[] = {
      {"plain text.\n", "plain text.\n"},
      {"a\r\nb", "a\nb"},
      {std::string("nul\0x", 5), "nul?x"},
      {"tab\there", "tab?here"},
      {"8bit \xc3\xa9", "8bit ??"},
      {"del\x7f", "del?"},
      {"", ""},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(sanitize(c.in) == c.out);
  }
}

TEST_CASE("report: server text is capped at 5000 bytes, a cut marked ...", "[report]") {
  std::string reply = "554 " + std::string(10000, 'x');
  std::string said = remote_said(reply);
  CHECK(said.rfind("Remote host said: 554 xxx", 0) == 0);
  // SPEC §10: a reply cut at the cap ends with "...".
  CHECK(said.size() == std::string("Remote host said: ").size() + 5000 + 3 + 1);
  CHECK(said.substr(said.size() - 4) == "...\n");
  // The parser had already cut it: its flag says so.
  CHECK(remote_said("554 xxx", true) == "Remote host said: 554 xxx...\n");
  CHECK(remote_said("250 ok") == "Remote host said: 250 ok\n");
  CHECK(remote_said("250 ok\n") == "Remote host said: 250 ok\n");
}

TEST_CASE("report: vanilla qmail-remote's texts", "[report]") {
  // From qmail-remote.c 1.03, with the IP vanilla's outhost() prints.
  CHECK(texts::kUsage == "I (qmail-remote) was invoked improperly. (#5.3.5)\n");
  CHECK(texts::kPartialLine ==
        "SMTP cannot transfer messages with partial final lines. (#5.6.2)\n");
  CHECK(texts::kNoConnection == "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n");
  CHECK(texts::kDnsTemp == "Sorry, I couldn't find any host by that name. (#4.1.2)\n");
  CHECK(texts::kNoMailExchanger ==
        "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)\n");
  CHECK(texts::accepted("192.0.2.1") == "192.0.2.1 accepted message.\n");
  CHECK(texts::sender_rejected("192.0.2.1") == "Connected to 192.0.2.1 but sender was rejected.\n");
  CHECK(texts::recipient_rejected("192.0.2.1") == "192.0.2.1 does not like recipient.\n");
  CHECK(texts::giving_up("192.0.2.1") == "Giving up on 192.0.2.1.\n");
  CHECK(texts::data_failed("192.0.2.1") == "192.0.2.1 failed on DATA command.\n");
  CHECK(texts::message_failed("192.0.2.1") == "192.0.2.1 failed after I sent the message.\n");
  CHECK(texts::connection_died("192.0.2.1") ==
        "Connected to 192.0.2.1 but connection died. Possible duplicate! (#4.4.2)\n");
  CHECK(texts::no_such_domain("nx.example") ==
        "Sorry, I couldn't find any host named nx.example. (#5.1.2)\n");
  CHECK(texts::null_mx("n.example") == "n.example does not accept mail (null MX). (#5.1.10)\n");
}

}  // namespace qr
