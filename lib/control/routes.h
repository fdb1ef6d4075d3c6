// control/routes (SPEC §3.1): NAME;LOCAL_IPS;REMOTE_ADDRS;USER;PASS[;OPTIONS]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/control/control_file.h"
#include "lib/net/address.h"
#include "lib/result.h"
#include "lib/tls/policy.h"

namespace qr {

// Failover groups in order ('&'), each a list of round-robin members ('|').
// A member listed twice stays listed twice: that is its weight.
template <class T>
using Groups = std::vector<std::vector<T>>;

// One REMOTE_ADDRS item.
struct Endpoint {
  bool is_mx = false;        // "mx": the destination's MX hosts
  std::string host;          // host name, or the IP literal's text (no brackets)
  std::optional<IpAddr> ip;  // set when the item is an IP literal
  uint16_t port = 25;
  bool operator==(const Endpoint&) const = default;
};

struct RouteOptions {
  TlsPolicy tls = TlsPolicy::May;
  bool tls_set = false;  // tls= was written; else SPEC §8's default applies (route_tls_policy)
  std::string helo;      // empty: control/helohost
  bool helo_ptr = false;
  bool auth_cleartext = false;
};

struct Route {
  std::string name;
  Groups<IpAddr> local;     // empty: defaultoutgoingip
  Groups<Endpoint> remote;  // empty: the destination's MX
  std::string user, pass;   // both empty: no AUTH
  RouteOptions options;
  int line = 0;  // line in control/routes; 0 for routes made from smtproutes or MX
};

// Errors read "control/routes line N: what is wrong".
Result<std::vector<Route>> parse_routes(const std::vector<ControlLine>& lines);

// A LOCAL_IPS list ("1.1.1.1&2.2.2.2", "1.1.1.1|::1"); also the syntax of
// defaultoutgoingip. The error text says what is wrong, without file and line.
Result<Groups<IpAddr>> parse_local_ips(std::string_view text);

// A REMOTE_ADDRS list; the error text says what is wrong, without file and line.
Result<Groups<Endpoint>> parse_remote_addrs(std::string_view text);

}  // namespace qr
