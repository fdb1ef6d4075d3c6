// Temporary: replaced when lib/tls and lib/auth land (issue 4).
#include "lib/smtp/secure.h"

namespace qr {

Result<std::string> start_tls(Connection&, const SessionSettings&) {
  return Error{"TLS is not built yet"};
}

Result<std::string> authenticate(Connection&, const Capabilities&, bool, const SessionSettings&) {
  return Error{"AUTH is not built yet"};
}

}  // namespace qr
