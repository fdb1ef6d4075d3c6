#include "lib/route/mx_security.h"

#include "lib/route/tls_policy.h"

namespace qr {

HostSecurity dane_host_security(const Target& t, std::string_view domain,
                                const std::optional<sts::Policy>& sts) {
  HostSecurity h;
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

namespace {

// SPEC §8: credentials go only over TLS, and to a named relay only with a
// checked certificate, unless the route relaxes it (auth-cleartext=yes).
// Under tls=dane, where neither DANE nor MTA-STS applies, `may` would send
// them after a STARTTLS strip: the credentials' own default instead.
HostSecurity keep_credentials_safe(HostSecurity h, const Route& route, const Target& t) {
  if (h.policy == TlsPolicy::May && !route.user.empty() && !route.options.auth_cleartext)
    h.policy = t.host.empty() ? TlsPolicy::Encrypt : TlsPolicy::Verify;
  return h;
}

// host_security under `dane` (the route's, or the default).
HostSecurity dane_security(const Route& route, const TlsFiles& files, const Target& t,
                           std::string_view domain, bool dane_default, const DaneFn& dane,
                           const StsPolicyFn& sts) {
  TlsChoice c = tls_for(route, files, t, dane_default);
  HostSecurity h;
  h.policy = c.policy;
  // tlshosts/ pins a CA, and so turns `dane` into `verify`; notlshosts/
  // never lowers `dane`.
  if (c.policy == TlsPolicy::Dane) {
    // SPEC §13 first.
    DaneDecision d = dane(c, t);
    if (!d.refused.empty()) {
      h.skip = true;
      h.why = std::move(d.refused);
      return h;
    }
    h.policy = d.tls.policy;  // Dane (usable records), Encrypt (none usable), or May
    h.dane = std::move(d.dane);
    if (h.policy != TlsPolicy::May) return h;
  }
  if (!t.from_mx) {
    if (h.policy == TlsPolicy::Dane) h.policy = TlsPolicy::May;
    return h;
  }
  h = dane_host_security(t, domain, sts());
  if (c.policy == TlsPolicy::Verify) h.policy = TlsPolicy::Verify;  // tlshosts/<host>.pem
  return h;
}

}  // namespace

HostSecurity host_security(const Route& route, const TlsFiles& files, const Target& t,
                           std::string_view domain, bool dane_default, const DaneFn& dane,
                           const StsPolicyFn& sts) {
  TlsChoice c = tls_for(route, files, t, dane_default);
  if (tls_for(route, TlsFiles{}, t, dane_default).policy != TlsPolicy::Dane) {
    HostSecurity h;
    h.policy = c.policy;
    return h;
  }
  return keep_credentials_safe(dane_security(route, files, t, domain, dane_default, dane, sts),
                               route, t);
}

}  // namespace qr
