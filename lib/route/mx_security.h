// What SPEC §8's `dane` policy means for one host, in one place: DANE
// (§13) when it applies to the host, else, for an MX host, the domain's
// MTA-STS policy (§14), else `may`. The walk (lib/deliver.cc) and explain
// ask this one function.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "lib/control/routes.h"
#include "lib/control/tls_files.h"
#include "lib/route/dane_policy.h"
#include "lib/route/plan.h"
#include "lib/sts/policy.h"
#include "lib/tls/policy.h"

namespace qr {

struct HostSecurity {
  // What the session gets: Dane only with usable, DNSSEC-secure TLSA
  // records, which are then in `dane`.
  TlsPolicy policy = TlsPolicy::May;
  std::optional<DaneOptions> dane;
  // The host must not be used (its DNSSEC answers are bogus, or MTA-STS
  // enforce: no mx: pattern matches); `why` says so for the attempt list.
  bool skip = false;
  std::string why;
  // Added to the report's route line when this host delivers (SPEC §10):
  // "sts=enforce" (the certificate was checked for the MX name under an
  // enforce policy), "sts=testing".
  std::string mark;
  // Testing mode: what enforce would have refused about this host before
  // connecting (it does not match the mx: patterns); empty otherwise.
  std::string testing_note;
};

// `sts`: the destination's MTA-STS policy when one is in force. Only for
// targets that came from the destination's MX (t.from_mx) under `dane`.
HostSecurity dane_host_security(const Target& t, std::string_view domain,
                                const std::optional<sts::Policy>& sts);

// The policy a session gets for `t` on `route` (SPEC §8): tls_for's; under
// `dane` (the route's tls=dane, or the default for MX deliveries once
// control/dnssec-anchors exists: `dane_default`), DANE first (RFC 8461 §2:
// DANE wins where both are published): `dane` is asked (DanePolicy::decide)
// and its secure TLSA records decide, or its bogus answer skips the host.
// Where DANE does not apply, a host from the destination's MX gets
// dane_host_security's MTA-STS answer, where a tlshosts/ file still names
// the CA (the administrator's pin: then no DANE) but never lets in a host
// an enforce policy leaves out; a relay named by host name gets `may`.
// `sts` gives the destination's policy, asked only when needed (it costs a
// DNS query), as `dane` is only asked under `dane`.
using StsPolicyFn = std::function<const std::optional<sts::Policy>&()>;
using DaneFn = std::function<DaneDecision(const TlsChoice&, const Target&)>;
HostSecurity host_security(const Route& route, const TlsFiles& files, const Target& t,
                           std::string_view domain, bool dane_default, const DaneFn& dane,
                           const StsPolicyFn& sts);

}  // namespace qr
