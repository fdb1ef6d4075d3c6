// Base64 (RFC 4648 §4) for SMTP AUTH (RFC 4954 §4): the server's 334
// challenges and our responses.
#pragma once

#include <string>
#include <string_view>

#include "lib/result.h"

namespace qr {

// Standard alphabet, '=' padded, no line breaks.
std::string base64_encode(std::string_view data);

// Strict decoding (SPEC §9: "Base64 is checked strictly"): only the RFC 4648
// §4 alphabet; length a multiple of 4; '=' only as the last one or two
// characters of the text; no whitespace, CR or LF anywhere; and the unused
// bits before the padding must be zero (RFC 4648 §3.5), so that every
// accepted text is the one canonical encoding of its bytes. The empty text
// decodes to the empty string. The error text says what is wrong; it never
// quotes the input (it may be an AUTH exchange, SPEC §1).
Result<std::string> base64_decode(std::string_view text);

}  // namespace qr
