// DNSCACHEIP (SPEC §2): the djbdns / s/qmail way to name the DNS caches.
#include "lib/dns/dns.h"
#include "lib/text.h"

namespace qr {

namespace {

Error bad(std::string_view item, std::string_view why) {
  return Error{"DNSCACHEIP: bad address \"" + std::string(item) + "\": " + std::string(why)};
}

// One item: "IP", "IPv4:PORT", "[IPv6]:PORT" or "[IPv6]". A bare IPv6
// address has several colons and so cannot carry a port.
Result<DnsServer> parse_item(std::string_view item) {
  DnsServer server;
  auto split = split_host_port(item);
  if (!split) return bad(item, split.error());
  auto addr = IpAddr::parse(split->host);
  if (!addr) return bad(item, "not an IP address");
  if (split->bracketed && !addr->is_v6()) return bad(item, "brackets are for IPv6 only");
  if (!split->port.empty()) {
    auto port = parse_port(split->port);
    if (!port) return bad(item, "bad port");
    server.port = *port;
  }
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
    if (!server) return server.failure();
    servers.push_back(*server);
    i = j;
  }
  if (servers.empty()) return Error{"DNSCACHEIP: no address in \"" + std::string(value) + "\""};
  return servers;
}

}  // namespace qr
