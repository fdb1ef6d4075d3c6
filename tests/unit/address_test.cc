// Envelope addresses on the wire (SPEC §6): the local part is quoted when it
// is not a dot-atom, as vanilla qmail-remote's quote2() does, so that no
// address can end the path early or add ESMTP parameters.
#include "lib/smtp/address.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

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

namespace {

// An independent reader of what smtp_path writes (RFC 5321 §4.1.2): a
// Quoted-string or a Dot-string, then "@" and the domain, or nothing.
// Returns the address it stands for, or "!" when the path is not well formed.
std::string read_path(const std::string& path) {
  std::string local;
  size_t i = 0;
  if (!path.empty() && path[0] == '"') {
    for (i = 1; i < path.size() && path[i] != '"'; ++i) {
      if (path[i] == '\\') {
        if (++i == path.size()) return "!";
        if (path[i] != '"' && path[i] != '\\') return "!";  // only what quote escapes
      }
      local += path[i];
    }
    if (i == path.size()) return "!";  // no closing quote
    ++i;
  } else {
    i = std::min(path.find('@'), path.size());
    local = path.substr(0, i);
    if (qr::local_part_needs_quotes(local)) return "!";
  }
  if (i == path.size()) return local;
  if (path[i] != '@') return "!";
  return local + path.substr(i);
}

}  // namespace

// Every local part of up to 3 bytes from an alphabet of troublemakers: the
// path reads back as the address, and nothing outside the quotes can end
// the path or start a parameter.
TEST_CASE("smtp_path reads back as the address it was made from", "[address]") {
  const std::string alphabet = std::string("a.\" \\>@<\t") + '\xc3';
  std::vector<std::string> locals = {""};
  for (size_t len = 0, from = 0; len < 3; ++len) {
    size_t to = locals.size();
    for (size_t k = from; k < to; ++k)
      for (char c : alphabet) locals.push_back(locals[k] + c);
    from = to;
  }
  for (const auto& local : locals) {
    for (const std::string domain : {"@example.org", ""}) {
      std::string address = local + domain;
      if (address.empty()) continue;  // the null sender: <>
      std::string path = qr::smtp_path(address);
      INFO("address: " << address << " path: " << path);
      CHECK(read_path(path) == address);
      // The domain goes unchanged (a domain cannot be quoted; see
      // DECISIONS): only the local part is checked here.
      if (path[0] != '"') {
        CHECK(path.substr(0, path.find('@')).find_first_of(" <>\"\\\t") == std::string::npos);
      }
    }
  }
}

// A domain cannot be quoted: one that could end the path or add ESMTP
// parameters is refused with D before any connection (deliver()).
TEST_CASE("sendable_domain", "[address]") {
  const struct {
    const char* address;
    bool ok;
  } cases[] = {
      {"a@example.org", true},
      {"a@[192.0.2.1]", true},
      {"a@[IPv6:2001:db8::1]", true},
      {"a@b\xc3\xa9.example", true},     // UTF-8 (SMTPUTF8)
      {"john smith@example.org", true},  // the local part is quoted instead
      {"postmaster", true},
      {"", true},
      {"#@[]", true},
      {"x@d> NOTIFY=NEVER", false},
      {"x@d NOTIFY=NEVER", false},
      {"x@d>", false},
      {"x@<d", false},
      {"x@d\tx", false},
      {"x@d\x7f", false},
      {"x@d\"", false},
      {"x@d\\", false},
      {"x@d,e", false},
      {"x@d;e", false},
      {"x@(d)", false},
      {"a@b@d e", false},  // the domain is after the last '@'
  };
  for (const auto& c : cases) {
    INFO(c.address);
    CHECK(qr::sendable_domain(c.address) == c.ok);
  }
}
