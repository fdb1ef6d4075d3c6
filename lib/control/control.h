// Everything qmail-remote reads from the control directory, loaded once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/control/routemap.h"
#include "lib/control/routes.h"
#include "lib/control/smtproutes.h"
#include "lib/control/tls_files.h"
#include "lib/dns/dnssec.h"
#include "lib/result.h"

namespace qr {

struct Control {
  std::string helohost;  // helohost, else me; both missing is an error
  unsigned timeoutconnect = 60;
  unsigned timeoutremote = 1200;
  Groups<IpAddr> default_ips;  // defaultoutgoingip, else outgoingip; empty: kernel's choice
  std::vector<Route> routes;
  std::vector<RouteMapEntry> routemap;
  std::vector<SmtpRoute> smtproutes;
  TlsFiles tls;  // qmail-tls's files
  // control/dnssec-anchors (SPEC §13); present: `dane` is the MX default.
  std::optional<DnssecAnchors> anchors;
};

// Reads every file of SPEC §3 from `dir`. The first
// problem found is the error, naming file and line.
Result<Control> load_control(const std::string& dir);

}  // namespace qr
