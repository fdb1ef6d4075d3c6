// Small text helpers shared by the control-file parsers (SPEC §3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// A positive decimal number that fits an unsigned int.
std::optional<unsigned> parse_positive(std::string_view text);

}  // namespace qr
