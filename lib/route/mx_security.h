// What SPEC §8's `dane` policy means for one MX host, in one place: DANE
// (§13) when it applies to the host, else the domain's MTA-STS policy
// (§14), else `may`. The walk (lib/deliver.cc) and explain ask this one
// function; the DANE branch adds its case at the top of
// dane_host_security (the seam: "DANE applies to this MX host?").
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "lib/control/routes.h"
#include "lib/control/tls_files.h"
#include "lib/route/plan.h"
#include "lib/sts/policy.h"
#include "lib/tls/policy.h"

namespace qr {

struct HostSecurity {
  TlsPolicy policy = TlsPolicy::May;  // what the session gets: never Dane
  // The host must not be used (MTA-STS enforce: no mx: pattern matches);
  // `why` says so for the attempt list.
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
// `dane`, for a host from the destination's MX, dane_host_security's, where
// a tlshosts/ file still names the CA (the administrator's pin) but never
// lets in a host an enforce policy leaves out. A relay named by host name
// under `dane` is `may` here (DANE for relays is SPEC §13's). `sts` gives
// the destination's policy, asked only when needed (it costs a DNS query).
using StsPolicyFn = std::function<const std::optional<sts::Policy>&()>;
HostSecurity host_security(const Route& route, const TlsFiles& files, const Target& t,
                           std::string_view domain, const StsPolicyFn& sts);

}  // namespace qr
