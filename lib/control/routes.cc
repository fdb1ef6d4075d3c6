// control/routes (SPEC §3.1). Choices the SPEC leaves open, made here:
// - Route names are case-sensitive (routemap must spell them the same way).
// - Fields are taken as written: no white space is trimmed inside a line, so
//   "a; 1.1.1.1" is an error rather than a guess. USER and PASS are raw bytes
//   (they cannot contain ';', the field separator).
// - No error quotes USER, PASS or anything after them on a line with
//   credentials: a ';' in a password puts its tail into OPTIONS (or into a
//   seventh field), and errors end up in reports and on the qmail-routes
//   commands' output. Field-count errors never quote fields; other quoted
//   text has its non-printable bytes escaped.
// - `mx` is matched case-insensitively and takes no port ("mx:587" is an
//   error: the MX hosts listen on 25).
// - LOCAL_IPS items may be written "[IPv6]" as well as bare IPv6, since there
//   is no port to confuse them with.
// - An empty OPTIONS field (a trailing ';') means the defaults; a key given
//   twice is an error, since which one wins would be a guess.
#include "lib/control/routes.h"

#include <map>

#include "lib/control/text.h"

namespace qr {

namespace {

// A character that cannot appear in any item of the field is reported as a
// separator: "1.1.1.1/2.2.2.2" most likely meant '&' or '|'.
std::optional<char> unknown_separator(std::string_view text) {
  for (char c : text)
    if (!is_host_char(c) && c != ':' && c != '[' && c != ']' && c != '&' && c != '|') return c;
  return std::nullopt;
}

// Splits "a&b|c" into groups of members; every member non-empty.
Result<Groups<std::string_view>> split_groups(std::string_view text) {
  if (auto c = unknown_separator(text))
    return Error{"unknown separator " + quoted(std::string_view(&*c, 1))};
  Groups<std::string_view> groups;
  if (text.empty()) return groups;
  for (std::string_view group : split(text, '&')) {
    std::vector<std::string_view> members;
    for (std::string_view m : split(group, '|')) {
      if (m.empty()) return Error{"empty item"};
      members.push_back(m);
    }
    groups.push_back(std::move(members));
  }
  return groups;
}

// "[addr]" -> "addr"; anything else unchanged. nullopt: '[' without ']'.
std::optional<std::string_view> unbracket(std::string_view item) {
  if (item.empty() || item.front() != '[') return item;
  if (item.back() != ']') return std::nullopt;
  return item.substr(1, item.size() - 2);
}

Result<Endpoint> parse_endpoint(std::string_view item) {
  Endpoint ep;
  if (iequals(item, "mx")) {
    ep.is_mx = true;
    return ep;
  }
  std::string_view addr = item, port;
  if (item.front() == '[') {
    size_t close = item.find(']');
    if (close == std::string_view::npos) return Error{"unclosed bracket " + quoted(item)};
    addr = item.substr(1, close - 1);
    std::string_view after = item.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error{"bad item " + quoted(item)};
      port = after.substr(1);
      if (port.empty()) return Error{"bad port ''"};
    }
    auto ip = IpAddr::parse(addr);
    if (!ip) return Error{"bad IP address " + quoted(addr)};
    ep.ip = ip;
  } else {
    size_t colon = item.find(':');
    if (colon != std::string_view::npos && item.find(':', colon + 1) != std::string_view::npos)
      return Error{"IPv6 address " + quoted(item) + " needs brackets ([IPv6]:PORT)"};
    if (colon != std::string_view::npos) {
      addr = item.substr(0, colon);
      port = item.substr(colon + 1);
      if (port.empty()) return Error{"bad port ''"};
    }
    if (iequals(addr, "mx")) return Error{"'mx' takes no port"};
    if (!is_host_name(addr)) return Error{"bad host name " + quoted(addr)};
    ep.ip = IpAddr::parse(addr);  // IPv4 only: one colon at most is left
  }
  ep.host = std::string(addr);
  if (!port.empty()) {
    auto p = parse_port(port);
    if (!p) return Error{"bad port " + quoted(port)};
    ep.port = *p;
  }
  return ep;
}

// With credentials on the line, nothing after PASS may appear in an error
// (SPEC §1: no form of a password in a report): a ';' inside the password
// splits the line there, and the rest of the password becomes OPTIONS. Such
// errors give the item's number and what is wrong with it, never its text.
Result<RouteOptions> parse_options(std::string_view text, bool has_credentials) {
  RouteOptions opt;
  if (text.empty()) return opt;
  std::map<std::string, bool> seen;
  int number = 0;
  for (std::string_view item : split(text, ',')) {
    ++number;
    // `open` quotes the option's text; `secret` names only its number.
    auto fail = [&](const std::string& open, const std::string& secret) {
      if (!has_credentials) return Error{open + " in OPTIONS"};
      return Error{"OPTIONS item " + std::to_string(number) + " " + secret +
                   " (PASS cannot contain ';': see qmail-routes(8))"};
    };
    size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return fail("option " + quoted(item) + " is not key=value", "is not key=value");
    std::string key(item.substr(0, eq));
    std::string_view value = item.substr(eq + 1);
    if (seen[key]) return fail("option " + quoted(key) + " given twice", "repeats an earlier key");
    seen[key] = true;
    auto bad_value = [&](const char* allowed) {
      return fail(
          "bad value " + quoted(value) + " for option " + quoted(key) + " (" + allowed + ")",
          "has a bad value");
    };
    if (key == "tls") {
      opt.tls_set = true;
      if (value == "none")
        opt.tls = TlsPolicy::None;
      else if (value == "may")
        opt.tls = TlsPolicy::May;
      else if (value == "encrypt")
        opt.tls = TlsPolicy::Encrypt;
      else if (value == "verify")
        opt.tls = TlsPolicy::Verify;
      else if (value == "dane")
        opt.tls = TlsPolicy::Dane;
      else
        return bad_value("none, may, encrypt, verify or dane");
    } else if (key == "helo") {
      if (iequals(value, "ptr"))
        opt.helo_ptr = true;
      else if (is_host_name(value))
        opt.helo = std::string(value);
      else
        return bad_value("a host name or ptr");
    } else if (key == "auth-cleartext") {
      if (value == "yes")
        opt.auth_cleartext = true;
      else if (value == "no")
        opt.auth_cleartext = false;
      else
        return bad_value("yes or no");
    } else {
      return fail("unknown option " + quoted(key), "has an unknown key");
    }
  }
  return opt;
}

bool is_route_name(std::string_view name) {
  return is_host_name(name);
}

}  // namespace

