// The TLS policies of SPEC §8, as a value. Here, in tls/, so that smtp/
// (which acts on a policy) does not depend on control/ (which parses one).
#pragma once

namespace qr {

enum class TlsPolicy { None, May, Encrypt, Verify };

// "none", "may", "encrypt", "verify": as routes' tls= spells them.
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
  }
  return "may";
}

}  // namespace qr
