// control/routemap (SPEC §3.2): the input is a routes file, a NUL, then a
// routemap file; without a NUL the routemap is checked against two fixed
// routes. Accepted entries are then matched against addresses taken from
// the routemap text itself. Properties: an error names its line; every
// accepted ROUTE is one of the routes; "*" matches everything.
#include "fuzz/fuzz_util.h"
#include "lib/control/routemap.h"

using namespace qr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [first, second] = fuzz::split_nul(fuzz::as_text(data, size));
  std::vector<Route> routes;
  std::string_view map_text = first;
  if (first.size() < size) {  // there was a NUL
    auto parsed = parse_routes(fuzz::control_lines(first));
    if (!parsed) return 0;
    routes = std::move(*parsed);
    map_text = second;
  } else {
    routes.push_back(Route{.name = "a"});
    routes.push_back(Route{.name = "premium"});
  }
  auto lines = fuzz::control_lines(map_text);
  auto map = parse_routemap(lines, routes);
  if (!map) {
    FUZZ_CHECK(map.error().starts_with("control/routemap line "));
    return 0;
  }
  // Addresses to match: every ';'-separated field of the text, and "".
  std::vector<std::string> addresses{"", "#@[]", "u@example.com"};
  for (const auto& l : lines) {
    size_t start = 0;
    for (;;) {
      size_t semi = l.text.find(';', start);
      addresses.push_back(l.text.substr(start, semi - start));
      if (semi == std::string::npos || addresses.size() > 64) break;
      start = semi + 1;
    }
  }
  for (const RouteMapEntry& e : *map) {
    bool known = false;
    for (const Route& r : routes) known = known || r.name == e.route;
    FUZZ_CHECK(known);
    for (const auto& a : addresses) {
      bool s = e.sender.matches(a);
      bool r = e.recipient.matches(a);
      if (e.sender.kind == AddressPattern::Kind::Any) FUZZ_CHECK(s);
      if (e.recipient.kind == AddressPattern::Kind::Any) FUZZ_CHECK(r);
    }
  }
  return 0;
}
