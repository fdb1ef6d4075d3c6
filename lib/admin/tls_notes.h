// What `qmail-routes check` says about TLS policies that are not errors but
// that an administrator should know of (SPEC §8): routes whose policy the
// credentials default changed, and notlshosts/ files that cannot do what
// they seem to.
#pragma once

#include <string>
#include <vector>

#include "lib/control/control.h"

namespace qr {

// One line each: "control/routes:3: note: ...",
// "control/notlshosts/relay.example: note: ...".
std::vector<std::string> tls_policy_notes(const Control& control);

// SPEC §13: whether the DNS server (DNSCACHEIP or resolv.conf) passes the
// DNSSEC records that `dane` needs, asked for the anchors' own DNSKEYs:
// "control/dnssec-anchors: note: ...".
std::string dnssec_note(const DnssecAnchors& anchors);

}  // namespace qr
