#include "lib/auth/auth.h"

#include <openssl/evp.h>

#include <strings.h>

#include "lib/auth/base64.h"
#include "lib/openssl_start.h"

namespace qr {

const char* mechanism_name(Mechanism m) {
  switch (m) {
    case Mechanism::Plain:
      return "PLAIN";
    case Mechanism::Login:
      return "LOGIN";
    case Mechanism::CramMd5:
      return "CRAM-MD5";
  }
  return "?";
}

std::optional<Mechanism> choose_mechanism(const std::vector<std::string>& offered, bool tls_active,
                                          bool allow_cleartext) {
  auto has = [&](Mechanism m) {
    for (const auto& o : offered) {
      if (strcasecmp(o.c_str(), mechanism_name(m)) == 0) return true;
    }
    return false;
  };
  const bool cleartext_ok = tls_active || allow_cleartext;
  if (cleartext_ok && has(Mechanism::Plain)) return Mechanism::Plain;
  if (cleartext_ok && has(Mechanism::Login)) return Mechanism::Login;
  if (has(Mechanism::CramMd5)) return Mechanism::CramMd5;
  return std::nullopt;
}

std::string auth_command(Mechanism m, std::string_view user, std::string_view pass) {
  std::string line = "AUTH ";
  line += mechanism_name(m);
  if (m == Mechanism::Plain) {
    line += ' ';
    line += plain_initial_response(user, pass);
  }
  return line;
}

std::string plain_initial_response(std::string_view user, std::string_view pass) {
  std::string message;
  message.reserve(user.size() + pass.size() + 2);
  message += '\0';  // empty authzid: act as the authenticated user
  message += user;
  message += '\0';
  message += pass;
  return base64_encode(message);
}

Result<std::string> login_response(std::string_view challenge_b64, std::string_view answer) {
  auto challenge = base64_decode(challenge_b64);
  if (!challenge) return Error{"LOGIN challenge: " + challenge.error()};
  return base64_encode(answer);
}

Result<std::string> cram_md5_response(std::string_view challenge_b64, std::string_view user,
                                      std::string_view pass) {
  auto challenge = base64_decode(challenge_b64);
  if (!challenge) return Error{"CRAM-MD5 challenge: " + challenge.error()};
  unsigned char digest[EVP_MAX_MD_SIZE];
  size_t digest_len = 0;
  openssl_start();
  // RFC 2104 HMAC with MD5; the key is the password (RFC 2195 §2).
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "MD5", nullptr, pass.data(), pass.size(),
                reinterpret_cast<const unsigned char*>(challenge->data()), challenge->size(),
                digest, sizeof digest, &digest_len) == nullptr) {
    return Error{"CRAM-MD5: HMAC-MD5 is not available"};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string response(user);
  response += ' ';
  for (size_t i = 0; i < digest_len; ++i) {
    response += kHex[digest[i] >> 4];
    response += kHex[digest[i] & 0xF];
  }
  return base64_encode(response);
}

}  // namespace qr
