// The attempt plan (SPEC §3.1, §4): remote endpoints in order, local IPs in
// order, then (remote, local) pairs remote-major with matching families.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/control/routes.h"
#include "lib/rng.h"

namespace qr {

struct Plan {
  std::vector<Endpoint> remotes;  // ordered; `mx` items kept as placeholders
  std::vector<IpAddr> locals;     // ordered; empty: the kernel's choice
};

// Failover groups in order; each group's members shuffled (a member listed k
// times is k times as likely to come first), duplicates then dropped.
// An empty REMOTE list becomes one `mx` item; an empty LOCAL list takes
// `default_ips`.
Plan make_plan(const Route& route, const Groups<IpAddr>& default_ips, Rng& rng);

// Order the members of `groups` as make_plan does (exposed for tests).
template <class T>
std::vector<T> order_groups(const Groups<T>& groups, Rng& rng);

// A concrete remote address to connect to, after `mx` and host names are
// resolved by the DNS layer.
struct Target {
  std::string host;  // the MX or relay host name; empty for an IP literal
  IpAddr addr;
  uint16_t port = 25;
  bool from_mx = false;  // came from the destination's MX (self-MX rule applies)
};

// How reports and explain name a target (SPEC §10):
// "mx1.example.com[192.0.2.1]:25", or "[192.0.2.1]:25" without a host name.
std::string remote_name(const Target& t);

struct Attempt {
  Target target;
  std::optional<IpAddr> local;  // nullopt: the kernel chooses
};

// Remote-major: for each target in order, each local IP of the same address
// family in order. A target whose family has no local IP while `locals` is not
// empty gets no attempt (the administrator pinned the source addresses).
std::vector<Attempt> pair_attempts(const std::vector<Target>& targets,
                                   const std::vector<IpAddr>& locals);

}  // namespace qr
