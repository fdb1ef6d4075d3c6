// LOCAL_IPS and REMOTE_ADDRS lists (SPEC §3.1): parse_local_ips and
// parse_remote_addrs on the same text. Properties: an accepted list has
// non-empty groups; a failure says why.
#include "fuzz/fuzz_util.h"
#include "lib/control/routes.h"

using namespace qr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  auto local = parse_local_ips(text);
  if (local) {
    for (const auto& g : *local) FUZZ_CHECK(!g.empty());
  } else {
    FUZZ_CHECK(!local.error().empty());
  }
  auto remote = parse_remote_addrs(text);
  if (remote) {
    for (const auto& g : *remote) {
      FUZZ_CHECK(!g.empty());
      for (const Endpoint& e : g) {
        FUZZ_CHECK(e.is_mx || !e.host.empty());
        FUZZ_CHECK(e.port != 0);
      }
    }
  } else {
    FUZZ_CHECK(!remote.error().empty());
  }
  return 0;
}
