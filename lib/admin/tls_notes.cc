#include "lib/admin/tls_notes.h"

#include "lib/dns/dnssec.h"
#include "lib/route/select.h"
#include "lib/route/tls_policy.h"

namespace qr {

namespace {

// The route's remotes that have a name for tlshosts/ and notlshosts/: host
// names, and IP literals as written (qmail-tls's partner_fqdn).
std::vector<Target> named_targets(const Route& r) {
  std::vector<Target> out;
  for (const auto& group : r.remote)
    for (const Endpoint& e : group) {
      if (e.is_mx) continue;
      Target t;
      t.port = e.port;
      if (e.ip)
        t.addr = *e.ip;
      else
        t.host = e.host;
      out.push_back(t);
    }
  return out;
}

std::string where(const Route& r, bool from_smtproutes) {
  return std::string(from_smtproutes ? "control/smtproutes:" : "control/routes:") +
         std::to_string(r.line);
}

}  // namespace

std::vector<std::string> tls_policy_notes(const Control& control) {
  // The routes of control/routes, and each smtproutes line as the route
  // select_route makes of it (its line number kept for the message).
  struct Source {
    Route route;
    bool smtproutes;
  };
  std::vector<Source> sources;
  for (const Route& r : control.routes) sources.push_back({r, false});
  for (const SmtpRoute& sr : control.smtproutes) {
    Control one;
    one.smtproutes = {sr};
    std::string host = sr.domain.empty() ? "x.invalid" : sr.domain;
    if (host.front() == '.') host = "x" + host;
    Route r = select_route(one, host, "", "r@" + host).route;
    r.line = sr.line;
    sources.push_back({r, true});
  }

  std::vector<std::string> notes;
  for (const Source& s : sources) {
    if (!route_tls_default_changed(s.route)) continue;
    std::string name = s.smtproutes ? "this smtproutes entry" : "route " + s.route.name;
    notes.push_back(
        where(s.route, s.smtproutes) + ": note: " + name +
        " has USER/PASS and no tls=, so its TLS policy is verify (encrypt to an IP literal), "
        "where other qmail-remotes used may (SPEC §8); " +
        (s.smtproutes ? "to relax it, move it to control/routes with tls=may"
                      : "write tls=may in its OPTIONS to keep the old behaviour"));
  }
  for (const Source& s : sources) {
    for (const Target& t : named_targets(s.route)) {
      std::string key = tls_host_key(t.host.empty() ? t.addr.str() : t.host);
      if (control.tls.no_tls.count(key) == 0) continue;
      TlsChoice c = tls_for(s.route, control.tls, t);
      if (c.policy == TlsPolicy::None || c.policy == TlsPolicy::May) continue;
      notes.push_back("control/notlshosts/" + key + ": note: " + where(s.route, s.smtproutes) +
                      " requires TLS (" + tls_policy_name(c.policy) + ") to " + key +
                      "; notlshosts/ only turns tls=may off (SPEC §8), so TLS is still used");
    }
  }
  return notes;
}

std::string dnssec_note(const DnssecAnchors& anchors) {
  const std::string head = "control/dnssec-anchors: note: ";
  auto dane = make_dane_dns(anchors);
  if (!dane) return head + "DANE is unavailable: " + dane.error();
  std::string why;
  switch ((*dane)->anchors_status(&why)) {
    case Security::Secure:
      return head + "the DNS server passes DNSSEC records and the anchors validate: " +
             "MX deliveries use DANE (tls=dane) where TLSA records are secure";
    case Security::Unavailable:
      return head + "DANE is unavailable, deliveries under tls=dane behave as may: " + why;
    case Security::Insecure:
    case Security::Bogus:
      break;
  }
  if (why.rfind("DNS failure", 0) == 0)
    return head + "could not ask the DNS server, so DANE was not checked: " + why;
  // Bogus from the top: every MX host under dane is refused (Z).
  return head + "the anchors do not validate (bogus), so no MX host under tls=dane is used: " + why;
}

}  // namespace qr
