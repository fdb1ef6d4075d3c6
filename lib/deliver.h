// The walk (SPEC §4): from argv and the message to one final report.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/control/control.h"
#include "lib/dns/dns.h"
#include "lib/net/connect.h"
#include "lib/net/tcpto.h"
#include "lib/outcome.h"
#include "lib/report.h"
#include "lib/route/plan.h"
#include "lib/smtp/session.h"
#include "lib/sts/lookup.h"

namespace qr {

struct Job {
  std::string host;  // argv[1]: the recipients' domain, or an IP literal "[1.2.3.4]"
  Envelope envelope;
  const MessageSource* message = nullptr;  // read again by every session that reaches DATA
};

// Runs the whole delivery and writes every report through `report`. Failures
// that are part of the job (bad control file, DNS, every host failing) become
// reports here; only the truly unexpected (out of memory) escapes as an
// exception, which main turns into a Z.
void deliver(const Job& job, Rng& rng, Report& report);

// What no configuration can send, found before the control files are read
// (SPEC §4, §6): a partial final line, an address with CR, LF or NUL, a
// domain that would end the path. nullopt: the job can go on.
std::optional<Verdict> refuse_before_connecting(const Job& job);

// The walk itself over `control`, connecting through `connector` and asking
// `dns`: deliver() passes the real ones, tests socket pairs and scripted
// answers. `dead` remembers dead hosts (SPEC §12); null: nothing is.
// `sts` finds MTA-STS policies for `dane` MX deliveries (SPEC §14); null:
// none is looked up.
void walk(const Job& job, const Control& control, Connector& connector, DnsSource& dns, Rng& rng,
          Report& report, DeadHosts* dead = nullptr, const sts::Source* sts = nullptr);

}  // namespace qr
