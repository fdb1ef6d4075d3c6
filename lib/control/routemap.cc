// control/routemap (SPEC §3.2). Choices the SPEC leaves open, made here:
// - The domain of an address is the text after its last '@'; an address with
//   no '@' is all domain. So a bare domain can be matched against domain
//   patterns, and the null sender "" has the empty domain, which no domain
//   pattern matches (only `*` and `<>` match it).
// - `.domain` matches strict subdomains only, never the domain itself (the
//   smtproutes rule).
// - `<>` is refused as RECIPIENT: no recipient is ever null.
// - Pattern text is checked loosely (no white space, no stray '*', '<', '>'),
//   since domain literals such as "[192.0.2.1]" are legitimate domains.
#include "lib/control/routemap.h"

#include "lib/control/text.h"

namespace qr {

namespace {

std::string_view domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? address : address.substr(at + 1);
}

bool plausible(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c == ' ' || c == '\t' || c == '*' || c == '<' || c == '>') return false;
  return true;
}

Result<AddressPattern> parse_pattern(std::string_view text, bool is_sender) {
  const char* field = is_sender ? "SENDER" : "RECIPIENT";
  AddressPattern p;
  if (text == "*") return p;
  if (text == "<>") {
    if (!is_sender) return Error{"'<>' is only valid as SENDER"};
    p.kind = AddressPattern::Kind::Null;
    return p;
  }
  auto bad = [&] { return Error{"bad " + std::string(field) + " '" + std::string(text) + "'"}; };
  if (!plausible(text)) return bad();
  p.value = to_lower(text);
  size_t at = text.rfind('@');
  if (at != std::string_view::npos) {
    if (at == 0 || at + 1 == text.size()) return bad();
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
      return Error{"control/routemap line " + std::to_string(line.number) + ": " + what};
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
    if (!known) return fail("unknown route '" + e.route + "'");
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace qr
