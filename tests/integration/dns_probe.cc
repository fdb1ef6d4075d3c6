// dns_probe: the DNS layer (lib/dns) from the command line, for t_dns.sh.
//   dns_probe mx DOMAIN    dns_probe host NAME    dns_probe ptr IP
// Reads DNSCACHEIP like qmail-remote. Prints a stable text form:
//   line 1: ok | ok implicit | nxdomain: TEXT | tempfail: TEXT | nullmx: TEXT
//   then one line per host: "PREF NAME ADDR..." or "PREF NAME - ERROR"
// For ptr: "ok NAME" or "error: TEXT". Exit 2 on usage or setup errors.
#include <cstdio>
#include <random>
#include <string>

#include "lib/dns/dns.h"

namespace {

const char* status_name(qr::DnsStatus s) {
  switch (s) {
    case qr::DnsStatus::Ok:
      return "ok";
    case qr::DnsStatus::NxDomain:
      return "nxdomain";
    case qr::DnsStatus::TempFail:
      return "tempfail";
    case qr::DnsStatus::NullMx:
      return "nullmx";
  }
  return "?";
}

void print_status(qr::DnsStatus status, bool implicit, const std::string& error) {
  std::string line = status_name(status);
  if (implicit) line += " implicit";
  if (status != qr::DnsStatus::Ok) line += ": " + error;
  std::printf("%s\n", line.c_str());
}

void print_host(unsigned pref, const std::string& name, const std::vector<qr::IpAddr>& addrs,
                const std::string& error) {
  std::string line = std::to_string(pref) + " " + name;
  for (const auto& a : addrs) line += " " + a.str();
  if (addrs.empty()) line += " - " + error;
  std::printf("%s\n", line.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: dns_probe mx|host|ptr NAME\n");
    return 2;
  }
  auto resolver = qr::Resolver::create();
  if (!resolver) {
    std::fprintf(stderr, "dns_probe: %s\n", resolver.error().c_str());
    return 2;
  }
  std::string mode = argv[1];
  if (mode == "mx") {
    qr::Rng rng(std::random_device{}());
    qr::MxAnswer answer = (*resolver)->lookup_mx(argv[2], rng);
    print_status(answer.status, answer.implicit, answer.error);
    for (const auto& h : answer.hosts) print_host(h.preference, h.name, h.addrs, h.error);
  } else if (mode == "host") {
    qr::HostAnswer answer = (*resolver)->lookup_host(argv[2]);
    print_status(answer.status, false, answer.error);
    if (answer.status == qr::DnsStatus::Ok) print_host(0, argv[2], answer.addrs, answer.error);
  } else if (mode == "ptr") {
    auto addr = qr::IpAddr::parse(argv[2]);
    if (!addr) {
      std::fprintf(stderr, "dns_probe: not an IP address: %s\n", argv[2]);
      return 2;
    }
    auto name = (*resolver)->lookup_ptr(*addr);
    if (name)
      std::printf("ok %s\n", name->c_str());
    else
      std::printf("error: %s\n", name.error().c_str());
  } else {
    std::fprintf(stderr, "dns_probe: unknown mode %s\n", mode.c_str());
    return 2;
  }
  return 0;
}
