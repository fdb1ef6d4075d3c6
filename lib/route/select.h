// Which way a message goes (SPEC §3.3): routemap, then smtproutes, then MX.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lib/control/control.h"

namespace qr {

struct Selection {
  // The route to walk. For smtproutes and MX a route is made up with
  // name "smtproutes" or "mx", local = defaultoutgoingip, default options.
  Route route;
  // The rule that chose it, as qmail-routes explain names it:
  // "routemap:N", "smtproutes:N" or "mx".
  std::string rule;
};

// qmail's IP-literal host, "[1.2.3.4]" or "[IPv6:2001:db8::1]" (also the
// bracketed relay of smtproutes); nullopt for anything else.
std::optional<IpAddr> host_literal(std::string_view host);

// `host` is argv[1]; `sender` the envelope sender; `recipient` the first
// recipient (its domain, or the whole address for local@domain patterns).
Selection select_route(const Control& control, std::string_view host, std::string_view sender,
                       std::string_view recipient);

}  // namespace qr
