// control/dnssec-anchors (SPEC §13): parse_dnssec_anchors, ldns's zone-file
// reader behind it. Properties: an error names the file (and a line, when
// one is at fault); an accepted file has at least one record, each DS or
// DNSKEY on one line, and the records read back as the same records.
#include "fuzz/fuzz_util.h"
#include "lib/dns/dnssec.h"

using namespace qr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string shown = "control/dnssec-anchors";
  auto anchors = parse_dnssec_anchors(fuzz::as_text(data, size), shown);
  if (!anchors) {
    FUZZ_CHECK(anchors.error().starts_with(shown));
    FUZZ_CHECK(anchors.failure().line >= 0);
    return 0;
  }
  FUZZ_CHECK(!anchors->records.empty());
  std::string again;
  for (const std::string& r : anchors->records) {
    FUZZ_CHECK(r.find('\n') == std::string::npos);
    FUZZ_CHECK(r.find("\tDS\t") != std::string::npos || r.find("\tDNSKEY\t") != std::string::npos);
    again += r + "\n";
  }
  auto reread = parse_dnssec_anchors(again, shown);
  FUZZ_CHECK(reread.ok());
  FUZZ_CHECK(reread->records == anchors->records);
  return 0;
}
