// control/routemap (SPEC §3.2): SENDER;RECIPIENT;ROUTE, first match wins.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/control/control_file.h"
#include "lib/control/routes.h"
#include "lib/result.h"

namespace qr {

struct AddressPattern {
  enum class Kind {
    Any,         // "*"
    Domain,      // "example.com": exactly that domain
    Subdomains,  // ".example.com": its subdomains only
    Address,     // "local@example.com"
    Null,        // "<>": the null sender and "#@[]" (sender side only)
  };
  Kind kind = Kind::Any;
  std::string value;  // lower-cased; for Subdomains with the leading dot
  // Case-insensitive. `address` is a whole envelope address ("" for <>).
  bool matches(std::string_view address) const;
};

struct RouteMapEntry {
  AddressPattern sender, recipient;
  std::string route;
  int line = 0;
};

// Errors read "control/routemap line N: what is wrong"; a ROUTE that is not
// in `routes` is an error.
Result<std::vector<RouteMapEntry>> parse_routemap(const std::vector<ControlLine>& lines,
                                                  const std::vector<Route>& routes);

}  // namespace qr
