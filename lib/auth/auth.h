// SMTP AUTH (RFC 4954) as pure functions: which mechanism, and what to send
// in answer to each 334 challenge. No I/O: the SMTP session sends the lines,
// reads the replies and keeps the exchange out of every report (SPEC §1).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/result.h"

namespace qr {

enum class Mechanism { Plain, Login, CramMd5 };

// The SASL name as on the wire and in the report (SPEC §10): "PLAIN",
// "LOGIN", "CRAM-MD5".
const char* mechanism_name(Mechanism m);

// SPEC §9 and §3.1: PLAIN, then LOGIN, then CRAM-MD5. PLAIN and LOGIN send
// the password as it is, so both are used only over TLS or when the route
// says auth-cleartext=yes; CRAM-MD5 is usable on any connection. `offered` is
// the EHLO AUTH list; names compare case-insensitively (RFC 4954 §3).
// nullopt: nothing usable, and the caller goes on to the next pair.
std::optional<Mechanism> choose_mechanism(const std::vector<std::string>& offered, bool tls_active,
                                          bool allow_cleartext);

// The line that starts the exchange, without CRLF: "AUTH PLAIN <initial
// response>" (SPEC §9: PLAIN always uses the initial response), "AUTH LOGIN",
// "AUTH CRAM-MD5". Contains the password for PLAIN: never report it.
std::string auth_command(Mechanism m, std::string_view user, std::string_view pass);

// RFC 4616 §2 with an empty authzid: base64("\0" user "\0" pass).
std::string plain_initial_response(std::string_view user, std::string_view pass);

// The answer to "*" aborts an exchange (RFC 4954 §4); sent when a challenge
// cannot be decoded (SPEC §9). The server then replies 501.
inline constexpr std::string_view kAuthCancel = "*";

// LOGIN (no RFC; draft-murchison-sasl-login): the server sends two 334
// challenges, conventionally "Username:" and "Password:" (Exim:
// "VXNlcm5hbWU6", "UGFzc3dvcmQ6"; others send "User Name", "username:" or
// nothing). The challenge must be strict base64 (SPEC §9), but its decoded
// text is not compared with anything: servers word it differently, and the
// draft tells clients to answer by position. The caller answers the first
// challenge with the user name and the second with the password. Returns
// base64(answer), or an Error (send kAuthCancel) when the challenge is not
// valid base64.
Result<std::string> login_response(std::string_view challenge_b64, std::string_view answer);

// CRAM-MD5 (RFC 2195 §2): base64(user " " hex(HMAC-MD5(key=pass, challenge))),
// hex in lower case. An Error (send kAuthCancel) when the challenge is not
// valid base64 (SPEC §9) or MD5 is unavailable in this OpenSSL.
Result<std::string> cram_md5_response(std::string_view challenge_b64, std::string_view user,
                                      std::string_view pass);

}  // namespace qr
