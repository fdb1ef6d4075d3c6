#include "lib/deliver.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "lib/control/control.h"
#include "lib/dns/dns.h"
#include "lib/net/connect.h"
#include "lib/net/connection.h"
#include "lib/net/tcpto.h"
#include "lib/route/select.h"
#include "lib/route/tls_policy.h"
#include "lib/smtp/address.h"
#include "lib/smtp/message.h"

namespace qr {
namespace {

// How much of the attempt list the final Z report carries.
constexpr size_t kMaxAttemptText = 3000;
// ...and of each attempt's line, so that one server's long reply cannot push
// the others (or itself) out of the list.
constexpr size_t kMaxAttemptLine = 400;

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  return r;
}

bool has_forbidden_byte(std::string_view a) {
  return a.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// The walk itself: one object per run, so each step reads like SPEC §4.
class Walk {
 public:
  Walk(const Job& job, const Control& control, std::string dir, Rng& rng, Report& report)
      : job_(job), control_(control), dir_(std::move(dir)), rng_(rng), report_(report) {}

  void run();

 private:
  struct Expansion {
    std::vector<Target> targets;
    // A DNS answer that settles the run when `mx` is the route's only remote.
    std::optional<std::pair<char, std::string>> verdict;
    // The destination itself says it takes no mail (RFC 7505): no other
    // remote of the route is tried either.
    bool final = false;
  };

  Resolver* resolver(std::string* error);
  Expansion expand(const Endpoint& e);
  Expansion expand_mx(const Endpoint& e);
  // true: the run is over (a report was written).
  bool attempt(const Target& t, const std::optional<IpAddr>& local);
  SessionSettings settings_for(const Target& t, const std::optional<IpAddr>& local, int fd);
  std::string route_line(const Target& t, const std::optional<IpAddr>& local,
                         const SessionOutcome& o) const;
  // One line of the attempt list. `from` (" from 192.0.2.7") names our
  // local IP: it is left out of a D report (SPEC §10).
  void note(std::string line, std::string from = "", size_t at = 0) {
    if (line.size() > kMaxAttemptLine) {
      line.resize(kMaxAttemptLine);
      line += "...";
    }
    // One attempt, one line: a multi-line server reply is folded.
    for (char& c : line)
      if (c == '\n') c = ' ';
    at = std::min(at, line.size());
    failures_.push_back({std::move(line), std::move(from), at});
  }
  // What a report about the whole run ends with: the route's name, except
  // in a D report (SPEC §10: it is mailed to the sender).
  std::string route_name_line(char letter) const {
    return letter == 'D' ? "" : "route=" + sel_.route.name + "\n";
  }
  // The failed attempts so far, one a line, capped at kMaxAttemptText.
  std::string attempt_list(char letter) const {
    std::string list;
    for (const auto& f : failures_) {
      std::string line = f.line;
      if (letter != 'D') line.insert(f.at, f.from);
      if (list.size() + line.size() + 1 > kMaxAttemptText) {
        list += "...\n";
        break;
      }
      list += line + "\n";
    }
    return list;
  }
  void give_up();

  const Job& job_;
  const Control& control_;
  std::string dir_;
  Rng& rng_;
  Report& report_;
  Selection sel_;
  std::unique_ptr<Resolver> resolver_;
  std::string resolver_error_;
  struct Failure {
    std::string line;  // "192.0.2.1:25 (mx.example): connection refused"
    std::string from;  // " from 192.0.2.7", inserted at `at` in Z and K reports
    size_t at = 0;
  };
  std::vector<Failure> failures_;
  size_t tried_ = 0, smtputf8_missing_ = 0;
  // SPEC §12: dead hosts, and the pairs demoted to the end of the walk.
  DeadHosts dead_{tcpto::lock_dir_for(dir_)};
  std::vector<Attempt> demoted_;
};

Resolver* Walk::resolver(std::string* error) {
  if (!resolver_ && resolver_error_.empty()) {
    auto r = Resolver::create();
    if (r)
      resolver_ = std::move(*r);
    else
      resolver_error_ = r.error();
  }
  if (!resolver_) *error = resolver_error_;
  return resolver_.get();
}

Walk::Expansion Walk::expand_mx(const Endpoint& e) {
  Expansion x;
  if (auto lit = host_literal(job_.host)) {
    x.targets.push_back({"", *lit, e.port, false});
    return x;
  }
  std::string err;
  Resolver* res = resolver(&err);
  if (!res) {
    note("MX for " + job_.host + ": " + err);
    x.verdict = {'Z', std::string(texts::kDnsTemp) + err + "\n"};
    return x;
  }
  MxAnswer a = res->lookup_mx(lower(job_.host), rng_);
  switch (a.status) {
    case DnsStatus::NxDomain:
      note("MX for " + job_.host + ": no such domain");
      x.verdict = {'D', texts::no_such_domain(job_.host)};
      return x;
    case DnsStatus::NullMx:
      note("MX for " + job_.host + ": null MX");
      x.verdict = {'D', texts::null_mx(job_.host)};
      x.final = true;
      return x;
    case DnsStatus::TempFail:
      note("MX for " + job_.host + ": " + a.error);
      x.verdict = {'Z', std::string(texts::kDnsTemp) + a.error + "\n"};
      return x;
    case DnsStatus::Ok:
      break;
  }
  // SPEC §5: a best MX that is this host means the mail would loop.
  if (drop_self_mx(a.hosts, [](const IpAddr& ip) { return is_local_address(ip); }) &&
      a.hosts.empty()) {
    note("MX for " + job_.host + ": this host is the best MX");
    x.verdict = {'D', std::string(texts::kSelfMx)};
    return x;
  }
  // RFC 5321 §5.1: a domain with no MX and no address cannot get mail;
  // vanilla says so permanently (#5.4.4).
  if (a.implicit && a.hosts.size() == 1 && a.hosts[0].addrs.empty()) {
    note("MX for " + job_.host + ": no MX and no address");
    x.verdict = {'D', std::string(texts::kNoMailExchanger)};
    return x;
  }
  std::string unresolved;
  for (const auto& h : a.hosts) {
    if (h.addrs.empty()) {
      note(h.name + ": " + (h.error.empty() ? "no address" : h.error));
      unresolved += (unresolved.empty() ? "" : ", ") + h.name;
    }
    for (const auto& ip : h.addrs) x.targets.push_back({h.name, ip, e.port, true});
  }
  if (x.targets.empty())
    x.verdict = {'Z', std::string(texts::kNoHost) + "No address for: " + unresolved + "\n"};
  return x;
}

Walk::Expansion Walk::expand(const Endpoint& e) {
  if (e.is_mx) return expand_mx(e);
  Expansion x;
  if (e.ip) {
    x.targets.push_back({"", *e.ip, e.port, false});
    return x;
  }
  std::string err;
  Resolver* res = resolver(&err);
  if (!res) {
    note(e.host + ": " + err);
    return x;
  }
  HostAnswer a = res->lookup_host(e.host);
  if (a.status != DnsStatus::Ok || a.addrs.empty()) {
    note(e.host + ": " + (a.error.empty() ? "no address" : a.error));
    return x;
  }
  for (const auto& ip : a.addrs) x.targets.push_back({e.host, ip, e.port, false});
  return x;
}

SessionSettings Walk::settings_for(const Target& t, const std::optional<IpAddr>& local, int fd) {
  const Route& r = sel_.route;
  SessionSettings s;
  s.helo = r.options.helo.empty() ? control_.helohost : r.options.helo;
  if (r.options.helo_ptr) {
    // helo=ptr: the PTR name of the source address actually in use.
    std::optional<IpAddr> src = local;
    if (!src) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        src = IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
    }
    std::string err;
    if (Resolver* res = src ? resolver(&err) : nullptr) {
      if (auto name = res->lookup_ptr(*src)) s.helo = *name;
    }
  }
  s.peer = t.addr.str();
  s.tls_name = t.host;
  s.user = r.user;
  s.pass = r.pass;
  s.auth_cleartext = r.options.auth_cleartext;
  s.secrets = &report_.secrets();
  TlsChoice tls = tls_for(r, control_.tls, t);
  s.tls = tls.policy;
  s.ca_file = tls.ca_file;
  s.implicit_tls = tls.implicit;
  s.client_cert = control_.tls.client_cert;
  s.ciphers = control_.tls.ciphers;
  return s;
}

std::string Walk::route_line(const Target& t, const std::optional<IpAddr>& local,
                             const SessionOutcome& o) const {
  std::string remote = t.host.empty() ? "[" + t.addr.str() + "]:" + std::to_string(t.port)
                                      : t.host + "[" + t.addr.str() + "]:" + std::to_string(t.port);
  // SPEC §10: a D report is mailed to the sender; the route's name, our
  // local IP and the AUTH mechanism are the administrator's business.
  if (o.letter == 'D') return "remote=" + remote + " tls=" + o.tls + "\n";
  return "route=" + sel_.route.name + " local=" + (local ? local->str() : "default") +
         " remote=" + remote + " tls=" + o.tls + " auth=" + o.auth + "\n";
}

bool Walk::attempt(const Target& t, const std::optional<IpAddr>& local) {
  const std::string where =
      format_endpoint(t.addr, t.port) + (t.host.empty() ? "" : " (" + t.host + ")");
  const std::string from = " from " + (local ? local->str() : "default");
  bool skip_starttls = false;
  for (;;) {
    ++tried_;
    ConnectFailure cf;
    auto fd = connect_tcp(t.addr, t.port, local, control_.timeoutconnect, &cf);
    // SPEC §12: only a timeout counts; an answer (refused too) resets.
    if (fd || (!cf.timed_out && !cf.bind_failed))
      dead_.answered(t.addr, local);
    else if (cf.timed_out)
      dead_.timed_out(t.addr, local);
    if (!fd) {
      note(where + ": " + cf.text, from, where.size());
      return false;
    }
    int raw = fd->get();
    Connection conn(std::move(*fd), control_.timeoutremote);
    SessionSettings s = settings_for(t, local, raw);
    s.skip_starttls = skip_starttls;
    SessionOutcome o = run_session(conn, s, job_.envelope, *job_.message);
    if (o.kind == SessionOutcome::Kind::NextPair) {
      note(where + ": " + o.reason, from, where.size());
      if (o.smtputf8_missing) ++smtputf8_missing_;
      // SPEC §4: a failed `may` handshake is retried once on the same pair in plaintext.
      if (o.tls_failed_may && !skip_starttls) {
        skip_starttls = true;
        continue;
      }
      return false;
    }
    if (skip_starttls && o.tls == "none") o.tls = "failed-plaintext";
    for (const auto& r : o.recipients) report_.recipient(r.letter, r.text);
    // SPEC §10: a K or Z after failed pairs lists them, so that qmail-send's
    // log shows the failover; a D (mailed to the sender) does not.
    std::string tried;
    if (o.letter != 'D' && !failures_.empty())
      tried = "Failed before this attempt:\n" + attempt_list(o.letter);
    report_.message(o.letter, o.text + route_line(t, local, o) + tried);
    return true;
  }
}

void Walk::give_up() {
  std::string text;
  char letter = 'Z';
  if (tried_ > 0 && smtputf8_missing_ == tried_) {
    // SPEC §7: every host was tried and none can take this envelope.
    letter = 'D';
    text = std::string(texts::kNoSmtpUtf8);
  } else {
    text = std::string(texts::kNoConnection);
  }
  report_.message(letter, text + attempt_list(letter) + route_name_line(letter));
}

void Walk::run() {
  sel_ = select_route(control_, job_.host, job_.envelope.sender, job_.envelope.recipients.front());
  // SPEC §1: the password never reaches a report, whatever echoes it.
  report_.secrets().add(sel_.route.pass);
  Plan plan = make_plan(sel_.route, control_.default_ips, rng_);
  for (const auto& endpoint : plan.remotes) {
    Expansion x = expand(endpoint);
    if (x.verdict && (x.final || plan.remotes.size() == 1)) {
      report_.message(x.verdict->first, x.verdict->second + route_name_line(x.verdict->first));
      return;
    }
    for (const auto& t : x.targets) {
      auto attempts = pair_attempts({t}, plan.locals);
      if (attempts.empty())
        note(format_endpoint(t.addr, t.port) + ": no local IP of its address family in this route");
      for (const auto& a : attempts) {
        tcpto::Verdict v = dead_.check(a.target.addr, a.local);
        if (v.kind == tcpto::Kind::skipped) {
          std::string where = format_endpoint(a.target.addr, a.target.port) +
                              (a.target.host.empty() ? "" : " (" + a.target.host + ")");
          note(where + ": " + tcpto::skipped_text(v),
               " from " + (a.local ? a.local->str() : "default"), where.size());
        } else if (v.kind == tcpto::Kind::demoted) {
          demoted_.push_back(a);  // after every unmarked pair of the plan
        } else if (attempt(a.target, a.local)) {
          return;
        }
      }
    }
  }
  for (const auto& a : demoted_)
    if (attempt(a.target, a.local)) return;
  give_up();
}

}  // namespace

void deliver(const Job& job, Rng& rng, Report& report) {
  // SPEC §4: refused before any connection, and before the control files,
  // since no configuration can make such a message deliverable.
  if (job.message->facts().partial_last_line) return report.message('D', texts::kPartialLine);
  if (has_forbidden_byte(job.envelope.sender) ||
      std::any_of(job.envelope.recipients.begin(), job.envelope.recipients.end(),
                  [](const std::string& r) { return has_forbidden_byte(r); }))
    return report.message('D', texts::kBadAddress);
  if (!sendable_domain(job.envelope.sender) ||
      !std::all_of(job.envelope.recipients.begin(), job.envelope.recipients.end(),
                   [](const std::string& r) { return sendable_domain(r); }))
    return report.message('D', texts::kBadDomain);

  std::string dir = control_dir();
  auto control = load_control(dir);
  if (!control) return report.message('Z', control.error() + ". (#4.3.0)\n");
  Walk(job, *control, dir, rng, report).run();
}

}  // namespace qr
