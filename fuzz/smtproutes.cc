// control/smtproutes (SPEC §3): parse_smtproutes, then match_smtproutes for
// hosts taken from the file itself. Properties: an error names its line;
// a match is one of the parsed routes, and its domain is the host, a suffix
// of it starting with '.', or "".
#include "fuzz/fuzz_util.h"
#include "lib/control/smtproutes.h"
#include "lib/text.h"

using namespace qr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto lines = fuzz::control_lines(fuzz::as_text(data, size));
  auto routes = parse_smtproutes(lines);
  if (!routes) {
    FUZZ_CHECK(routes.error().starts_with("control/smtproutes line "));
    return 0;
  }
  std::vector<std::string> hosts{"", "example.com", "a.b.example.com"};
  for (const auto& l : lines) {
    hosts.push_back(l.text.substr(0, l.text.find(':')));
    if (hosts.size() > 16) break;
  }
  for (size_t i = 0; i < routes->size() && i < 16; ++i) hosts.push_back("x." + (*routes)[i].domain);
  for (const auto& h : hosts) {
    const SmtpRoute* m = match_smtproutes(*routes, h);
    if (!m) continue;
    FUZZ_CHECK(m >= routes->data() && m < routes->data() + routes->size());
    std::string lh = to_lower(h);
    FUZZ_CHECK(m->domain.empty() || m->domain == lh ||
               (m->domain.front() == '.' && lh.ends_with(m->domain)));
  }
  return 0;
}
