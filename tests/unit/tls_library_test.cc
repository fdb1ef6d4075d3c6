// The library context TLS runs in (lib/tls/tls_library.h): the default
// provider's algorithms with only the ciphers libssl can use, and, through
// it, the same cipher suites as in the default context.
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "lib/openssl_start.h"
#include "lib/tls/tls_library.h"

using namespace qr;

namespace {

// Before anything else uses OpenSSL in this binary, as in qmail-remote.
OSSL_LIB_CTX* const kLibrary = tls_library();

bool fetches(OSSL_LIB_CTX* lib, const char* cipher) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(lib, cipher, nullptr);
  EVP_CIPHER_free(c);
  return c != nullptr;
}

std::vector<std::string> suites(OSSL_LIB_CTX* lib, const char* list, int level) {
  SSL_CTX* ctx = SSL_CTX_new_ex(lib, nullptr, TLS_client_method());
  REQUIRE(ctx != nullptr);
  SSL_CTX_set_security_level(ctx, level);
  std::vector<std::string> names;
  if (SSL_CTX_set_cipher_list(ctx, list) == 1) {
    STACK_OF(SSL_CIPHER)* all = SSL_CTX_get_ciphers(ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(all); ++i)
      names.push_back(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(all, i)));
  }
  SSL_CTX_free(ctx);
  return names;
}

std::string drbg_name(OSSL_LIB_CTX* lib) {
  EVP_RAND_CTX* primary = RAND_get0_primary(lib);
  REQUIRE(primary != nullptr);
  return EVP_RAND_get0_name(EVP_RAND_CTX_get0_rand(primary));
}

}  // namespace

TEST_CASE("tls_library is a context of its own with the default provider alone", "[tls_library]") {
  // Debian's openssl.cnf activates no provider: the default one is used.
  REQUIRE(only_default_provider(nullptr));
  REQUIRE(kLibrary != nullptr);
  CHECK(tls_library() == kLibrary);  // one, made once
}

TEST_CASE("only_default_provider: another provider turns the cut-down context off",
          "[tls_library]") {
  OSSL_LIB_CTX* lib = OSSL_LIB_CTX_new();
  REQUIRE(lib != nullptr);
  CHECK(only_default_provider(lib));  // nothing loaded: the default is the fallback
  OSSL_PROVIDER* deflt = OSSL_PROVIDER_load(lib, "default");
  REQUIRE(deflt != nullptr);
  CHECK(only_default_provider(lib));
  OSSL_PROVIDER* base = OSSL_PROVIDER_load(lib, "base");  // as openssl.cnf may
  REQUIRE(base != nullptr);
  CHECK_FALSE(only_default_provider(lib));
  OSSL_PROVIDER_unload(base);
  OSSL_PROVIDER_unload(deflt);
  OSSL_LIB_CTX_free(lib);
}

TEST_CASE("tls_library offers the ciphers TLS uses and no others", "[tls_library]") {
  REQUIRE(kLibrary != nullptr);
  for (const char* c :
       {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305", "AES-128-CBC", "AES-256-CBC",
        "AES-128-CCM", "CAMELLIA-256-CBC", "ARIA-128-GCM", "DES-EDE3-CBC", "AES-128-CBC-HMAC-SHA1",
        "AES-256-CBC-HMAC-SHA256", "id-aes128-GCM"}) {
    INFO(c);
    CHECK(fetches(kLibrary, c));
    CHECK(fetches(nullptr, c));
  }
  for (const char* c : {"AES-128-ECB", "AES-128-XTS", "AES-256-OCB", "CAMELLIA-128-CTR", "SM4-CBC",
                        "AES-128-WRAP"}) {
    INFO(c);
    CHECK_FALSE(fetches(kLibrary, c));
    CHECK(fetches(nullptr, c));  // the default context still has them
  }
  // Everything else of the default provider is there (a digest, a KDF).
  EVP_MD* md = EVP_MD_fetch(kLibrary, "SHA2-384", nullptr);
  CHECK(md != nullptr);
  EVP_MD_free(md);
  EVP_KDF* kdf = EVP_KDF_fetch(kLibrary, "TLS13-KDF", nullptr);
  CHECK(kdf != nullptr);
  EVP_KDF_free(kdf);
}

TEST_CASE("tls_library: the same cipher suites as the default context", "[tls_library]") {
  REQUIRE(kLibrary != nullptr);
  // Default list at the system's level, and everything OpenSSL can do at
  // level 0 (tls=may's floor, tls.h "Protocol floor").
  for (auto [list, level] : std::vector<std::pair<const char*, int>>{
           {"DEFAULT", 2}, {"ALL:COMPLEMENTOFALL", 0}, {"HIGH:MEDIUM:LOW", 0}}) {
    INFO(list << " at level " << level);
    auto ours = suites(kLibrary, list, level);
    CHECK(ours.size() > 20);
    CHECK(ours == suites(nullptr, list, level));
  }
}

TEST_CASE("openssl_start and tls_library use HASH-DRBG", "[tls_library]") {
  REQUIRE(kLibrary != nullptr);
  CHECK(drbg_name(nullptr) == "HASH-DRBG");
  CHECK(drbg_name(kLibrary) == "HASH-DRBG");
  unsigned char buf[32] = {};
  CHECK(RAND_bytes_ex(kLibrary, buf, sizeof buf, 0) == 1);
  CHECK(RAND_priv_bytes_ex(kLibrary, buf, sizeof buf, 0) == 1);
}
