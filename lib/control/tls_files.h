// qmail-tls's files (SPEC §3, §8): control/tlsclientciphers,
// control/clientcert.pem, control/tlshosts/<FQDN>.pem and
// control/notlshosts/<FQDN>, read once with the other control files, so that
// the walk asks no file system question and a file that exists but cannot be
// read is a Z naming it, never "no file" (which would drop a TLS
// requirement and send in plaintext).
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "lib/result.h"

namespace qr {

struct TlsFiles {
  std::string ciphers;      // tlsclientciphers; empty: OpenSSL's default
  std::string client_cert;  // path of clientcert.pem when it exists
  // tlshosts/: host key (see tls_host_key) -> path of its CA file.
  std::map<std::string, std::string> ca_files;
  // notlshosts/: host keys.
  std::set<std::string> no_tls;
};

// How a host name or address is looked up in tlshosts/ and notlshosts/:
// lower case, without a trailing dot (SPEC §8).
std::string tls_host_key(std::string_view host);

// Errors: "control/tlshosts: cannot read: Permission denied",
// "control/clientcert.pem: not a regular file", ...
Result<TlsFiles> load_tls_files(const std::string& dir);

}  // namespace qr