Result<Groups<IpAddr>> parse_local_ips(std::string_view text) {
  auto groups = split_groups(text);
  if (!groups) return Error{groups.error()};
  Groups<IpAddr> out;
  for (const auto& group : *groups) {
    std::vector<IpAddr> members;
    for (std::string_view item : group) {
      auto inner = unbracket(item);
      auto ip = inner ? IpAddr::parse(*inner) : std::nullopt;
      if (!ip) return Error{"bad IP address " + quoted(item)};
      members.push_back(*ip);
    }
    out.push_back(std::move(members));
  }
  return out;
}

Result<Groups<Endpoint>> parse_remote_addrs(std::string_view text) {
  auto groups = split_groups(text);
  if (!groups) return Error{groups.error()};
  Groups<Endpoint> out;
  for (const auto& group : *groups) {
    std::vector<Endpoint> members;
    for (std::string_view item : group) {
      auto ep = parse_endpoint(item);
      if (!ep) return Error{ep.error()};
      // SPEC §3.1: `mx` expands to several hosts in preference order; shuffling
      // it with other members would have no clear meaning.
      if (ep->is_mx && group.size() > 1)
        return Error{"'mx' cannot share a '|' group with other members"};
      members.push_back(std::move(*ep));
    }
    out.push_back(std::move(members));
  }
  return out;
}

Result<std::vector<Route>> parse_routes(const std::vector<ControlLine>& lines) {
  std::vector<Route> routes;
  std::map<std::string, int> names;  // name -> line it was first defined on
  for (const ControlLine& line : lines) {
    auto fail = [&](const std::string& what) {
      return Error{"control/routes line " + std::to_string(line.number) + ": " + what};
    };
    auto fields = split(line.text, ';');
    if (fields.size() != 5 && fields.size() != 6)
      return fail("expected 5 or 6 fields NAME;LOCAL_IPS;REMOTE_ADDRS;USER;PASS[;OPTIONS], found " +
                  std::to_string(fields.size()));
    Route r;
    r.line = line.number;
    r.name = std::string(fields[0]);
    if (r.name.empty()) return fail("empty route name");
    if (!is_route_name(r.name)) return fail("bad route name " + quoted(r.name));
    if (auto it = names.find(r.name); it != names.end())
      return fail("duplicate route name " + quoted(r.name) + " (first on line " +
                  std::to_string(it->second) + ")");
    names[r.name] = line.number;
    auto local = parse_local_ips(fields[1]);
    if (!local) return fail(local.error() + " in LOCAL_IPS");
    r.local = std::move(*local);
    auto remote = parse_remote_addrs(fields[2]);
    if (!remote) return fail(remote.error() + " in REMOTE_ADDRS");
    r.remote = std::move(*remote);
    r.user = std::string(fields[3]);
    r.pass = std::string(fields[4]);
    if (!r.user.empty() && r.pass.empty()) return fail("USER without PASS");
    if (r.user.empty() && !r.pass.empty()) return fail("PASS without USER");
    if (fields.size() == 6) {
      // USER and PASS are both set here, or both empty (checked above).
      auto opt = parse_options(fields[5], !r.user.empty());
      if (!opt) return fail(opt.error());
      r.options = std::move(*opt);
    }
    routes.push_back(std::move(r));
  }
  return routes;
}

}  // namespace qr
