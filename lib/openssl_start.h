#pragma once

namespace qr {

// Starts OpenSSL for this process, once; every path that uses OpenSSL
// calls it first (TLS, DNSSEC, CRAM-MD5, qmail-routes). Plaintext
// deliveries never do, so they never pay for OpenSSL.
//
// It starts OpenSSL as a plain OPENSSL_init_ssl() would (openssl.cnf with the
// system's security level, readable error strings), except for OpenSSL's
// legacy name tables of every cipher and digest: filling them, and copying
// them into the provider name map, was a fifth of a STARTTLS delivery's
// instructions (bench/RESULTS.md). Only the digests that OpenSSL still
// looks up through those tables are registered (doc/DECISIONS.md): those
// a certificate's signature may name (its security level is read through
// them) and DANE's SHA2-256/SHA2-512 (TLSA matching types 1 and 2).
void openssl_start();

}  // namespace qr
