// qmail-routes sts [--refresh] DOMAIN (SPEC §14): the MTA-STS policy
// qmail-remote has cached for a domain, shown, or fetched now.
#pragma once

#include <string>
#include <vector>

#include "lib/admin/commands.h"

namespace qr {

// `control_dir` is $QMAIL_ROOT/control; the cache is queue/sts beside it.
Output sts_command(const std::vector<std::string>& args, const std::string& control_dir);

}  // namespace qr
