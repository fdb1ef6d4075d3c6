// The attempt plan (SPEC §3.1 failover/round robin/weights, §4 pairing).
#include <catch2/catch.hpp>

#include <set>

#include "lib/route/plan.h"

using namespace qr;

namespace {

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

Route route(const char* local, const char* remote) {
  Route r;
  r.local = *parse_local_ips(local);
  r.remote = *parse_remote_addrs(remote);
  return r;
}

// The remotes of one plan as text: "mx" or the host.
std::vector<std::string> remote_names(const Plan& p) {
  std::vector<std::string> out;
  for (const Endpoint& e : p.remotes) out.push_back(e.is_mx ? "mx" : e.host);
  return out;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("plan: failover groups keep their order", "[plan]") {
  const Route r = route("1.1.1.1&2.2.2.2", "a.example&b.example&c.example");
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Rng rng(seed);
    Plan p = make_plan(r, {}, rng);
    CHECK(remote_names(p) == Names{"a.example", "b.example", "c.example"});
    CHECK(p.locals == std::vector<IpAddr>{ip("1.1.1.1"), ip("2.2.2.2")});
  }
}

TEST_CASE("plan: round robin shows both orders over seeded runs", "[plan]") {
  const Route r = route("1.1.1.1|2.2.2.2", "a.example|b.example");
  std::set<Names> remote_orders;
  std::set<std::vector<IpAddr>> local_orders;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Rng rng(seed);
    Plan p = make_plan(r, {}, rng);
    remote_orders.insert(remote_names(p));
    local_orders.insert(p.locals);
  }
  CHECK(remote_orders == std::set<Names>{{"a.example", "b.example"}, {"b.example", "a.example"}});
  CHECK(local_orders == std::set<std::vector<IpAddr>>{{ip("1.1.1.1"), ip("2.2.2.2")},
                                                      {ip("2.2.2.2"), ip("1.1.1.1")}});
}

TEST_CASE("plan: a member listed twice comes first twice as often, tried once", "[plan]") {
  const Route r = route("", "big.example|big.example|small.example");
  Rng rng(12345);
  const int runs = 3000;
  int big_first = 0;
  for (int i = 0; i < runs; ++i) {
    Plan p = make_plan(r, {}, rng);
    REQUIRE(p.remotes.size() == 2);  // duplicates dropped
    CHECK(p.remotes[0].host != p.remotes[1].host);
    if (p.remotes[0].host == "big.example") ++big_first;
  }
  // Expected 2/3; with 3000 runs one standard deviation is about 0.009.
  double share = double(big_first) / runs;
  CHECK(share > 0.60);
  CHECK(share < 0.73);
}

TEST_CASE("plan: mixed a&b|c keeps a first and shuffles b and c", "[plan]") {
  const Route r = route("", "a.example&b.example|c.example");
  std::set<Names> orders;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Rng rng(seed);
    orders.insert(remote_names(make_plan(r, {}, rng)));
  }
  CHECK(orders == std::set<Names>{{"a.example", "b.example", "c.example"},
                                  {"a.example", "c.example", "b.example"}});
}

TEST_CASE("plan: empty REMOTE is the MX, empty LOCAL takes defaultoutgoingip", "[plan]") {
  Rng rng(1);
  const Groups<IpAddr> defaults = {{ip("9.9.9.9")}, {ip("2001:db8::9")}};
  Plan p = make_plan(route("", ""), defaults, rng);
  CHECK(remote_names(p) == Names{"mx"});
  CHECK(p.remotes[0].port == 25);
  CHECK(p.locals == std::vector<IpAddr>{ip("9.9.9.9"), ip("2001:db8::9")});
  // A route's own LOCAL wins over the default.
  Plan own = make_plan(route("1.1.1.1", "mx&6.6.6.6:587"), defaults, rng);
  CHECK(own.locals == std::vector<IpAddr>{ip("1.1.1.1")});
  CHECK(remote_names(own) == Names{"mx", "6.6.6.6"});
  // No LOCAL and no default: the kernel chooses.
  CHECK(make_plan(route("", ""), {}, rng).locals.empty());
}

TEST_CASE("pair_attempts: remote-major, same family only", "[plan]") {
  auto target = [](const char* addr) { return Target{"", ip(addr), 25, false}; };
  struct Case {
    const char* name;
    std::vector<Target> targets;
    std::vector<IpAddr> locals;
    std::vector<std::pair<std::string, std::string>> expected;  // (remote, local or "")
  };
  const std::vector<Case> cases = {
      // SPEC §4, the seed's route5: each remote with every local in order.
      {"route5",
       {target("5.5.5.5"), target("6.6.6.6")},
       {ip("1.1.1.1"), ip("2.2.2.2"), ip("3.3.3.3"), ip("4.4.4.4")},
       {{"5.5.5.5", "1.1.1.1"},
        {"5.5.5.5", "2.2.2.2"},
        {"5.5.5.5", "3.3.3.3"},
        {"5.5.5.5", "4.4.4.4"},
        {"6.6.6.6", "1.1.1.1"},
        {"6.6.6.6", "2.2.2.2"},
        {"6.6.6.6", "3.3.3.3"},
        {"6.6.6.6", "4.4.4.4"}}},
      {"mixed families",
       {target("192.0.2.1"), target("2001:db8::1"), target("192.0.2.2")},
       {ip("1.1.1.1"), ip("2001:db8::a"), ip("2.2.2.2")},
       {{"192.0.2.1", "1.1.1.1"},
        {"192.0.2.1", "2.2.2.2"},
        {"2001:db8::1", "2001:db8::a"},
        {"192.0.2.2", "1.1.1.1"},
        {"192.0.2.2", "2.2.2.2"}}},
      {"IPv6 target, IPv4 locals only: skipped",
       {target("2001:db8::1"), target("192.0.2.1")},
       {ip("1.1.1.1")},
       {{"192.0.2.1", "1.1.1.1"}}},
      {"no locals: the kernel chooses",
       {target("2001:db8::1"), target("192.0.2.1")},
       {},
       {{"2001:db8::1", ""}, {"192.0.2.1", ""}}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    std::vector<std::pair<std::string, std::string>> got;
    for (const Attempt& a : pair_attempts(c.targets, c.locals))
      got.emplace_back(a.target.addr.str(), a.local ? a.local->str() : "");
    CHECK(got == c.expected);
  }
}

TEST_CASE("make_rng gives different streams", "[plan]") {
  Rng a = make_rng(), b = make_rng();
  // Equal first outputs from two OS seeds: about 2^-64.
  CHECK(a() != b());
}
