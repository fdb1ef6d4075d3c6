// The one HTTP exchange MTA-STS needs (RFC 8461 §3.3): a GET of the policy
// file and its response, read whole (bounded) and then parsed here. Parsing
// only, so that the fuzz target reaches it (fuzz/sts_policy.cc).
#pragma once

#include <string>
#include <string_view>

#include "lib/result.h"

namespace qr::sts {

// The request: HTTP/1.1, Host, Connection: close (the response then ends
// with the connection when it has no length).
std::string http_request(std::string_view host, std::string_view path);

// The most of a response read: headers plus the 64 KiB body (kMaxPolicyBytes)
// plus chunked framing.
inline constexpr size_t kMaxResponseBytes = 96 * 1024;

// The body of a complete response `raw` (everything the server sent before
// it closed): status 200 only (RFC 8461 §3.3: redirects are not followed,
// so a 3xx is an error like any other), Content-Type text/plain (any
// parameters), the body by Content-Length, chunked, or up to the close;
// at most kMaxPolicyBytes. Errors say what was wrong ("HTTP status 301",
// "Content-Type text/html", "body larger than 64 KiB", ...).
// `*delimited` (when not null) is set when the body's end came from the
// response itself (Content-Length, or the last chunk), so a caller reading
// as the bytes arrive can stop without waiting for the close.
Result<std::string> http_body(std::string_view raw, bool* delimited = nullptr);

}  // namespace qr::sts
