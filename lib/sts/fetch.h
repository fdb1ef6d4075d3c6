// Fetching a domain's MTA-STS policy file (RFC 8461 §3.3, SPEC §14):
// https://mta-sts.<domain>/.well-known/mta-sts.txt over the project's own
// TCP and OpenSSL code (doc/DECISIONS.md says why not libcurl).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "lib/dns/dns.h"
#include "lib/result.h"

namespace qr::sts {

// The whole fetch (DNS for mta-sts.<domain> excluded: it has its own
// bound), every address tried included, ends within this.
inline constexpr std::chrono::seconds kFetchTimeout{10};

// The body of the policy file, or why there is none. The certificate is
// checked against the system CAs for mta-sts.<domain> (as OpenSSL finds
// them: SSL_CERT_DIR, SSL_CERT_FILE), no redirect is followed, and at most
// 64 KiB of body are read; mta-sts.<domain>'s addresses come from `dns`.
Result<std::string> fetch_policy(std::string_view domain, Resolver& dns,
                                 std::chrono::seconds timeout = kFetchTimeout);

}  // namespace qr::sts
