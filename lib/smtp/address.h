// Envelope addresses as they go between the angle brackets of MAIL FROM and
// RCPT TO (SPEC §6). qmail hands qmail-remote addresses as plain text; a
// local part that is not an RFC 5321 dot-atom is sent as a quoted string, as
// vanilla qmail-remote's quote2() does, so that no address can end the path
// early or add ESMTP parameters (`x> NOTIFY=NEVER y@example.org`).
#pragma once

#include <string>
#include <string_view>

namespace qr {

// True when `local` cannot go on the wire as it is: it is empty, holds a
// byte outside RFC 5322's atext and '.', or has a leading, trailing or
// doubled dot (RFC 5321 §4.1.2 Dot-string). Bytes >= 0x80 are allowed
// unquoted: RFC 6531 §3.3 adds UTF-8 to atext (SMTPUTF8 local parts).
bool local_part_needs_quotes(std::string_view local);

// `local` as an RFC 5321 Quoted-string: in double quotes, each '"' and '\'
// preceded by a backslash (quoted-pairSMTP). Other bytes are kept as they are.
std::string quote_local_part(std::string_view local);

// The text between '<' and '>' for `address`: the local part (everything
// before the last '@') quoted when it needs it, then the '@' and the domain
// unchanged. The empty address (the null sender) stays empty; an address
// with no '@' is all local part, as in vanilla. "#@[]" (qmail's double
// bounce sender) is a dot-atom and stays as it is.
std::string smtp_path(std::string_view address);

// True when the domain of `address` (after its last '@') can go on the wire
// as it is. A domain cannot be quoted, so one holding a space, a control
// byte, '<', '>', '"', '\\', ',', ';', '(' or ')' could end the path early
// or add ESMTP parameters (`x@d> NOTIFY=NEVER`): such an address is refused
// before connecting. Letters, digits, '-', '.', domain literals
// ("[192.0.2.1]", "[IPv6:...]") and UTF-8 stay allowed.
bool sendable_domain(std::string_view address);

}  // namespace qr
