// control/smtproutes, vanilla qmail's syntax plus the AUTH patch's
// "domain:relay:port|user|pass" (SPEC §3).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/control/control_file.h"
#include "lib/result.h"

namespace qr {

struct SmtpRoute {
  std::string domain;  // lower-cased; "" is the default route; ".x" matches subdomains
  std::string relay;   // "" means the destination's MX; may be "[1.2.3.4]"-style literal
  uint16_t port = 25;
  std::string user, pass;
  int line = 0;
};

// Errors read "control/smtproutes line N: what is wrong".
Result<std::vector<SmtpRoute>> parse_smtproutes(const std::vector<ControlLine>& lines);

// Vanilla's lookup: the exact host, then each suffix ".b.c", ".c", then the
// default key ""; for duplicate keys the last line wins. nullptr: no match.
const SmtpRoute* match_smtproutes(const std::vector<SmtpRoute>& routes, std::string_view host);

}  // namespace qr
