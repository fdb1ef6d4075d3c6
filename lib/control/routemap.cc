// control/routemap (SPEC §3.2). Choices the SPEC leaves open, made here:
// - The domain of an address is the text after its last '@'; an address with
//   no '@' is all domain. So a bare domain can be matched against domain
//   patterns, and the null sender "" has the empty domain, which no domain
//   pattern matches (only `*` and `<>` match it).
// - `.domain` matches strict subdomains only, never the domain itself (the
//   smtproutes rule).
// - `<>` is refused as RECIPIENT: no recipient is ever null.
// - Pattern bytes (SPEC §3): letters, digits, '-', '.', RFC 5322 atext
//   ("!#$%&'*+/=?^_`{|}~"), '[', ']' and ':' (domain literals such as
//   "[192.0.2.1]" or "[IPv6:2001:db8::1]"), one '@', and UTF-8 (SMTPUTF8
//   addresses). Anything else (white space, control bytes, '"', '(', ')',
//   ',', ';', '<', '>', '\', bytes that are not UTF-8) is an error, reported
//   by position and hex value, never echoed.
// - '*' stands alone: "*.example.com" and "*@example.com" look like wildcards
//   the grammar spells ".example.com" and "example.com"; taking them
//   literally would match nothing and route silently elsewhere. A '*' inside
//   a local part ("a*b@example.com") is an ordinary atext character.
#include "lib/control/routemap.h"

#include <optional>

#include "lib/text.h"

namespace qr {

namespace {

std::string_view domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? address : address.substr(at + 1);
}

// RFC 5322 atext specials, plus '[', ']', ':' for domain literals and '@'.
bool is_pattern_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  for (char ok : std::string_view("-.!#$%&'*+/=?^_`{|}~[]:@"))
    if (c == ok) return true;
  return false;
}

// The first byte of TEXT outside the pattern grammar, described for an
// error; nullopt when every byte is allowed.
std::optional<std::string> bad_byte(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      if (size_t n = utf8_sequence(text.substr(i))) {
        i += n;
        continue;
      }
    } else if (is_pattern_char(text[i])) {
      ++i;
      continue;
    }
    std::string where = " at position " + std::to_string(i + 1) + " is not allowed";
    if (c >= 0x20 && c < 0x7f) return "'" + std::string(1, text[i]) + "'" + where;
    return "byte " + byte_hex(c) + where;
  }
  return std::nullopt;
}

Result<AddressPattern> parse_pattern(std::string_view text, bool is_sender) {
  const std::string field = is_sender ? "SENDER" : "RECIPIENT";
  AddressPattern p;
  if (text == "*") return p;
  if (text == "<>") {
    if (!is_sender) return Error{"'<>' is only valid as SENDER"};
    p.kind = AddressPattern::Kind::Null;
    return p;
  }
  if (auto why = bad_byte(text)) return Error{"bad " + field + ": " + *why};
  // Every byte is now printable ASCII or UTF-8: quoting it is safe.
  auto bad = [&](const std::string& hint = "") {
    return Error{"bad " + field + " " + quoted(text) + (hint.empty() ? "" : " (" + hint + ")")};
  };
  if (text.empty()) return bad();
  p.value = to_lower(text);
  size_t at = text.find('@');
  std::string_view domain = at == std::string_view::npos ? text : text.substr(at + 1);
  if (domain.find('*') != std::string_view::npos)
    return bad("'*' stands alone; subdomains are written '.example.com'");
  if (at != std::string_view::npos) {
    if (at == 0 || domain.empty() || domain.find('@') != std::string_view::npos) return bad();
    if (text.substr(0, at) == "*") return bad("for any address at a domain, write the domain");
    p.kind = AddressPattern::Kind::Address;
  } else if (text.front() == '.') {
    if (text.size() == 1) return bad();
    p.kind = AddressPattern::Kind::Subdomains;
  } else {
    p.kind = AddressPattern::Kind::Domain;
  }
  return p;
}

}  // namespace

bool AddressPattern::matches(std::string_view address) const {
  switch (kind) {
    case Kind::Any:
      return true;
    case Kind::Null:
      // qmail writes the null sender as "" and a double bounce's as "#@[]".
      return address.empty() || address == "#@[]";
    case Kind::Address:
      return iequals(address, value);
    case Kind::Domain:
      return iequals(domain_of(address), value);
    case Kind::Subdomains: {
      std::string_view d = domain_of(address);
      return d.size() > value.size() && iequals(d.substr(d.size() - value.size()), value);
    }
  }
  return false;
}

Result<std::vector<RouteMapEntry>> parse_routemap(const std::vector<ControlLine>& lines,
                                                  const std::vector<Route>& routes) {
  std::vector<RouteMapEntry> entries;
  for (const ControlLine& line : lines) {
    auto fail = [&](const std::string& what) {
      return control_error("routemap", line.number, what);
    };
    auto fields = split(line.text, ';');
    if (fields.size() != 3)
      return fail("expected 3 fields SENDER;RECIPIENT;ROUTE, found " +
                  std::to_string(fields.size()));
    RouteMapEntry e;
    e.line = line.number;
    auto sender = parse_pattern(fields[0], true);
    if (!sender) return fail(sender.error());
    auto recipient = parse_pattern(fields[1], false);
    if (!recipient) return fail(recipient.error());
    e.sender = std::move(*sender);
    e.recipient = std::move(*recipient);
    e.route = std::string(fields[2]);
    bool known = false;
    for (const Route& r : routes) known = known || r.name == e.route;
    if (!known) return fail("unknown route " + quoted(e.route));
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace qr
