// The outcome model of a delivery (SPEC §1, §4, §5, §10; issue 13), as
// values: the letters of qmail's protocol, what became of each attempt, and
// the DNS answers that settle a run. Deciding the letter of a run from these
// is report's give_up(), the one place that knows the D-versus-Z rule.
#pragma once

#include <string>
#include <variant>
#include <vector>

namespace qr {

// The message report's letter (SPEC §1): K delivered, Z temporary failure
// (qmail retries), D permanent failure (qmail bounces).
enum class Letter : char { K = 'K', Z = 'Z', D = 'D' };

// A recipient report's letter: r accepted, h refused for good, s for now.
enum class RcptLetter : char { Accepted = 'r', Refused = 'h', Deferred = 's' };

constexpr char letter_char(Letter l) {
  return static_cast<char>(l);
}
constexpr char letter_char(RcptLetter l) {
  return static_cast<char>(l);
}

struct RecipientResult {
  RcptLetter letter = RcptLetter::Deferred;
  std::string text;
};

// A letter and its text: what a report says.
struct Verdict {
  Letter letter = Letter::Z;
  std::string text;
};

// One line of the attempt list: "192.0.2.1:25 (mx.example)" + from + ": " + why.
// `from` (" from 192.0.2.7") names our local IP; a D report leaves it out
// (SPEC §10). Items that never got as far as a pair have no `from`.
struct AttemptLine {
  std::string where;
  std::string from;
  std::string why;
};

// What became of an item or a pair that did not end the run (SPEC §4).
//
// Unreached: no server answered there: the DNS gave no address, no local IP
// has its family, the bind or the connect failed (and, once tcpto is in,
// a pair skipped as dead). What is there might take the mail later.
struct Unreached {
  AttemptLine line;
};
// Refused: a server answered, and this pair cannot deliver: the greeting,
// EHLO and HELO, TLS, AUTH, a 421 or a drop before the final dot, or (the
// one refusal that can make a run permanent) no SMTPUTF8 for an envelope
// that needs it.
enum class Refusal { Other, NoSmtpUtf8 };
struct Refused {
  AttemptLine line;
  Refusal reason = Refusal::Other;
};
using Failure = std::variant<Unreached, Refused>;

// A pair that ended the run: the server decided (SPEC §4: after MAIL FROM,
// or the final dot), or a local error that no other pair can cure.
struct Final {
  Letter letter = Letter::Z;
  std::string text;
  std::vector<RecipientResult> recipients;
  std::string tls = "none";  // for the route line (SPEC §10)
  std::string auth = "none";
  bool dane = false;  // the certificate was checked by DANE: `dane=ok` (SPEC §10)
};

// Each attempt of the walk ends in one of these.
using AttemptOutcome = std::variant<Unreached, Refused, Final>;

// A DNS answer about the destination that can settle the run before any
// connection (SPEC §5, doc/DECISIONS.md). report's dns_verdict() gives its
// letter and text.
struct DnsVerdict {
  enum class Kind {
    NoSuchDomain,     // NXDOMAIN: D (#5.1.2)
    NullMx,           // RFC 7505: D (#5.1.10), whatever else the route lists
    TempFail,         // SERVFAIL, timeout, no resolver: Z (#4.1.2)
    SelfMx,           // this host is the best MX: D (#5.4.6)
    NoMailExchanger,  // no MX and no address: D (#5.4.4)
    NoAddress,        // no MX host resolves: Z (#4.4.3)
  };
  Kind kind = Kind::TempFail;
  std::string detail;  // TempFail: what failed; NoAddress: the hosts
};

}  // namespace qr
