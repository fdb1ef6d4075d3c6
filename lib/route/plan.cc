// The attempt plan (SPEC §3.1 ordering, §4 first paragraph: remote-major
// pairing with matching address families).
#include "lib/route/plan.h"

#include <algorithm>

namespace qr {

template <class T>
std::vector<T> order_groups(const Groups<T>& groups, Rng& rng) {
  std::vector<T> out;
  for (const auto& group : groups) {
    // Draw entries one at a time, uniformly among those left: a member listed
    // k times is k times as likely to be drawn first (weighted round robin).
    std::vector<T> left = group;
    while (!left.empty()) {
      std::uniform_int_distribution<size_t> pick(0, left.size() - 1);
      size_t i = pick(rng);
      out.push_back(std::move(left[i]));
      left.erase(left.begin() + std::ptrdiff_t(i));
    }
  }
  // Each endpoint is tried once however often it is listed (SPEC §3.1).
  std::vector<T> unique;
  for (auto& item : out)
    if (std::find(unique.begin(), unique.end(), item) == unique.end())
      unique.push_back(std::move(item));
  return unique;
}

template std::vector<IpAddr> order_groups(const Groups<IpAddr>&, Rng&);
template std::vector<Endpoint> order_groups(const Groups<Endpoint>&, Rng&);

Plan make_plan(const Route& route, const Groups<IpAddr>& default_ips, Rng& rng) {
  Plan plan;
  if (route.remote.empty()) {
    Endpoint mx;
    mx.is_mx = true;
    plan.remotes.push_back(mx);
  } else {
    plan.remotes = order_groups(route.remote, rng);
  }
  plan.locals = order_groups(route.local.empty() ? default_ips : route.local, rng);
  return plan;
}

std::string remote_name(const Target& t) {
  return t.host + "[" + t.addr.str() + "]:" + std::to_string(t.port);
}

std::vector<Attempt> pair_attempts(const std::vector<Target>& targets,
                                   const std::vector<IpAddr>& locals) {
  std::vector<Attempt> attempts;
  for (const Target& t : targets) {
    if (locals.empty()) {
      attempts.push_back(Attempt{t, std::nullopt});
      continue;
    }
    for (const IpAddr& local : locals)
      if (local.family() == t.addr.family()) attempts.push_back(Attempt{t, local});
  }
  return attempts;
}

}  // namespace qr
