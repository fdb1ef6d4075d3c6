// Small text helpers for every layer: the control-file parsers (SPEC §3),
// DNSCACHEIP, the DNS answers and the report filter share one copy of each.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/result.h"

namespace qr {

// Splits at every `sep`; "a;;b" gives {"a", "", "b"}, "" gives {""}.
std::vector<std::string_view> split(std::string_view text, char sep);

std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);

// Host name characters of SPEC §3.1: letters, digits, '-', '.', '_'.
bool is_host_char(char c);
bool is_host_name(std::string_view text);  // non-empty, host characters only

// A TCP port: decimal digits only, 1..65535.
std::optional<uint16_t> parse_port(std::string_view text);

// "HOST", "HOST:PORT", "[LITERAL]" or "[LITERAL]:PORT": the one reading of
// an address with an optional port, shared by routes (SPEC §3.1),
// smtproutes and DNSCACHEIP. Unbracketed text with more than one ':' is a
// bare IPv6 address, all host and no port; each caller says whether it
// takes one. Errors: an unclosed '[', anything but ":PORT" after ']', an
// empty port. Neither part is checked further: that is the caller's.
struct HostPort {
  std::string_view host;  // without the brackets
  std::string_view port;  // empty when none is given
  bool bracketed = false;
};
Result<HostPort> split_host_port(std::string_view text);

// A positive decimal number that fits an unsigned int.
std::optional<unsigned> parse_positive(std::string_view text);

// TEXT in single quotes for an error message, every byte outside printable
// ASCII written as \xNN: a control file's junk never reaches a terminal (the
// qmail-routes commands) or a report as raw bytes.
std::string quoted(std::string_view text);

// "0x0d": one byte for an error message.
std::string byte_hex(unsigned char c);

// Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, at most U+10FFFF) at the start of TEXT, which starts with a
// byte >= 0x80; 0 when it is not one. C1 controls (U+0080..U+009F) count as
// not well formed: no control file has a use for them.
size_t utf8_sequence(std::string_view text);

}  // namespace qr
