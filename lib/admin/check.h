// `qmail-routes check` (SPEC §11): every problem in the control directory,
// not only the first one load_control() stops at.
#pragma once

#include <string>
#include <vector>

#include "lib/admin/permissions.h"

namespace qr {

// Each problem as "control/FILE:LINE: what is wrong", or "control/FILE: what
// is wrong" when no line is to blame (a missing or unreadable file), in file
// order. Empty: qmail-remote would read the directory without complaint.
// First come the files and directories `account` (the user qmail-remote runs
// as) cannot read or search, and the secrets every user can read
// (check_permissions); `account` null: no such user, only the secrets.
std::vector<std::string> check_control(const std::string& dir, const Account* account);

}  // namespace qr
