// MTA-STS input from the network (SPEC §14, RFC 8461): the policy file
// (parse_policy), the HTTP response around it (http_body), the cache file
// (parse_cache_text), the TXT records (txt_id; the input split at NULs is
// the records) and the mx pattern rule (mx_matches on the two halves at the
// first NUL). Properties: an accepted policy has mx: unless mode none, a
// max_age within kMaxAge, lower-case patterns that match themselves; a
// body is at most 64 KiB; an id is 1 to 32 letters and digits; a cache
// file round-trips; errors say why.
#include "fuzz/fuzz_util.h"
#include "lib/sts/cache.h"
#include "lib/sts/http.h"
#include "lib/sts/policy.h"

using namespace qr;

namespace {

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);

  auto p = sts::parse_policy(text);
  if (p) {
    FUZZ_CHECK(p->mode == sts::Mode::None || !p->mx.empty());
    FUZZ_CHECK(p->max_age <= sts::kMaxAge);
    for (const std::string& m : p->mx) {
      for (char c : m) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
      if (m.rfind("*.", 0) != 0) FUZZ_CHECK(sts::mx_matches(m, m));
    }
    // What is cached is read back the same.
    sts::Cached c{"id1", 12345, std::string(text), *p};
    auto back = sts::parse_cache_text(sts::cache_text(c));
    FUZZ_CHECK(back);
    FUZZ_CHECK(back->text == text && back->id == "id1" && back->fetched == 12345);
    FUZZ_CHECK(back->policy.mx == p->mx && back->policy.max_age == p->max_age);
  } else {
    FUZZ_CHECK(!p.error().empty());
  }

  auto body = sts::http_body(text);
  if (body)
    FUZZ_CHECK(body->size() <= sts::kMaxPolicyBytes);
  else
    FUZZ_CHECK(!body.error().empty());

  auto cached = sts::parse_cache_text(text);
  if (!cached) FUZZ_CHECK(!cached.error().empty());

  std::vector<std::string> records;
  for (std::string_view rest = text;;) {
    size_t z = rest.find('\0');
    records.emplace_back(rest.substr(0, z));
    if (z == std::string_view::npos) break;
    rest.remove_prefix(z + 1);
  }
  auto id = sts::txt_id(records);
  if (id) {
    FUZZ_CHECK(!id->empty() && id->size() <= 32);
    for (char c : *id) FUZZ_CHECK(alnum(c));
  }

  auto [pattern, host] = fuzz::split_nul(text);
  bool m = sts::mx_matches(pattern, host);
  // A wildcard never matches a name without a dot (it needs one label more).
  if (m && pattern.rfind("*.", 0) == 0) FUZZ_CHECK(host.find('.') != std::string_view::npos);
  return 0;
}
