// explain: select_route, make_plan, the DNS expansion and pair_attempts, as
// the walk of lib/deliver.cc uses them (SPEC §3.3, §4, §5), printed instead
// of tried.
#include "lib/admin/explain.h"

#include <unistd.h>

#include "lib/control/text.h"
#include "lib/net/connect.h"
#include "lib/route/select.h"
#include "lib/route/tls_policy.h"

namespace qr {

namespace {

std::string show_local(const std::optional<IpAddr>& local) {
  return local ? local->str() : "default";
}

class Explainer {
 public:
  Explainer(const Route& route, const TlsFiles& tls_files, const ExplainRequest& req,
            Resolver* resolver, Rng& rng, const std::vector<IpAddr>& locals)
      : route_(route),
        tls_files_(tls_files),
        req_(req),
        resolver_(resolver),
        rng_(rng),
        locals_(locals) {}

  void add(const Endpoint& e) {
    if (!resolver_ && (e.is_mx || !e.ip)) return unresolved(e);
    for (const Target& t : expand(e)) {
      auto pairs = pair_attempts({t}, locals_);
      if (pairs.empty()) note(remote(t) + ": no local IP of its address family");
      for (const Attempt& a : pairs)
        line(remote(a.target), tls_for(route_, tls_files_, a.target), a.local);
    }
  }
  std::string text() const { return out_; }

 private:
  void line(const std::string& remote, const TlsChoice& tls, const std::optional<IpAddr>& local) {
    out_ += "remote=" + remote + " local=" + show_local(local) +
            " tls=" + tls_policy_name(tls.policy) + "\n";
  }
  void note(const std::string& text) { out_ += "# " + text + "\n"; }

  // SPEC §10's form: "mx1.example.com[192.0.2.1]:25", or "[192.0.2.1]:25".
  static std::string remote(const Target& t) {
    return t.host + "[" + t.addr.str() + "]:" + std::to_string(t.port);
  }

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

  std::vector<Target> expand(const Endpoint& e) {
    if (!e.is_mx) {
      if (e.ip) return {Target{"", *e.ip, e.port, false}};
      HostAnswer a = resolver_->lookup_host(e.host);
      if (a.status != DnsStatus::Ok || a.addrs.empty()) {
        note(e.host + ": " + (a.error.empty() ? "no address" : a.error));
        return {};
      }
      std::vector<Target> out;
      for (const IpAddr& ip : a.addrs) out.push_back(Target{e.host, ip, e.port, false});
      return out;
    }
    if (auto lit = host_literal(req_.host)) return {Target{"", *lit, e.port, false}};
    MxAnswer a = resolver_->lookup_mx(to_lower(req_.host), rng_);
    switch (a.status) {
      case DnsStatus::NxDomain:
        note("MX for " + req_.host + ": no such domain");
        return {};
      case DnsStatus::NullMx:
        note("MX for " + req_.host + ": null MX, the domain accepts no mail");
        return {};
      case DnsStatus::TempFail:
        note("MX for " + req_.host + ": " + a.error);
        return {};
      case DnsStatus::Ok:
        break;
    }
    if (a.implicit) note("no MX for " + req_.host + ": its own address (implicit MX)");
    // SPEC §5: this host among the best MX would make the mail loop.
    if (drop_self_mx(a.hosts, [](const IpAddr& ip) { return is_local_address(ip); }))
      note("this host is an MX of " + req_.host + ": it and every worse MX are dropped");
    std::vector<Target> out;
    for (const MxHost& h : a.hosts) {
      if (h.addrs.empty()) note(h.name + ": " + (h.error.empty() ? "no address" : h.error));
      for (const IpAddr& ip : h.addrs) out.push_back(Target{h.name, ip, e.port, true});
    }
    return out;
  }

  const Route& route_;
  const TlsFiles& tls_files_;
  const ExplainRequest& req_;
  Resolver* resolver_;
  Rng& rng_;
  const std::vector<IpAddr>& locals_;
  std::string out_;
};

}  // namespace

std::string explain(const Control& control, const std::string& /*dir*/, const ExplainRequest& req,
                    Resolver* resolver, Rng& rng) {
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
  Explainer x(r, control.tls, req, resolver, rng, plan.locals);
  for (const Endpoint& e : plan.remotes) x.add(e);
  return out + x.text();
}

}  // namespace qr
