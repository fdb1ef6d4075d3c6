// explain: select_route, make_plan, expand_endpoint and pair_attempts, as
// the walk of lib/deliver.cc uses them (SPEC §3.3, §4, §5), printed instead
// of tried.
#include "lib/admin/explain.h"

#include <ctime>
#include <set>

#include "lib/net/tcpto.h"
#include "lib/report.h"
#include "lib/route/dane_policy.h"
#include "lib/route/expand.h"
#include "lib/route/mx_security.h"
#include "lib/route/select.h"
#include "lib/route/tls_policy.h"
#include "lib/sts/lookup.h"

namespace qr {

namespace {

std::string show_local(const std::optional<IpAddr>& local) {
  return local ? local->str() : "default";
}

// Under --no-dns only IP literals expand; asking this for a resolver is a
// bug in the caller, answered as a DNS failure.
class NoDns final : public DnsSource {
 public:
  Resolver* resolver(std::string* error) override {
    *error = "no DNS (--no-dns)";
    return nullptr;
  }
  bool is_local(const IpAddr&) override { return false; }
};

class Explainer {
 public:
  Explainer(const Route& route, const Control& control, const ExplainRequest& req, DnsSource* dns,
            Rng& rng, const std::vector<IpAddr>& locals, DeadHosts* dead)
      : route_(route),
        control_(control),
        tls_files_(control.tls),
        req_(req),
        dns_(dns),
        rng_(rng),
        locals_(locals),
        dead_(dead),
        dane_(control, dns ? *dns : no_dns_, req.host) {}

  // false: the walk would end at this item.
  bool add(const Endpoint& e, size_t remotes) {
    if (!dns_ && (e.is_mx || !e.ip)) {
      unresolved(e);
      return true;
    }
    NoDns none;
    Expansion x = expand_endpoint(e, req_.host, dns_ ? *dns_ : none, rng_);
    for (const std::string& n : x.notes) note(n);
    for (const Unreached& u : x.unreached) note(u.line.where + ": " + u.line.why);
    if (ends_run(x, remotes)) {
      Verdict v = dns_verdict(*x.verdict, req_.host, route_.name);
      std::string first = v.text.substr(0, v.text.find('\n'));
      note("the walk ends here: " + std::string(1, letter_char(v.letter)) + " " + first);
      return false;
    }
    for (const Target& t : x.targets) {
      HostSecurity hs = security(t);
      if (hs.skip) {
        note(remote_name(t) + ": " + hs.why);
        continue;
      }
      auto pairs = pair_attempts({t}, locals_);
      if (pairs.empty()) note(remote_name(t) + ": no local IP of its address family");
      // As the walk does (SPEC §12): a pair vanilla would skip is named and
      // not tried; one with a single recent timeout comes after the rest.
      for (const Attempt& a : pairs) {
        tcpto::Verdict v = dead_ ? dead_->check(a.target.addr, a.local) : tcpto::Verdict{};
        std::string pair = pair_line(a);
        if (v.kind == tcpto::Kind::skipped)
          note(pair + ": " + tcpto::skipped_text(v));
        else if (v.kind == tcpto::Kind::demoted)
          demoted_.push_back(pair + " (demoted: a connect timed out " + std::to_string(v.age) +
                             " s ago)");
        else
          out_ += pair + "\n";
      }
    }
    return true;
  }
  std::string text() const {
    std::string out = out_;
    for (const std::string& d : demoted_) out += d + "\n";
    return out;
  }

