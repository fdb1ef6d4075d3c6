// One SMTP session over an open connection (SPEC §4, §7, §8, §9): greeting,
// EHLO/HELO, STARTTLS, AUTH, then MAIL/RCPT/DATA, pipelined when the server
// allows (RFC 2920), and the body. It decides whether the walk goes on to the
// next (remote, local) pair or the run's outcome is final; it writes no report.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lib/net/connection.h"
#include "lib/outcome.h"
#include "lib/redact.h"
#include "lib/smtp/message.h"
#include "lib/tls/dane.h"
#include "lib/tls/policy.h"

namespace qr {

struct Envelope {
  std::string sender;
  std::vector<std::string> recipients;
};

struct SessionSettings {
  std::string helo;      // the name for EHLO/HELO
  std::string peer;      // how texts name the server: its IP address (vanilla)
  std::string tls_name;  // host name for SNI and verification; empty for IP literals
  TlsPolicy tls = TlsPolicy::May;
  bool implicit_tls = false;   // port 465: TLS from the first byte
  bool skip_starttls = false;  // retrying after a failed `may` handshake
  std::string ca_file;         // control/tlshosts/<FQDN>.pem when present
  std::string client_cert;     // control/clientcert.pem when present
  std::string ciphers;         // control/tlsclientciphers
  std::string tls_cache_dir;   // $QMAIL_ROOT/queue/tlscache (SPEC §15); empty: none
  // tls=Dane: the host's validated TLSA records and names (SPEC §13); the
  // walk sets it only with usable records, so TLS is then required.
  std::optional<DaneOptions> dane;
  std::string user, pass;  // AUTH credentials; empty user: no AUTH
  bool auth_cleartext = false;
  // Check the certificate without enforcing it (MTA-STS testing, SPEC §14):
  // the walk reads the TlsStream's verify_error after the session.
  bool check_certificate = false;
  // Where each AUTH line sent is remembered, so that no report carries it
  // (SPEC §1). May be null (tests).
  Secrets* secrets = nullptr;
};

// This pair cannot deliver; the walk goes on to the next (SPEC §4).
struct NextPair {
  std::string reason;                // for the attempt list of the report
  Refusal refusal = Refusal::Other;  // NoSmtpUtf8: may make the run a D
  bool tls_failed_may = false;       // handshake failed under `may`: retry in plaintext
};

// A session ends in one of these: the next pair, or the run's outcome
// (outcome.h's Final: the letter, the texts, and tls/auth for the route line).
using SessionOutcome = std::variant<NextPair, Final>;

SessionOutcome run_session(Connection& conn, const SessionSettings& settings, const Envelope& env,
                           const MessageSource& message);

// True when a byte >= 0x80 appears in the sender or a recipient (SMTPUTF8).
bool envelope_needs_smtputf8(const Envelope& env);

}  // namespace qr
