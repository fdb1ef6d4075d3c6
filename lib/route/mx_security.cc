#include "lib/route/mx_security.h"

namespace qr {

HostSecurity dane_host_security(const Target& t, std::string_view domain,
                                const std::optional<sts::Policy>& sts) {
  HostSecurity h;
  // SPEC §13 (the DANE branch): "DANE applies to this MX host" goes here,
  // before MTA-STS (RFC 8461 §2: DANE wins when both are published).
  if (!sts || sts->mode == sts::Mode::None) return h;  // `may`
  const bool allowed = sts::mx_allowed(*sts, t.host);
  if (sts->mode == sts::Mode::Testing) {
    h.mark = "sts=testing";
    if (!allowed)
      h.testing_note = t.host + " matches no mx: pattern of " + std::string(domain) + "'s policy";
    return h;
  }
  // Enforce (RFC 8461 §4): only hosts the policy names, and only over TLS
  // with a certificate valid for the MX name from the system CAs: `verify`.
  if (!allowed) {
    h.skip = true;
    h.why = "skipped: matches no mx: pattern of the MTA-STS policy (mode enforce) of " +
            std::string(domain);
    return h;
  }
  h.policy = TlsPolicy::Verify;
  h.mark = "sts=enforce";
  return h;
}

}  // namespace qr
