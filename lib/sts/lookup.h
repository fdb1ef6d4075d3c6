// Which MTA-STS policy applies to a destination domain now (RFC 8461 §5.1,
// SPEC §14): the _mta-sts TXT record, the shared cache, a fetch on a miss.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "lib/dns/dns.h"
#include "lib/sts/cache.h"
#include "lib/sts/policy.h"

namespace qr::sts {

struct Lookup {
  // The policy in force (mode enforce, testing or none); nullopt: none.
  std::optional<Policy> policy;
  std::string id;  // its TXT id
  // How it was found, for explain and `qmail-routes sts`: "cached",
  // "fetched", "cached (refresh failed: ...)"; or, without a policy, why
  // there is none ("no v=STSv1 TXT record", "fetch failed: ...").
  std::string how;
  bool fetched = false;  // an HTTPS request was made
  // A successful fetch that could not be stored (the delivery goes on).
  std::string cache_error;
};

// Fetches the policy text of a domain (fetch_policy; tests inject their own).
using Fetcher = std::function<Result<std::string>(std::string_view domain)>;

// What the walk needs to look policies up (lib/deliver.cc): the cache
// directory and how to fetch. Null in the walk's unit tests: no MTA-STS.
struct Source {
  std::string cache_dir;
  Fetcher fetch;
};

// The rules, in order:
// - TXT look-up of _mta-sts.<domain> (one query: a cache hit costs nothing
//   more);
// - a cached policy still within max_age whose id is the TXT's: used;
// - no usable TXT record (none, several v=STSv1, malformed, DNS failure)
//   while a cached policy is within max_age: the cache is used (RFC 8461
//   §5.1: only a fetched mode: none, or expiry, ends a policy, so a DNS
//   attacker cannot strip it);
// - otherwise a fetch: a valid policy is stored and used; a failed fetch
//   or an invalid policy keeps a cached policy within max_age, else none.
// `force` fetches even on a cache hit (qmail-routes sts --refresh).
Lookup lookup_policy(std::string_view domain, Resolver& dns, const std::string& cache_dir,
                     int64_t now, const Fetcher& fetch, bool force = false);

}  // namespace qr::sts
