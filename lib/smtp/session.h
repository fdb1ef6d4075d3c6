// One SMTP session over an open connection (SPEC §4, §7, §8, §9): greeting,
// EHLO/HELO, STARTTLS, AUTH, then MAIL/RCPT/DATA, pipelined when the server
// allows (RFC 2920), and the body. It decides whether the walk goes on to the
// next (remote, local) pair or the run's outcome is final; it writes no report.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/net/connection.h"
#include "lib/outcome.h"
#include "lib/redact.h"
#include "lib/smtp/message.h"
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
  std::string user, pass;      // AUTH credentials; empty user: no AUTH
  bool auth_cleartext = false;
  // Check the certificate without enforcing it (MTA-STS testing, SPEC §14):
  // the walk reads the TlsStream's verify_error after the session.
  bool check_certificate = false;
  // Where each AUTH line sent is remembered, so that no report carries it
  // (SPEC §1). May be null (tests).
  Secrets* secrets = nullptr;
};

struct SessionOutcome {
  enum class Kind { NextPair, Final };
  Kind kind = Kind::NextPair;

  // NextPair: what went wrong, for the list in the final Z report.
  std::string reason;
  bool tls_failed_may = false;    // handshake failed under `may`: retry in plaintext
  bool smtputf8_missing = false;  // the server cannot take a non-ASCII envelope

  // Final: the message report and, when recipients were decided, one per recipient.
  Letter letter = Letter::Z;
  std::string text;
  std::vector<RecipientResult> recipients;

  // For the report's route line (SPEC §10).
  std::string tls;   // "TLSv1.3:TLS_AES_256_GCM_SHA384" or "none"
  std::string auth;  // "PLAIN", ... or "none"
};

SessionOutcome run_session(Connection& conn, const SessionSettings& settings, const Envelope& env,
                           const MessageSource& message);

// True when a byte >= 0x80 appears in the sender or a recipient (SMTPUTF8).
bool envelope_needs_smtputf8(const Envelope& env);

}  // namespace qr
