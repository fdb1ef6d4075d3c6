// control/routes (SPEC §3.1): parse_routes on the lines of a file.
// Properties: an error names its line; an accepted route has a name and its
// members are non-empty groups; an IP-literal endpoint has its address.
#include "fuzz/fuzz_util.h"
#include "lib/control/routes.h"

using namespace qr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto lines = fuzz::control_lines(fuzz::as_text(data, size));
  auto routes = parse_routes(lines);
  if (!routes) {
    FUZZ_CHECK(routes.error().starts_with("control/routes line "));
    return 0;
  }
  FUZZ_CHECK(routes->size() <= lines.size());
  for (const Route& r : *routes) {
    FUZZ_CHECK(!r.name.empty());
    FUZZ_CHECK(r.line >= 1);
    for (const auto& g : r.local) FUZZ_CHECK(!g.empty());
    for (const auto& g : r.remote) {
      FUZZ_CHECK(!g.empty());
      for (const Endpoint& e : g) FUZZ_CHECK(e.is_mx || !e.host.empty());
    }
    FUZZ_CHECK(tls_policy_name(r.options.tls) != nullptr);
  }
  return 0;
}
