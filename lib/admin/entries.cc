#include "lib/admin/entries.h"

#include <fmt/format.h>

#include "lib/control/routemap.h"
#include "lib/control/routes.h"
#include "lib/text.h"

namespace qr {

namespace {

std::vector<std::string> fields_of(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view f : split(text, ';')) out.emplace_back(f);
  return out;
}

// "host:port" always with its port, as the seed prints it; "[IPv6]:port".
std::string show_remote(const std::string& member) {
  auto parsed = parse_remote_addrs(member);
  if (!parsed || parsed->empty() || parsed->front().empty()) return member;
  const Endpoint& ep = parsed->front().front();
  if (ep.is_mx) return "mx";
  if (ep.ip) return format_endpoint(*ep.ip, ep.port);
  return ep.host + ":" + std::to_string(ep.port);
}

}  // namespace

RemoteText split_remote(std::string_view field) {
  RemoteText groups;
  if (field.empty()) return groups;
  for (std::string_view g : split(field, '&')) {
    std::vector<std::string> members;
    for (std::string_view m : split(g, '|')) members.emplace_back(m);
    groups.push_back(std::move(members));
  }
  return groups;
}

std::string join_remote(const RemoteText& groups) {
  std::string out;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (g) out += '&';
    for (size_t m = 0; m < groups[g].size(); ++m) {
      if (m) out += '|';
      out += groups[g][m];
    }
  }
  return out;
}

Status validate(const RouteFiles& files) {
  auto routes = parse_routes(control_lines(files.routes));
  if (!routes) return routes.failure();
  auto map = parse_routemap(control_lines(files.routemap), *routes);
  if (!map) return map.failure();
  return success();
}

std::vector<RouteLine> route_lines(const TextFile& routes) {
  std::vector<RouteLine> out;
  for (const ControlLine& l : control_lines(routes))
    out.push_back(RouteLine{size_t(l.number - 1), fields_of(l.text)});
  return out;
}

std::vector<MapLine> map_lines(const TextFile& routemap) {
  std::vector<MapLine> out;
  for (const ControlLine& l : control_lines(routemap)) {
    auto f = fields_of(l.text);
    if (f.size() == 3) out.push_back(MapLine{size_t(l.number - 1), f[0], f[1], f[2]});
  }
  return out;
}

Result<std::vector<Entry>> list_entries(const RouteFiles& files) {
  if (auto st = validate(files); !st) return st.failure();
  std::vector<RouteLine> routes = route_lines(files.routes);
  std::vector<Entry> entries;
  for (const MapLine& m : map_lines(files.routemap)) {
    const RouteLine* route = nullptr;
    for (const RouteLine& r : routes)
      if (r.fields[0] == m.route) route = &r;  // names are unique (parse_routes)
    if (!route) continue;                      // validate() refuses this
    RemoteText groups = split_remote(route->fields[2]);
    if (groups.empty()) {
      entries.push_back(Entry{m, *route, 1, 0, "mx"});
      continue;
    }
    for (size_t g = 0; g < groups.size(); ++g)
      for (size_t i = 0; i < groups[g].size(); ++i)
        entries.push_back(Entry{m, *route, int(g + 1), i, groups[g][i]});
  }
  return entries;
}

std::string format_entry(size_t id, const Entry& e) {
  const std::vector<std::string>& f = e.route.fields;
  auto part = [](std::string_view label, const std::string& value) {
    return value.empty() ? std::string() : fmt::format(" - {}: {}", label, value);
  };
  // The seed's line, with our additions where they apply.
  return fmt::format(
      "{}{} - Destination host: {} - Priority: {} - Local IPs: {} - Remote host: {}{}{} - Route: "
      "{}",
      id, part("Sender", e.map.sender == "*" ? "" : e.map.sender), e.map.recipient, e.priority,
      f[1].empty() ? "default" : f[1], show_remote(e.remote), part("Remote login", f[3]),
      part("Options", f.size() > 5 ? f[5] : ""), f[0]);
}

}  // namespace qr
