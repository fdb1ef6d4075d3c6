// DANE for SMTP (RFC 7672, RFC 6698) on the TLS side: the TLSA records as
// values, which of them SMTP may use, and handing them to OpenSSL's own DANE
// verifier (SSL_dane_enable, SSL_dane_tlsa_add), which matches DANE-EE(3)
// against the server's certificate or key and DANE-TA(2) against its chain.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lib/result.h"

namespace qr {

// One TLSA record (RFC 6698 §2.1).
struct Tlsa {
  uint8_t usage = 0;     // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
  uint8_t selector = 0;  // 0 whole certificate, 1 SubjectPublicKeyInfo
  uint8_t mtype = 0;     // 0 full, 1 SHA-256, 2 SHA-512
  std::vector<uint8_t> data;
};

// "3 1 1 0a1b...": as a zone file writes it.
std::string tlsa_text(const Tlsa& t);

// RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP; so are
// unknown selectors and matching types, and digests of the wrong length.
bool tlsa_usable(const Tlsa& t);

// The TLSA records and names for one handshake.
struct DaneOptions {
  std::vector<Tlsa> tlsa;          // every record; only usable ones are given to OpenSSL
  std::vector<std::string> names;  // the TLSA base domain first (RFC 7672 §3.2.2)
};

// Makes `ctx` able to do DANE (SSL_CTX_dane_enable).
Status dane_context(SSL_CTX* ctx);

// Sets up `ssl` to accept only a certificate that one usable record of
// `o` matches: DANE-EE without name checks (RFC 7672 §3.1.1), DANE-TA with
// the names of `o.names`, a wildcard only as the whole left-most label
// (§3.2.3). An error when no record is usable.
Status dane_setup(SSL* ssl, const DaneOptions& o);

// After a successful handshake: did a TLSA record authenticate the peer?
bool dane_authenticated(SSL* ssl);

}  // namespace qr
