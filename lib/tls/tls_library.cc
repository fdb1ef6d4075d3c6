#include "lib/tls/tls_library.h"

#include <openssl/core_dispatch.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <strings.h>

#include <string_view>
#include <vector>

#include "lib/openssl_start.h"

namespace qr {

namespace {

// Every cipher libssl 3.0 fetches (ssl_load_ciphers: one per SSL_ENC_*
// index, and the stitched AES-CBC-HMAC ciphers it picks at handshake time),
// by one of the names the default provider gives it. Those the default
// provider lacks (DES, RC4, RC2, IDEA, SEED, GOST) match nothing, as they
// find nothing in the default context either.
constexpr std::string_view kTlsCiphers[] = {
    "DES-CBC",
    "DES-EDE3-CBC",
    "RC4",
    "RC2-CBC",
    "IDEA-CBC",
    "SEED-CBC",
    "AES-128-CBC",
    "AES-256-CBC",
    "CAMELLIA-128-CBC",
    "CAMELLIA-256-CBC",
    "AES-128-GCM",
    "AES-256-GCM",
    "AES-128-CCM",
    "AES-256-CCM",
    "ChaCha20-Poly1305",
    "ARIA-128-GCM",
    "ARIA-256-GCM",
    "AES-128-CBC-HMAC-SHA1",
    "AES-256-CBC-HMAC-SHA1",
    "AES-128-CBC-HMAC-SHA256",
    "AES-256-CBC-HMAC-SHA256",
};

// The provider's state: the default provider of the default context, and
// the cipher table handed out in its place (ends with an empty entry).
OSSL_PROVIDER* g_default = nullptr;
std::vector<OSSL_ALGORITHM>* g_ciphers = nullptr;

// "AES-128-GCM:id-aes128-GCM:2.16.840.1.101.3.4.1.6": is one of the names ours?
bool wanted(const char* names) {
  std::string_view all(names);
  while (!all.empty()) {
    size_t colon = all.find(':');
    std::string_view name = all.substr(0, colon);
    for (std::string_view w : kTlsCiphers) {
      if (w.size() == name.size() && strncasecmp(w.data(), name.data(), w.size()) == 0) return true;
    }
    if (colon == std::string_view::npos) break;
    all.remove_prefix(colon + 1);
  }
  return false;
}

const OSSL_ALGORITHM* query(void*, int operation, int* no_cache) {
  if (operation == OSSL_OP_CIPHER) {
    *no_cache = 0;
    return g_ciphers->data();
  }
  return OSSL_PROVIDER_query_operation(g_default, operation, no_cache);
}

void unquery(void*, int operation, const OSSL_ALGORITHM* algorithms) {
  if (operation != OSSL_OP_CIPHER) {
    OSSL_PROVIDER_unquery_operation(g_default, operation, algorithms);
  }
}

// TLS-GROUP (the key exchange groups libssl offers) and the like.
int capabilities(void*, const char* capability, OSSL_CALLBACK* cb, void* arg) {
  return OSSL_PROVIDER_get_capabilities(g_default, capability, cb, arg);
}

// The algorithms' own provider context is the default provider's: they are
// its code, and find what they fetch themselves (a KDF's digest, a DRBG's)
// in the default context.
int provider_init(const OSSL_CORE_HANDLE*, const OSSL_DISPATCH*, const OSSL_DISPATCH** out,
                  void** provctx) {
  static const OSSL_DISPATCH table[] = {
      {OSSL_FUNC_PROVIDER_QUERY_OPERATION, reinterpret_cast<void (*)()>(query)},
      {OSSL_FUNC_PROVIDER_UNQUERY_OPERATION, reinterpret_cast<void (*)()>(unquery)},
      {OSSL_FUNC_PROVIDER_GET_CAPABILITIES, reinterpret_cast<void (*)()>(capabilities)},
      {0, nullptr},
  };
  *out = table;
  *provctx = OSSL_PROVIDER_get0_provider_ctx(g_default);
  return 1;
}

int count_provider(OSSL_PROVIDER*, void* n) {
  ++*static_cast<int*>(n);
  return 1;
}

OSSL_LIB_CTX* make_library() {
  openssl_start();
  // Only when nothing but the default provider is in use: openssl.cnf may
  // activate others (FIPS, PKCS#11), which TLS must keep using.
  if (!only_default_provider(nullptr)) return nullptr;
  g_default = OSSL_PROVIDER_load(nullptr, "default");
  if (g_default == nullptr) return nullptr;
  int no_cache = 0;
  const OSSL_ALGORITHM* all = OSSL_PROVIDER_query_operation(g_default, OSSL_OP_CIPHER, &no_cache);
  if (all == nullptr) return nullptr;
  auto* ciphers = new std::vector<OSSL_ALGORITHM>;
  for (const OSSL_ALGORITHM* a = all; a->algorithm_names != nullptr; ++a) {
    if (wanted(a->algorithm_names)) ciphers->push_back(*a);
  }
  ciphers->push_back(OSSL_ALGORITHM{nullptr, nullptr, nullptr, nullptr});
  g_ciphers = ciphers;
  OSSL_LIB_CTX* lib = OSSL_LIB_CTX_new();
  if (lib == nullptr) return nullptr;
  // HASH-DRBG, as openssl_start() sets for the default context: the
  // default provider's CTR-DRBG would fetch AES-256-CTR, and so build every
  // cipher, in the default context (where its code lives).
  if (RAND_set_DRBG_type(lib, "HASH-DRBG", nullptr, nullptr, "SHA2-256") != 1 ||
      OSSL_PROVIDER_add_builtin(lib, "qr-tls", provider_init) != 1 ||
      OSSL_PROVIDER_load(lib, "qr-tls") == nullptr) {
    OSSL_LIB_CTX_free(lib);
    return nullptr;
  }
  return lib;
}

}  // namespace

bool only_default_provider(OSSL_LIB_CTX* lib) {
  int providers = 0;  // the activated ones (and the fallback, when none is)
  OSSL_PROVIDER_do_all(lib, count_provider, &providers);
  return providers == 1 && OSSL_PROVIDER_available(lib, "default") == 1;
}

OSSL_LIB_CTX* tls_library() {
  // Immortal, like the contexts made in it (tls.cc's context_for).
  static OSSL_LIB_CTX* const lib = make_library();
  return lib;
}

}  // namespace qr
