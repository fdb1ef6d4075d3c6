// qmail-routes sts [--refresh] DOMAIN (SPEC §14): the MTA-STS policy
// qmail-remote has cached for a domain, shown, or fetched now.
#pragma once

#include <string>
#include <vector>

#include "lib/admin/commands.h"
#include "lib/admin/permissions.h"
#include "lib/control/control.h"

namespace qr {

// `control_dir` is $QMAIL_ROOT/control; the cache is queue/sts beside it.
Output sts_command(const std::vector<std::string>& args, const std::string& control_dir);

// What `qmail-routes check` notes about the MTA-STS cache: when a route
// uses tls=dane and queue/sts is missing, or `account` (qmailr) cannot
// write and search it, one "queue/sts: note: ..." line with the commands
// that fix it (policies are then fetched at every delivery). Empty
// otherwise; `account` null: only a missing directory is noted.
std::vector<std::string> sts_cache_notes(const Control& control, const std::string& control_dir,
                                         const Account* account);

}  // namespace qr
