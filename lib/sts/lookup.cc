#include "lib/sts/lookup.h"

#include "lib/text.h"

namespace qr::sts {

namespace {

Lookup from_cache(const Cached& c, std::string how) {
  Lookup l;
  l.policy = c.policy;
  l.id = c.id;
  l.how = std::move(how);
  return l;
}

}  // namespace

Lookup lookup_policy(std::string_view domain_in, Resolver& dns, const std::string& cache_dir,
                     int64_t now, const Fetcher& fetch, bool force) {
  const std::string domain = to_lower(domain_in);
  std::string why_not_cached;
  std::optional<Cached> cached = read_cached(cache_dir, domain, &why_not_cached);
  if (cached && !cached->fresh(now)) cached.reset();

  TxtAnswer txt = dns.lookup_txt("_mta-sts." + domain);
  Result<std::string> id =
      txt.status == DnsStatus::Ok ? txt_id(txt.records) : Result<std::string>(Error{txt.error});
  if (!id) {
    if (cached) return from_cache(*cached, "cached (TXT record: " + id.error() + ")");
    Lookup none;
    none.how = id.error();
    return none;
  }
  if (cached && cached->id == *id && !force) return from_cache(*cached, "cached");

  Lookup l;
  l.fetched = true;
  auto body = fetch(domain);
  Result<Policy> policy = body ? parse_policy(*body) : Result<Policy>(Error{body.error()});
  if (!policy) {
    if (cached) {
      Lookup kept = from_cache(*cached, "cached (refresh failed: " + policy.error() + ")");
      kept.fetched = true;
      return kept;
    }
    l.how = "fetch failed: " + policy.error();
    return l;
  }
  Cached fresh{*id, now, std::move(*body), *policy};
  if (auto w = write_cached(cache_dir, domain, fresh); !w) l.cache_error = w.error();
  l.policy = std::move(*policy);
  l.id = *id;
  l.how = "fetched";
  return l;
}

}  // namespace qr::sts
