// SPEC §3.3: routemap, then smtproutes, then the destination's MX.
#include "lib/route/select.h"

#include "lib/text.h"

namespace qr {

namespace {

Endpoint mx_endpoint(uint16_t port = 25) {
  Endpoint ep;
  ep.is_mx = true;
  ep.port = port;
  return ep;
}

// A relay written in smtproutes: "" is MX, "[IP]" or "IP" an address, else a host name.
Endpoint relay_endpoint(const SmtpRoute& sr) {
  if (sr.relay.empty()) return mx_endpoint(sr.port);
  Endpoint ep;
  ep.port = sr.port;
  if (auto ip = host_literal(sr.relay)) {
    ep.ip = ip;
    ep.host = sr.relay.substr(1, sr.relay.size() - 2);
  } else if (auto plain = IpAddr::parse(sr.relay)) {
    // Vanilla's dns_ip takes a dotted address as it is, brackets or not.
    ep.ip = plain;
    ep.host = sr.relay;
  } else {
    ep.host = sr.relay;
  }
  return ep;
}

Route made_up(std::string name, Endpoint remote, const Control& control) {
  Route r;
  r.name = std::move(name);
  r.remote = {{std::move(remote)}};
  r.local = control.default_ips;
  return r;
}

}  // namespace

std::optional<IpAddr> host_literal(std::string_view host) {
  if (host.size() < 3 || host.front() != '[' || host.back() != ']') return std::nullopt;
  std::string_view in = host.substr(1, host.size() - 2);
  if (in.size() > 5 && iequals(in.substr(0, 5), "ipv6:")) in.remove_prefix(5);
  return IpAddr::parse(in);
}

Selection select_route(const Control& control, std::string_view host, std::string_view sender,
                       std::string_view recipient) {
  for (const RouteMapEntry& e : control.routemap) {
    if (!e.sender.matches(sender) || !e.recipient.matches(recipient)) continue;
    for (const Route& r : control.routes) {
      if (r.name != e.route) continue;
      Selection s{r, "routemap:" + std::to_string(e.line)};
      if (s.route.local.empty()) s.route.local = control.default_ips;
      return s;
    }
    // parse_routemap refuses unknown names; a Control built by hand might not.
  }
  if (const SmtpRoute* sr = match_smtproutes(control.smtproutes, host)) {
    Route r = made_up("smtproutes", relay_endpoint(*sr), control);
    r.user = sr->user;
    r.pass = sr->pass;
    return {std::move(r), "smtproutes:" + std::to_string(sr->line)};
  }
  // An IP-literal destination has no MX: connect to the literal (SPEC §1).
  Endpoint remote = mx_endpoint();
  if (auto ip = host_literal(host)) {
    remote = Endpoint{};
    remote.ip = ip;
    remote.host = std::string(host.substr(1, host.size() - 2));
  }
  return {made_up("mx", std::move(remote), control), "mx"};
}

}  // namespace qr
