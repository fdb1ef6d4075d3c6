#include "lib/sts/fetch.h"

#include <algorithm>

#include "lib/net/connect.h"
#include "lib/sts/http.h"
#include "lib/tls/tls.h"

namespace qr::sts {

namespace {

using Clock = std::chrono::steady_clock;

// Whole seconds left before `deadline`, at least 1 (the stream API's unit);
// the caller checks the deadline itself after each step.
unsigned seconds_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count();
  return unsigned(std::max<long long>(left, 1));
}

// One address: connect, handshake, request, read to the end.
Result<std::string> fetch_from(const IpAddr& addr, const std::string& host,
                               Clock::time_point deadline) {
  auto fd = connect_tcp(addr, 443, std::nullopt, seconds_left(deadline));
  if (!fd) return Error{fd.failure().text};
  TlsOptions o;
  o.verify = true;  // system CAs, name checked against host (RFC 8461 §3.3)
  o.host = host;
  auto tls = tls_handshake(fd->get(), o, seconds_left(deadline));
  if (!tls) return Error{tls.error()};
  std::string req = http_request(host, "/.well-known/mta-sts.txt");
  if (auto w = (*tls)->write_all(req.data(), req.size(), seconds_left(deadline)); !w)
    return Error{w.error()};
  std::string raw;
  char buf[8192];
  for (;;) {
    if (Clock::now() >= deadline) return Error{"timed out"};
    auto n = (*tls)->read_some(buf, sizeof buf, seconds_left(deadline));
    if (!n) return Error{n.error()};
    if (*n == 0) break;
    raw.append(buf, *n);
    // Bounded memory: a server that sends 10 MB is cut off here.
    if (raw.size() > kMaxResponseBytes) return Error{"response larger than 96 KiB"};
    // A server that keeps the connection open after a complete response
    // (Connection: close notwithstanding) does not hold us to the deadline.
    bool delimited = false;
    if (auto body = http_body(raw, &delimited); body && delimited) return body;
  }
  return http_body(raw);
}

}  // namespace

Result<std::string> fetch_policy(std::string_view domain, Resolver& dns,
                                 std::chrono::seconds timeout) {
  const std::string host = "mta-sts." + std::string(domain);
  HostAnswer a = dns.lookup_host(host);
  if (a.addrs.empty()) return Error{host + ": " + (a.error.empty() ? "no address" : a.error)};
  const auto deadline = Clock::now() + timeout;
  std::string errors;
  for (const IpAddr& ip : a.addrs) {
    if (Clock::now() >= deadline) break;
    auto body = fetch_from(ip, host, deadline);
    if (body) return body;
    errors += (errors.empty() ? "" : "; ") + format_endpoint(ip, 443) + ": " + body.error();
  }
  if (errors.empty()) errors = "timed out";
  return Error{"https://" + host + "/.well-known/mta-sts.txt: " + errors};
}

}  // namespace qr::sts
