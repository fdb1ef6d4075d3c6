// qmail-routes tcpto and tcpok (SPEC §12, issue 12): what qmail-remote
// remembers of dead hosts, in queue/lock/tcpto (qmail's) and
// queue/lock/tcpto-pairs (ours), listed and cleared.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "lib/admin/commands.h"

namespace qr {

// `qmail-routes tcpto`: one line per remembered address or pair (count at
// least 1), both files, with the age of the last failure and what a
// delivery does with it now. `lock_dir` is $QMAIL_ROOT/queue/lock; `now`
// the time to judge by (time(nullptr) in main).
Output tcpto_list(const std::string& lock_dir, uint64_t now);

// `qmail-routes tcpok [IP]`: no IP: every record of both files zeroed, as
// qmail-tcpok does (tcpto-pairs is made when missing, owned as tcpto is);
// an IP: the records naming it (as the remote, or in tcpto-pairs as our
// local IP) zeroed.
Output tcpto_ok(const std::vector<std::string>& args, const std::string& lock_dir);

// "42 s", "5 min 3 s", "2 h 10 min", "3 d 4 h".
std::string human_age(uint64_t seconds);

}  // namespace qr
