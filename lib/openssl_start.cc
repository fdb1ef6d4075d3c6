#include "lib/openssl_start.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <initializer_list>

namespace qr {

void openssl_start() {
  // A function-local static: once, thread-safe.
  static const bool started = [] {
    // NO_ADD_ALL_*: OpenSSL's RUN_ONCE then treats the tables as filled, so
    // no later call fills them behind our back.
    if (OPENSSL_init_ssl(OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
                         nullptr) != 1) {
      return false;  // the next OpenSSL call fails and says why
    }
    // EVP_get_digestbynid() users in OpenSSL 3.0: the security level of a
    // certificate's signature (x509_sig_info_init: an unknown digest is
    // "CA signature digest algorithm too weak") and SSL_CTX_dane_enable
    // (the digests of TLSA matching types 1 and 2). SHA-1 for a system
    // whose security level still accepts SHA-1 signatures; MD5 and SHA-3
    // signatures are refused (doc/DECISIONS.md). Each name costs its share
    // of the name map's start, so only these.
    for (const EVP_MD* md : {EVP_sha1(), EVP_sha224(), EVP_sha256(), EVP_sha384(), EVP_sha512()}) {
      EVP_add_digest(md);
    }
    // The random generator: HASH-DRBG on SHA2-256 rather than OpenSSL's
    // default CTR-DRBG on AES-256-CTR (both NIST SP 800-90A). The first
    // fetch of a cipher builds a method for every cipher of the provider
    // (about 130 of the default one); TLS fetches its ciphers through
    // tls_library(), which offers only those, but the default provider's
    // DRBG fetches its cipher here, in the default context. Fails (and
    // changes nothing) if something made the DRBG before us.
    RAND_set_DRBG_type(nullptr, "HASH-DRBG", nullptr, nullptr, "SHA2-256");
    return true;
  }();
  (void)started;
}

}  // namespace qr
