// DNSCACHEIP (SPEC §2): the djbdns / s/qmail way to name the DNS caches.
#include <charconv>

#include "lib/dns/dns.h"

namespace qr {

namespace {

Error bad(std::string_view item, std::string_view why) {
  return Error{"DNSCACHEIP: bad address \"" + std::string(item) + "\": " + std::string(why)};
}

// A port is 1-65535 in decimal; 0 cannot be sent to.
bool parse_port(std::string_view text, uint16_t* port) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (value == 0 || value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

// One item: "IP", "IPv4:PORT", "[IPv6]:PORT" or "[IPv6]". A bare IPv6
// address has several colons and so cannot carry a port.
Result<DnsServer> parse_item(std::string_view item) {
  DnsServer server;
  std::string_view host = item;
  std::string_view port;
  bool bracketed = false;
  if (item.front() == '[') {
    size_t close = item.find(']');
    if (close == std::string_view::npos) return bad(item, "no closing ]");
    host = item.substr(1, close - 1);
    std::string_view rest = item.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad(item, "expected :PORT after ]");
      port = rest.substr(1);
      if (port.empty()) return bad(item, "empty port");
    }
    bracketed = true;
  } else if (size_t colon = item.find(':'); colon != std::string_view::npos &&
                                            item.find(':', colon + 1) == std::string_view::npos) {
    host = item.substr(0, colon);
    port = item.substr(colon + 1);
    if (port.empty()) return bad(item, "empty port");
  }
  auto addr = IpAddr::parse(host);
  if (!addr) return bad(item, "not an IP address");
  if (bracketed && !addr->is_v6()) return bad(item, "brackets are for IPv6 only");
  if (!port.empty() && !parse_port(port, &server.port)) return bad(item, "bad port");
  server.addr = *addr;
  return server;
}

}  // namespace

Result<std::vector<DnsServer>> parse_dnscacheip(std::string_view value) {
  std::vector<DnsServer> servers;
  auto is_sep = [](char c) { return c == ' ' || c == ',' || c == '\t'; };
  size_t i = 0;
  while (i < value.size()) {
    if (is_sep(value[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < value.size() && !is_sep(value[j])) ++j;
    auto server = parse_item(value.substr(i, j - i));
    if (!server) return Error{server.error()};
    servers.push_back(*server);
    i = j;
  }
  if (servers.empty()) return Error{"DNSCACHEIP: no address in \"" + std::string(value) + "\""};
  return servers;
}

}  // namespace qr
