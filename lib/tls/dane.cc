#include "lib/tls/dane.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace qr {

std::string tlsa_text(const Tlsa& t) {
  static const char kHex[] = "0123456789abcdef";
  std::string s = std::to_string(t.usage) + " " + std::to_string(t.selector) + " " +
                  std::to_string(t.mtype) + " ";
  for (uint8_t b : t.data) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

bool tlsa_usable(const Tlsa& t) {
  if (t.usage != 2 && t.usage != 3) return false;  // RFC 7672 §3.1.3
  if (t.selector > 1) return false;
  switch (t.mtype) {
    case 0:
      return !t.data.empty();
    case 1:
      return t.data.size() == 32;
    case 2:
      return t.data.size() == 64;
    default:
      return false;
  }
}

Status dane_context(SSL_CTX* ctx) {
  if (SSL_CTX_dane_enable(ctx) <= 0) {
    ERR_clear_error();
    return Error{"cannot enable DANE in the TLS context"};
  }
  return success();
}

Status dane_setup(SSL* ssl, const DaneOptions& o) {
  if (o.names.empty()) return Error{"DANE needs the TLSA base domain"};
  if (SSL_dane_enable(ssl, o.names[0].c_str()) <= 0) {
    ERR_clear_error();
    return Error{"cannot enable DANE for " + o.names[0]};
  }
  // RFC 7672 §3.1.1: a DANE-EE match says nothing of names; §3.2.3: in
  // DANE-TA certificates, a wildcard only as the whole left-most label.
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  for (size_t i = 1; i < o.names.size(); ++i) {
    if (SSL_add1_host(ssl, o.names[i].c_str()) != 1) {
      ERR_clear_error();
      return Error{"cannot add DANE name " + o.names[i]};
    }
  }
  int usable = 0;
  for (const Tlsa& t : o.tlsa) {
    if (!tlsa_usable(t)) continue;
    // > 0 added, 0 unsupported by this OpenSSL (skipped), < 0 malformed.
    int r = SSL_dane_tlsa_add(ssl, t.usage, t.selector, t.mtype, t.data.data(), t.data.size());
    ERR_clear_error();
    if (r > 0) ++usable;
  }
  if (usable == 0) return Error{"no usable TLSA record for " + o.names[0]};
  return success();
}

bool dane_authenticated(SSL* ssl) {
  return SSL_get0_dane_authority(ssl, nullptr, nullptr) >= 0 &&
         SSL_get_verify_result(ssl) == X509_V_OK;
}

}  // namespace qr
