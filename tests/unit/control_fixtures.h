// Values shared by the control and route tests.
#pragma once

#include <initializer_list>
#include <vector>

#include "lib/control/control_file.h"
#include "lib/control/routes.h"

namespace qr::test {

// Lines numbered 1, 2, ... as read_control_lines would give them.
inline std::vector<ControlLine> numbered(std::initializer_list<const char*> texts) {
  std::vector<ControlLine> lines;
  int n = 0;
  for (const char* t : texts) lines.push_back(ControlLine{++n, t});
  return lines;
}

// The REMOTE_ADDRS item `mx`.
inline Endpoint mx() {
  Endpoint e;
  e.is_mx = true;
  return e;
}

// A host name or IPv4/IPv6 item, as parse_remote_addrs gives it.
inline Endpoint at(const char* host, uint16_t port = 25) {
  Endpoint e;
  e.host = host;
  e.ip = IpAddr::parse(host);
  e.port = port;
  return e;
}

}  // namespace qr::test
