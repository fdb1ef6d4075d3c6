// --help texts of qmail-routes and its commands (SPEC §11).
#pragma once

#include <string_view>

namespace qr {

// The tool's usage, or one command's ("check", "explain", "list", "add",
// "set", "del"); empty for an unknown command.
std::string_view help_text(std::string_view command = {});

}  // namespace qr