 private:
  static std::string pair_text(const std::string& remote, const TlsChoice& tls,
                               const std::optional<IpAddr>& local) {
    return "remote=" + remote + " local=" + show_local(local) +
           " tls=" + tls_policy_name(tls.policy);
  }
  // SPEC §13: under `dane`, what DNSSEC says of each host, once per host,
  // and the policy it leaves, as the walk decides it (host_security asks
  // this only under `dane`).
  DaneDecision decide(const TlsChoice& base, const Target& t) {
    DaneDecision d = dane_.decide(base, t);
    if (!shown_.insert(t.host + "/" + (t.addr.is_v6() ? "6" : "4")).second) return d;
    std::string text =
        (t.host.empty() ? remote_name(t) : t.host) + ": DNSSEC " + security_name(d.security);
    if (!d.why.empty()) text += " (" + d.why + ")";
    if (d.host && d.security == Security::Secure) {
      if (d.host->tlsa.empty()) text += ", no TLSA records";
      for (const Tlsa& r : d.host->tlsa)
        text += std::string(", TLSA ") + (tlsa_usable(r) ? "" : "(unusable) ") + tlsa_text(r);
    }
    note(text);
    return d;
  }
  std::string pair_line(const Attempt& a) {
    TlsChoice tls = tls_for(route_, tls_files_, a.target, control_.anchors.has_value());
    HostSecurity hs = security(a.target);
    tls.policy = hs.policy;
    return pair_text(remote_name(a.target), tls, a.local) + (hs.mark.empty() ? "" : " " + hs.mark) +
           (hs.testing_note.empty() ? "" : " (enforce would refuse: " + hs.testing_note + ")");
  }
  // As the walk's Walk::security: host_security, with DANE's decision and
  // the cached MTA-STS policy.
  HostSecurity security(const Target& t) {
    return host_security(
        route_, tls_files_, t, req_.host, control_.anchors.has_value(),
        [this](const TlsChoice& c, const Target& target) { return decide(c, target); },
        [this]() -> const std::optional<sts::Policy>& { return sts_policy(); });
  }
  const std::optional<sts::Policy>& sts_policy() {
    if (sts_) return *sts_;
    sts_.emplace();
    std::string err;
    Resolver* res = dns_ && !req_.sts_cache_dir.empty() ? dns_->resolver(&err) : nullptr;
    if (!res) return *sts_;
    // Nothing is sent but DNS: a policy not in the cache is not fetched.
    sts::Lookup l = sts::lookup_policy(
        req_.host, *res, req_.sts_cache_dir, int64_t(std::time(nullptr)),
        [](std::string_view) -> Result<std::string> {
          return Error{"not cached, and explain does not fetch (qmail-routes sts DOMAIN does)"};
        });
    if (l.policy) {
      std::string mx;
      for (const std::string& p : l.policy->mx) mx += " " + p;
      note("MTA-STS policy of " + req_.host + " (" + l.how + ", id " + l.id + "): mode " +
           sts::mode_name(l.policy->mode) + ", max_age " + std::to_string(l.policy->max_age) +
           ", mx:" + mx);
      if (l.policy->mode != sts::Mode::None) *sts_ = std::move(l.policy);
    } else {
      note("MTA-STS: no policy for " + req_.host + ": " + l.how);
    }
    return *sts_;
  }
  void line(const std::string& remote, const TlsChoice& tls, const std::optional<IpAddr>& local) {
    out_ += pair_text(remote, tls, local) + "\n";
  }
  void note(const std::string& text) { out_ += "# " + text + "\n"; }

  // --no-dns: the item as written, with every local IP (families unknown).
  void unresolved(const Endpoint& e) {
    std::string text = e.is_mx ? "mx" : e.host;
    if (!e.is_mx || e.port != 25) text += ":" + std::to_string(e.port);
    // An unresolved name has only its name for the per-host files; `mx`
    // has not even that, so the route's policy stands.
    TlsChoice tls = e.is_mx ? TlsChoice{route_tls_policy(route_, false), "", false}
                            : tls_for(route_, tls_files_, Target{e.host, IpAddr{}, e.port});
    if (locals_.empty()) return line(text, tls, std::nullopt);
    for (const IpAddr& l : locals_) line(text, tls, l);
  }

  const Route& route_;
  const Control& control_;
  const TlsFiles& tls_files_;
  const ExplainRequest& req_;
  DnsSource* dns_;
  Rng& rng_;
  const std::vector<IpAddr>& locals_;
  DeadHosts* dead_;
  NoDns no_dns_;
  DanePolicy dane_;
  std::set<std::string> shown_;  // hosts whose DNSSEC state is shown
  std::string out_;
  std::vector<std::string> demoted_;               // pairs the walk tries last (SPEC §12)
  std::optional<std::optional<sts::Policy>> sts_;  // looked up once, when needed
};

}  // namespace

std::string explain(const Control& control, const ExplainRequest& req, DnsSource* dns, Rng& rng,
                    DeadHosts* dead) {
  Selection sel = select_route(control, req.host, req.sender, req.recipient);
  const Route& r = sel.route;
  std::string out = "rule: " + sel.rule + "\n";
  out += "route: " + r.name + "\n";
  if (route_tls_default_changed(r))
    out += "tls: verify to host names, encrypt to IP literals (USER/PASS and no tls=, SPEC §8)\n";
  else
    out += std::string("tls: ") + tls_policy_name(route_tls_policy(r, false)) + "\n";
  out += "auth: " + (r.user.empty() ? std::string("no") : "yes (user " + r.user + ")") + "\n";
  Plan plan = make_plan(r, control.default_ips, rng);
  Explainer x(r, control, req, dns, rng, plan.locals, dead);
  for (const Endpoint& e : plan.remotes)
    if (!x.add(e, plan.remotes.size())) break;
  return out + x.text();
}

}  // namespace qr
