// How qmail-remote starts OpenSSL (lib/openssl_start.h, SPEC §15's cost of
// a STARTTLS delivery): without the legacy name tables, with the digests
// OpenSSL still looks up by NID, with its error strings.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <string>

#include "lib/openssl_start.h"

namespace {

// Before any test case and any other use of OpenSSL in this binary, as in
// qmail-remote: every unit test then runs OpenSSL as qmail-remote does
// (tls_test's verify and DANE cases included).
const bool kStarted = (qr::openssl_start(), true);

}  // namespace

TEST_CASE("openssl_start leaves OpenSSL's legacy name tables empty", "[openssl_start]") {
  REQUIRE(kStarted);
  // Filled by a default start (OPENSSL_INIT_ADD_ALL_CIPHERS/DIGESTS).
  CHECK(EVP_get_cipherbyname("AES-128-CBC") == nullptr);
  CHECK(EVP_get_cipherbyname("ChaCha20-Poly1305") == nullptr);
  CHECK(EVP_get_digestbyname("MD5") == nullptr);
  // A second start with the defaults fills nothing afterwards.
  REQUIRE(OPENSSL_init_ssl(0, nullptr) == 1);
  CHECK(EVP_get_cipherbyname("AES-128-CBC") == nullptr);
  // What TLS uses is fetched from the providers, which are untouched.
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  CHECK(gcm != nullptr);
  EVP_CIPHER_free(gcm);
}

TEST_CASE("openssl_start registers the digests OpenSSL looks up by NID", "[openssl_start]") {
  REQUIRE(kStarted);
  // x509_sig_info_init (a certificate signature's security level) and
  // SSL_CTX_dane_enable (TLSA matching types 1 and 2) use these.
  for (int nid : {NID_sha1, NID_sha224, NID_sha256, NID_sha384, NID_sha512}) {
    INFO("NID " << nid << " " << OBJ_nid2sn(nid));
    const EVP_MD* md = EVP_get_digestbynid(nid);
    REQUIRE(md != nullptr);
    CHECK(EVP_MD_get_type(md) == nid);
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  REQUIRE(ctx != nullptr);
  CHECK(SSL_CTX_dane_enable(ctx) == 1);
  SSL_CTX_free(ctx);
}

TEST_CASE("openssl_start keeps OpenSSL's error strings", "[openssl_start]") {
  REQUIRE(kStarted);
  // Reports quote them: "TLS handshake failed: wrong version number" (SPEC §10).
  const char* ssl = ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER));
  REQUIRE(ssl != nullptr);
  CHECK(std::string(ssl) == "wrong version number");
  const char* pem = ERR_reason_error_string(ERR_PACK(ERR_LIB_PEM, 0, PEM_R_NO_START_LINE));
  REQUIRE(pem != nullptr);
  CHECK(std::string(pem) == "no start line");
}
