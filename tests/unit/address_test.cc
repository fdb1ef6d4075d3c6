// Envelope addresses on the wire (SPEC §6): the local part is quoted when it
// is not a dot-atom, as vanilla qmail-remote's quote2() does, so that no
// address can end the path early or add ESMTP parameters.
#include "lib/smtp/address.h"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("smtp_path quotes a local part that is not a dot-atom", "[address]") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      // Dot-atoms go as they are.
      {"john@example.org", "john@example.org"},
      {"john.smith@example.org", "john.smith@example.org"},
      {"a!#$%&'*+-/=?^_`{|}~z@example.org", "a!#$%&'*+-/=?^_`{|}~z@example.org"},
      {"UPPER.Case-1@Example.ORG", "UPPER.Case-1@Example.ORG"},
      // The null sender and qmail's double-bounce sender are left alone.
      {"", ""},
      {"#@[]", "#@[]"},
      // Dot-atom edge cases (RFC 5321 §4.1.2 Dot-string).
      {".john@example.org", "\".john\"@example.org"},
      {"john.@example.org", "\"john.\"@example.org"},
      {"jo..hn@example.org", "\"jo..hn\"@example.org"},
      {".@example.org", "\".\"@example.org"},
      {"@example.org", "\"\"@example.org"},
      // Specials, spaces and controls: quoted.
      {"john smith@example.org", "\"john smith\"@example.org"},
      {"x> NOTIFY=NEVER y@example.org", "\"x> NOTIFY=NEVER y\"@example.org"},
      {"a<b@example.org", "\"a<b\"@example.org"},
      {"a(b)c@example.org", "\"a(b)c\"@example.org"},
      {"a,b;c:d@example.org", "\"a,b;c:d\"@example.org"},
      {"a[b]@example.org", "\"a[b]\"@example.org"},
      {"tab\there@example.org", "\"tab\there\"@example.org"},
      // '"' and '\' are escaped inside the quotes.
      {"say\"hi\"@example.org", "\"say\\\"hi\\\"\"@example.org"},
      {"back\\slash@example.org", "\"back\\\\slash\"@example.org"},
      {"\"@example.org", "\"\\\"\"@example.org"},
      // The domain is what follows the last '@'.
      {"a@b@example.org", "\"a@b\"@example.org"},
      {"a@b c@example.org", "\"a@b c\"@example.org"},
      {"@@example.org", "\"@\"@example.org"},
      {"john@", "john@"},
      // No '@': all local part (vanilla's quote2).
      {"postmaster", "postmaster"},
      {"john smith", "\"john smith\""},
      // 8-bit local parts go unquoted (SMTPUTF8, RFC 6531 §3.3)...
      {"j\xc3\xb6rg@example.org", "j\xc3\xb6rg@example.org"},
      {"\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b.\xe4\xb8\xad\xe5\x9b\xbd",
       "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b.\xe4\xb8\xad\xe5\x9b\xbd"},
      // ...unless something else needs the quotes.
      {"j\xc3\xb6rg smith@example.org", "\"j\xc3\xb6rg smith\"@example.org"},
  };
  for (const auto& c : cases) {
    INFO("address: " << c.in);
    CHECK(qr::smtp_path(c.in) == c.out);
  }
}

TEST_CASE("local_part_needs_quotes and quote_local_part", "[address]") {
  CHECK_FALSE(qr::local_part_needs_quotes("a.b.c"));
  CHECK(qr::local_part_needs_quotes(""));
  CHECK(qr::local_part_needs_quotes("a b"));
  CHECK(qr::local_part_needs_quotes("a\x7f"));
  CHECK(qr::quote_local_part("") == "\"\"");
  CHECK(qr::quote_local_part("a\"b\\c") == "\"a\\\"b\\\\c\"");
}
