// qmail-remote host sender recip [recip ...] (SPEC §1)
//
// Reads the message on fd 0, delivers it, writes the report on fd 1, and
// always exits 0: qmail bounces mail on any other exit status, so every
// failure, even out of memory, becomes a Z report.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <exception>
#include <new>
#include <string>

#include "lib/deliver.h"
#include "lib/report.h"
#include "lib/smtp/message.h"

namespace {

void run(int argc, char** argv, qr::Report& report) {
  if (argc < 4) return report.message(qr::Letter::D, qr::texts::kUsage);
  auto message = qr::MessageSource::from_fd(0);
  if (!message)
    return report.message(qr::Letter::Z, std::string(qr::texts::kReadMessage) + message.error() + "\n");

  qr::Job job;
  job.host = argv[1];
  job.envelope.sender = argv[2];
  for (int i = 3; i < argc; ++i) job.envelope.recipients.emplace_back(argv[i]);
  job.message = &*message;
  qr::Rng rng = qr::make_rng();
  qr::deliver(job, rng, report);
}

}  // namespace

int main(int argc, char** argv) {
  // fd 2 is the report pipe too (SPEC §1): point it at /dev/null so that no
  // library can ever write into the report.
  int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0 && null != 2) {
    ::dup2(null, 2);
    ::close(null);
  }
  // A server closing on us must be an error return, not a signal.
  ::signal(SIGPIPE, SIG_IGN);
  // A file size limit (softlimit -f) met while copying a piped message
  // must be a failed write and a Z, not death by SIGXFSZ.
  ::signal(SIGXFSZ, SIG_IGN);

  qr::Report report;
  try {
    run(argc, argv, report);
    if (!report.finished())
      report.message(qr::Letter::Z, std::string(qr::texts::kInternal) + "no outcome. (#4.3.0)\n");
  } catch (const std::bad_alloc&) {
    report.message(qr::Letter::Z, qr::texts::kOutOfMemory);
  } catch (const std::exception& e) {
    report.message(qr::Letter::Z, std::string(qr::texts::kInternal) + e.what() + ". (#4.3.0)\n");
  } catch (...) {
    report.message(qr::Letter::Z,
                   std::string(qr::texts::kInternal) + "unknown exception. (#4.3.0)\n");
  }
  ::_exit(0);
}
