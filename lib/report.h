// The qmail byte protocol (SPEC §1, §10): the only code that writes fd 1.
//
// Recipient reports ('r', 'h', 's') come first, in argument order, then one
// message report ('K', 'Z', 'D'). Each is a letter, text, and a NUL.
// qmail-rspawn takes the first K/Z/D it sees, so the message report is written
// once, last, when the outcome is final.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/outcome.h"
#include "lib/redact.h"

namespace qr {

// How much of a server's reply a report carries (SPEC §1, §10). The report
// owns the cap; smtp/'s reply parser keeps no more than this.
inline constexpr size_t kMaxReplyText = 5000;

// Printable ASCII and LF stay; every other byte becomes '?'; CRs are dropped.
std::string sanitize(std::string_view text);

// "Remote host said: ..." for a server reply: codes kept, capped at 5000
// bytes; a reply that was cut (`truncated`, or longer than the cap) ends
// with "..." (SPEC §10).
std::string remote_said(std::string_view reply_text, bool truncated = false);

class Report {
 public:
  explicit Report(int fd = 1) : fd_(fd) {}

  // Buffered until the message report: nothing reaches qmail before the end.
  void recipient(RcptLetter letter, std::string_view text);
  // Writes the recipient reports and this one, then nothing more is written.
  void message(Letter letter, std::string_view text);
  void message(const Verdict& v) { message(v.letter, v.text); }

  bool finished() const { return finished_; }
  // Every text above passes these on its way out (SPEC §1): the walk adds
  // the route's password, the AUTH exchange each line it sends.
  Secrets& secrets() { return secrets_; }
  // The bytes as written (tests).
  const std::string& bytes() const { return out_; }

 private:
  int fd_;
  bool finished_ = false;
  std::string out_;
  Secrets secrets_;
};

// Every fixed text qmail-remote reports, in one table. Vanilla qmail's
// wording is kept where vanilla has one: administrators grep for it.
namespace texts {
inline constexpr std::string_view kUsage = "I (qmail-remote) was invoked improperly. (#5.3.5)\n";
inline constexpr std::string_view kPartialLine =
    "SMTP cannot transfer messages with partial final lines. (#5.6.2)\n";
inline constexpr std::string_view kNoConnection =
    "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n";
inline constexpr std::string_view kOutOfMemory = "Out of memory. (#4.3.0)\n";
inline constexpr std::string_view kReadMessage = "Unable to read message. (#4.3.0)\n";
inline constexpr std::string_view kDnsTemp =
    "Sorry, I couldn't find any host by that name. (#4.1.2)\n";
inline constexpr std::string_view kNoHost =
    "Sorry, I couldn't find a mail exchanger or IP address. (#4.4.3)\n";
inline constexpr std::string_view kNoMailExchanger =
    "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)\n";
inline constexpr std::string_view kSelfMx =
    "Sorry. Although I'm listed as a best-preference MX or A for that host,\n"
    "it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)\n";
inline constexpr std::string_view kBadAddress =
    "Address contains a CR, LF or NUL byte and cannot be sent. (#5.1.3)\n";
inline constexpr std::string_view kBadDomain =
    "Address has a domain with a space or one of <>\"\\,;() and cannot be sent. (#5.1.3)\n";
inline constexpr std::string_view kInternal =
    "Internal error in qmail-remote: ";  // + what, "(#4.3.0)"
inline constexpr std::string_view kNoSmtpUtf8 =
    "The envelope is not ASCII and no server offers SMTPUTF8. (#5.6.7)\n";

// Texts that name the server (its IP address, as vanilla) or the domain.
std::string accepted(std::string_view host);            // K
std::string sender_rejected(std::string_view host);     // D/Z after MAIL
std::string recipient_rejected(std::string_view host);  // h/s after RCPT
std::string giving_up(std::string_view host);           // no recipient accepted
std::string data_failed(std::string_view host);         // D/Z after DATA
std::string message_failed(std::string_view host);      // D/Z after the final dot
std::string connection_died(std::string_view host);     // Z after the final dot: no reply
std::string too_big(std::string_view host, size_t size, uint64_t limit);  // D (#5.3.4)
std::string no_such_domain(std::string_view domain);                      // D (#5.1.2)
std::string null_mx(std::string_view domain);                             // D (#5.1.10)
std::string tls_config(std::string_view what);     // Z: a local TLS file is broken (SPEC §8)
std::string_view dns_text(DnsVerdict::Kind kind);  // the fixed part of dns_verdict's text
}  // namespace texts

// --- From the outcome model to the report (issue 13): the rules of SPEC
// §4, §5, §7 and §10 about letters and lists live here, beside the texts.

// How much of the attempt list a report carries, and of each line, so that
// one server's long reply cannot push the others (or itself) out.
inline constexpr size_t kMaxAttemptText = 3000;
inline constexpr size_t kMaxAttemptLine = 400;

// The attempt list, one line per failure in order, each folded to one line
// and cut at kMaxAttemptLine with "...", the whole cut at kMaxAttemptText
// with a last "...". For a D the lines leave out our local IPs (SPEC §10).
std::string attempt_list(const std::vector<Failure>& failures, Letter letter);

// What a K or Z after failed pairs adds, so that qmail-send's log shows the
// failover: "Failed before this attempt:\n" and the list. Nothing for a D
// (mailed to the sender) or when nothing failed.
std::string failed_before(const std::vector<Failure>& failures, Letter letter);

// The line naming the route, the local IP, the remote, TLS and AUTH (SPEC
// §10); a D carries only remote= and tls=.
struct RouteLine {
  std::string route;   // the route's name, "smtproutes" or "mx"
  std::string local;   // our IP, or "default"
  std::string remote;  // "mx1.example.com[192.0.2.1]:25" or "[192.0.2.1]:25"
  std::string tls;     // "TLSv1.3:...", "none", "failed-plaintext"
  std::string auth;    // "PLAIN", ..., "none"
  std::string mark;    // "dane=ok", "sts=enforce", "sts=testing"; empty: none (SPEC §10)
};
std::string route_line(Letter letter, const RouteLine& line);

// The letter and text of a DNS verdict about `domain` (SPEC §5), with the
// route's name after it unless it is a D.
Verdict dns_verdict(const DnsVerdict& v, std::string_view domain, std::string_view route);

// The report when no pair ended the run. D (#5.6.7) only when every attempt
// reached a server and each refused for want of SMTPUTF8 (SPEC §7): a host
// never reached (DNS, bind, connect) or any other refusal might take the
// mail later, so Z (#4.4.1). Either way the attempt list follows, and the
// route's name unless it is a D. When unsure: Z.
Verdict give_up(const std::vector<Failure>& failures, std::string_view route);

}  // namespace qr
