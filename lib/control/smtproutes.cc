// control/smtproutes: vanilla qmail 1.03's rules (qmail-remote.c, constmap.c)
// plus the AUTH patch's "domain:relay:port|user|pass" (SPEC §3).
//
// Vanilla facts followed here:
// - The key is the text before the first ':'; it is compared
//   case-insensitively (constmap hashes and compares with case folded).
// - Lookup tries the whole host, then the host from each '.' on (".b.c",
//   ".c"), then "" (qmail-remote.c's loop over i = 0..host.len).
// - constmap_init links each new line at the head of its hash chain, so for a
//   duplicate key the LAST line is found first: last wins.
// - An empty relay means "use MX" and stops the lookup (no fall-through to
//   the default key).
// Where vanilla is lax we are strict, as SPEC §3 asks for a line that does
// not parse: a line without ':', a bad port (vanilla's scan_ulong would read
// "" as port 0), a bad relay name, USER without PASS.
#include "lib/control/smtproutes.h"

#include "lib/net/address.h"
#include "lib/text.h"

namespace qr {

namespace {

// "relay[:port]" with relay a host name, "[IP]" or empty.
Status parse_relay(std::string_view text, SmtpRoute& r) {
  auto split = split_host_port(text);
  if (!split) return split.failure();
  std::string_view port = split->port;
  if (split->bracketed) {
    r.relay = "[" + std::string(split->host) + "]";
    if (!IpAddr::parse(split->host)) return Error{"bad IP address " + quoted(r.relay)};
  } else {
    if (!split->host.empty() && !is_host_name(split->host))
      return Error{"bad relay " + quoted(split->host)};
    r.relay = std::string(split->host);
  }
  if (!port.empty()) {
    auto p = parse_port(port);
    if (!p) return Error{"bad port " + quoted(port)};
    r.port = *p;
  }
  return success();
}

}  // namespace

Result<std::vector<SmtpRoute>> parse_smtproutes(const std::vector<ControlLine>& lines) {
  std::vector<SmtpRoute> routes;
  for (const ControlLine& line : lines) {
    auto fail = [&](const std::string& what) {
      return control_error("smtproutes", line.number, what);
    };
    std::string_view text = line.text;
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) return fail("expected domain:relay[:port]");
    SmtpRoute r;
    r.line = line.number;
    r.domain = to_lower(text.substr(0, colon));
    std::string_view rest = text.substr(colon + 1);
    // The AUTH patch: "relay:port|user|pass"; the password may contain '|'.
    if (size_t bar = rest.find('|'); bar != std::string_view::npos) {
      std::string_view creds = rest.substr(bar + 1);
      rest = rest.substr(0, bar);
      size_t bar2 = creds.find('|');
      if (bar2 == std::string_view::npos) return fail("expected relay:port|user|pass");
      r.user = std::string(creds.substr(0, bar2));
      r.pass = std::string(creds.substr(bar2 + 1));
      if (!r.user.empty() && r.pass.empty()) return fail("user without password");
      if (r.user.empty() && !r.pass.empty()) return fail("password without user");
    }
    if (auto st = parse_relay(rest, r); !st) return fail(st.error());
    routes.push_back(std::move(r));
  }
  return routes;
}

const SmtpRoute* match_smtproutes(const std::vector<SmtpRoute>& routes, std::string_view host) {
  auto lookup = [&](std::string_view key) -> const SmtpRoute* {
    for (auto it = routes.rbegin(); it != routes.rend(); ++it)
      if (iequals(it->domain, key)) return &*it;
    return nullptr;
  };
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == 0 || i == host.size() || host[i] == '.')
      if (const SmtpRoute* r = lookup(host.substr(i))) return r;
  }
  return nullptr;
}

}  // namespace qr
