// What the server said it supports in its EHLO reply (RFC 5321 §4.1.1.1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/smtp/reply.h"

namespace qr {

struct Capabilities {
  bool pipelining = false;        // RFC 2920
  bool starttls = false;          // RFC 3207
  bool eightbitmime = false;      // RFC 6152
  bool smtputf8 = false;          // RFC 6531
  bool size = false;              // RFC 1870
  uint64_t size_limit = 0;        // 0: none announced
  std::vector<std::string> auth;  // mechanisms, upper-cased ("AUTH=" form too)

  bool has_auth(std::string_view mechanism) const;
  // From an EHLO 250 reply; keywords are case-insensitive.
  static Capabilities from_ehlo(const Reply& reply);
};

}  // namespace qr
