// STARTTLS and AUTH inside a session (SPEC §8, §9): the glue between the
// session's phases and lib/tls, lib/auth.
#pragma once

#include <string>

#include "lib/net/connection.h"
#include "lib/result.h"
#include "lib/smtp/capabilities.h"
#include "lib/smtp/session.h"

namespace qr {

// The TLS set-up that does not depend on the server (SPEC §8): an error is a
// local configuration error naming its file.
Status prepare_tls(const SessionSettings& settings);

// The TLS handshake on the connection; on success the connection's stream is
// TLS and the result is "VERSION:CIPHER" for the report.
Result<std::string> start_tls(Connection& conn, const SessionSettings& settings);

// AUTH with the settings' credentials, the mechanism chosen as SPEC §9 says;
// the result is the mechanism used. Errors never contain the password or the
// exchange.
Result<std::string> authenticate(Connection& conn, const Capabilities& caps, bool tls_active,
                                 const SessionSettings& settings);

}  // namespace qr
