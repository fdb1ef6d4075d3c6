// control/dnssec-anchors (SPEC §13): DS or DNSKEY records, errors naming
// the file and the line. The validation itself runs against real signed
// zones in tests/integration/t_dane.sh.
#include "lib/dns/dnssec.h"

#include <catch2/catch.hpp>

using namespace qr;

namespace {

const char* kDs =
    "example. 3600 IN DS 12345 13 2 "
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const char* kFile = "control/dnssec-anchors";

}  // namespace

TEST_CASE("dnssec-anchors: DS and DNSKEY records, comments, parentheses", "[dnssec]") {
  std::string text = std::string("; the test anchor\n# a control-file comment\n\n") + kDs +
                     "\n"
                     "example. IN DNSKEY 257 3 13 (\n"
                     "  mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+\n"
                     "  KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== )\n";
  auto a = parse_dnssec_anchors(text, kFile);
  REQUIRE(a.ok());
  REQUIRE(a->records.size() == 2);
  // Hex digits in either case: DNS presentation format does not fix one.
  std::string ds = a->records[0];
  for (char& ch : ds) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  CHECK(ds.find("ds\t12345 13 2 0123456789abcdef0123") != std::string::npos);
  CHECK(a->records[1].find("DNSKEY\t257 3 13 mdsswUyr3DPW") != std::string::npos);
  CHECK(a->file == kFile);
}

TEST_CASE("dnssec-anchors: errors name the file and the line", "[dnssec]") {
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"", "control/dnssec-anchors: no DS or DNSKEY record"},
      {"; only a comment\n", "control/dnssec-anchors: no DS or DNSKEY record"},
      {std::string(kDs) + "\nexample. IN A 192.0.2.1\n",
       "control/dnssec-anchors line 2: a A record, not DS or DNSKEY"},
      {std::string("# comment\n#\n") + kDs + "\nexample. IN A 192.0.2.1\n",
       "control/dnssec-anchors line 4: a A record, not DS or DNSKEY"},
      {std::string("\n\n") + "example. IN DS 12345 13 2 not-hex\n",
       "control/dnssec-anchors line 3: "},
      // Owners that would read back as a directive or a comment (fuzz).
      {"$ORIGIN $INCLUDE example.\n@ IN DS 1 13 2 0102\n",
       "control/dnssec-anchors line 2: a record that does not read back as written: "},
      {"$ORIGIN #example.\n@ IN DS 1 13 2 0102\n",
       "control/dnssec-anchors line 2: a record that does not read back as written: "},
      {"example. IN TYPE2570800300 \\# 0\n", "control/dnssec-anchors line 1: "},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto a = parse_dnssec_anchors(c.text, kFile);
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().rfind(c.error, 0) == 0);
  }
}

TEST_CASE("dnssec-anchors: Debian's root key parses", "[dnssec]") {
  auto a = load_dnssec_anchors(kDefaultAnchorsFile, kDefaultAnchorsFile);
  if (!a.ok() && a.error().find("No such file") != std::string::npos) {
    WARN("no " << kDefaultAnchorsFile << " (dns-root-data): skipped");
    return;
  }
  REQUIRE(a.ok());
  CHECK_FALSE(a->records.empty());
  for (const auto& r : a->records) CHECK(r.rfind(".\t", 0) == 0);
}

TEST_CASE("dnssec-anchors: a missing file is an error naming it", "[dnssec]") {
  auto a = load_dnssec_anchors("/nonexistent/anchors", "control/dnssec-anchors");
  REQUIRE_FALSE(a.ok());
  CHECK(a.error() == "control/dnssec-anchors: cannot read: No such file or directory");
}
