// The TLS policies of SPEC §8, as a value. Here, in tls/, so that smtp/
// (which acts on a policy) does not depend on control/ (which parses one).
#pragma once

namespace qr {

// Dane: SPEC §8's `dane` (§13 DANE where the host's DNSSEC-validated TLSA
// records apply, else §14 MTA-STS, else `may`). The walk turns it into
// Dane (with the records), Encrypt, Verify or May per host before a
// session starts (lib/route/mx_security.h).
enum class TlsPolicy { None, May, Encrypt, Verify, Dane };

// "none", "may", "encrypt", "verify", "dane": as routes' tls= spells them.
constexpr const char* tls_policy_name(TlsPolicy p) {
  switch (p) {
    case TlsPolicy::None:
      return "none";
    case TlsPolicy::May:
      return "may";
    case TlsPolicy::Encrypt:
      return "encrypt";
    case TlsPolicy::Verify:
      return "verify";
    case TlsPolicy::Dane:
      return "dane";
  }
  return "may";
}

}  // namespace qr
