// `qmail-routes check` (SPEC §11): every problem in the control directory,
// not only the first one load_control() stops at.
#pragma once

#include <string>
#include <vector>

namespace qr {

// Each problem as "control/FILE:LINE: what is wrong", or "control/FILE: what
// is wrong" when no line is to blame (a missing or unreadable file), in file
// order. Empty: qmail-remote would read the directory without complaint.
std::vector<std::string> check_control(const std::string& dir);

}  // namespace qr
