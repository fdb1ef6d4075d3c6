// What `qmail-routes check` says of the TLS session cache directory
// (SPEC §15): a note, never a problem, since a missing or unusable cache
// only costs full handshakes.
#pragma once

#include <optional>
#include <string>

#include "lib/admin/permissions.h"

namespace qr {

// nullopt when $QMAIL_ROOT/queue/tlscache (beside the control directory
// `control_dir`) is one qmail-remote uses: a directory owned by `account`
// (when known) and writable by no one else (lib/tls/session_cache.h). Else
// "queue/tlscache: note: ..." with the commands that make it so.
std::optional<std::string> tlscache_note(const std::string& control_dir, const Account* account);

}  // namespace qr
