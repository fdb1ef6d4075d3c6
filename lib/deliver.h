// The walk (SPEC §4): from argv and the message to one final report.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/report.h"
#include "lib/route/plan.h"
#include "lib/smtp/session.h"

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

}  // namespace qr
