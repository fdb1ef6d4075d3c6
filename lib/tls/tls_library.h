#pragma once

#include <openssl/types.h>

namespace qr {

// The OpenSSL library context that TLS client contexts are made in (SPEC
// §15: the cost of a STARTTLS delivery). When the default context runs
// OpenSSL's default provider alone (openssl.cnf loads no other), a context
// of our own whose only provider offers the default provider's algorithms,
// its ciphers cut down to those libssl can use: SSL_CTX_new builds a method
// for every cipher of its context's providers, about 130 in the default
// provider, where TLS can use at most 21. Otherwise, or when anything in
// setting it up fails, nullptr: the default context, as before. Starts
// OpenSSL (openssl_start) first.
OSSL_LIB_CTX* tls_library();

// Whether `lib` (nullptr: the default context) has OpenSSL's default
// provider as its only provider, the condition for the above.
bool only_default_provider(OSSL_LIB_CTX* lib);

}  // namespace qr
