// tcpto-probe: records and reads dead hosts through lib/net/tcpto exactly
// as qmail-remote's walk does (DeadHosts), for t_tcpto.sh, which checks the
// files against the real qmail-tcpto and qmail-tcpok (SPEC §12, issue 12).
// Built by `make unit` as build/tcpto-probe.
//
//   tcpto-probe LOCK_DIR [--now T] [--pid P] timeout REMOTE [LOCAL [elsewhere]]
//   tcpto-probe LOCK_DIR [--now T] [--pid P] success REMOTE [LOCAL]
//   tcpto-probe LOCK_DIR [--now T] [--pid P] check REMOTE [LOCAL]
//
// check prints "none", "demoted AGE" or "skipped AGE". Exit 2 on bad usage.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "lib/net/tcpto.h"

namespace {

int usage() {
  std::fputs(
      "usage: tcpto-probe LOCK_DIR [--now T] [--pid P] timeout|success|check REMOTE [LOCAL "
      "[elsewhere]]\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage();
  qr::DeadHosts::Config cfg;
  cfg.lock_dir = args[0];
  size_t i = 1;
  uint64_t now = uint64_t(std::time(nullptr));
  for (; i + 1 < args.size() && args[i].rfind("--", 0) == 0; i += 2) {
    if (args[i] == "--now")
      now = std::strtoull(args[i + 1].c_str(), nullptr, 10);
    else if (args[i] == "--pid")
      cfg.pid = pid_t(std::strtol(args[i + 1].c_str(), nullptr, 10));
    else
      return usage();
  }
  cfg.now = [now] { return now; };
  if (args.size() < i + 2) return usage();
  const std::string cmd = args[i];
  auto remote = qr::IpAddr::parse(args[i + 1]);
  std::optional<qr::IpAddr> local;
  if (args.size() > i + 2) {
    local = qr::IpAddr::parse(args[i + 2]);
    if (!local) return usage();
  }
  bool elsewhere = args.size() > i + 3 && args[i + 3] == "elsewhere";
  if (!remote) return usage();
  qr::DeadHosts hosts(cfg);
  if (cmd == "timeout") {
    hosts.record_timeout(*remote, local, elsewhere);
  } else if (cmd == "success") {
    hosts.record_success(*remote, local);
  } else if (cmd == "check") {
    qr::tcpto::Verdict v = hosts.check(*remote, local);
    if (v.kind == qr::tcpto::Kind::none)
      std::puts("none");
    else
      std::printf("%s %llu\n", v.kind == qr::tcpto::Kind::skipped ? "skipped" : "demoted",
                  static_cast<unsigned long long>(v.age));
  } else {
    return usage();
  }
  return 0;
}
