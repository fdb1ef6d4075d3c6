#include "lib/deliver.h"

#include <sys/socket.h>

#include <algorithm>
#include <ctime>

#include "lib/net/connection.h"
#include "lib/net/tcpto.h"
#include "lib/route/dane_policy.h"
#include "lib/route/expand.h"
#include "lib/route/mx_security.h"
#include "lib/route/select.h"
#include "lib/route/tls_policy.h"
#include "lib/smtp/address.h"
#include "lib/smtp/message.h"
#include "lib/sts/fetch.h"
#include "lib/tls/session_cache.h"
#include "lib/tls/tls.h"

namespace qr {
namespace {

bool has_forbidden_byte(std::string_view a) {
  return a.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

std::string show_local(const std::optional<IpAddr>& local) {
  return local ? local->str() : "default";
}

// "192.0.2.1:25 (mx1.example.com)": how an attempt line names the remote.
std::string remote_where(const Target& t) {
  return format_endpoint(t.addr, t.port) + (t.host.empty() ? "" : " (" + t.host + ")");
}

// The walk itself: one object per run, so each step reads like SPEC §4.
// Every attempt ends in an AttemptOutcome; the ones that do not end the run
// are kept, in order, for the report (report.h's give_up and failed_before).
class Walk {
 public:
  Walk(const Job& job, const Control& control, Connector& connector, DnsSource& dns, Rng& rng,
       Report& report, DeadHosts* dead, const sts::Source* sts)
      : job_(job),
        control_(control),
        connector_(connector),
        dns_(dns),
        rng_(rng),
        report_(report),
        dead_(dead),
        dane_(control, dns, job.host),
        sts_source_(sts) {}

  void run();

 private:
  // true: the run is over (a report was written).
  bool try_pair(const Attempt& a);
  AttemptOutcome attempt(const Attempt& a, bool plaintext, bool* retry_plaintext);
  SessionSettings settings_for(const Target& t, const std::optional<IpAddr>& local, int fd);
  void finish(const Attempt& a, const Final& f);
  // SPEC §8's `dane` for this target (lib/route/mx_security.h); for other
  // policies just the policy.
  HostSecurity security(const Target& t);
  const std::optional<sts::Policy>& sts_policy();

  const Job& job_;
  const Control& control_;
  Connector& connector_;
  DnsSource& dns_;
  Rng& rng_;
  Report& report_;
  // SPEC §12: dead hosts (null: nothing remembered, as in unit tests), and
  // the pairs demoted to the end of the walk.
  DeadHosts* dead_;
  std::vector<Attempt> demoted_;
  Selection sel_;
  std::vector<Failure> failures_;
  // DANE for this run's destination (SPEC §13); its look-ups are made
  // once per host, and only under policy `dane`.
  DanePolicy dane_;
  // SPEC §14: the destination's MTA-STS policy, looked up once per run
  // and only when a `dane` MX host needs it.
  const sts::Source* sts_source_;
  std::optional<std::optional<sts::Policy>> sts_;
  // MTA-STS testing: why the last session's certificate would have failed
  // the check enforce makes; empty when it passed or was not checked.
  std::string certificate_problem_;
};

const std::optional<sts::Policy>& Walk::sts_policy() {
  if (sts_) return *sts_;
  sts_.emplace();
  std::string err;
  Resolver* res = sts_source_ ? dns_.resolver(&err) : nullptr;
  if (!res || host_literal(job_.host)) return *sts_;
  sts::Lookup l = sts::lookup_policy(job_.host, *res, sts_source_->cache_dir,
                                     int64_t(std::time(nullptr)), sts_source_->fetch);
  if (l.policy && l.policy->mode != sts::Mode::None) *sts_ = std::move(l.policy);
  return *sts_;
}

HostSecurity Walk::security(const Target& t) {
  return host_security(
      sel_.route, control_.tls, t, job_.host, control_.anchors.has_value(),
      [this](const TlsChoice& c, const Target& target) { return dane_.decide(c, target); },
      [this]() -> const std::optional<sts::Policy>& { return sts_policy(); });
}

void Walk::run() {
  sel_ = select_route(control_, job_.host, job_.envelope.sender, job_.envelope.recipients.front());
  // SPEC §1: the password never reaches a report, whatever echoes it.
  report_.secrets().add(sel_.route.pass);
  Plan plan = make_plan(sel_.route, control_.default_ips, rng_);
  for (const Endpoint& endpoint : plan.remotes) {
    // DNS is asked lazily, item by item (doc/DECISIONS.md).
    Expansion x = expand_endpoint(endpoint, job_.host, dns_, rng_);
    failures_.insert(failures_.end(), x.unreached.begin(), x.unreached.end());
    if (ends_run(x, plan.remotes.size()))
      return report_.message(dns_verdict(*x.verdict, job_.host, sel_.route.name));
    for (const Target& t : x.targets) {
      if (HostSecurity hs = security(t); hs.skip) {
        failures_.push_back(Unreached{{remote_where(t), "", hs.why}});
        continue;
      }
      auto pairs = pair_attempts({t}, plan.locals);
      if (pairs.empty())
        failures_.push_back(Unreached{{format_endpoint(t.addr, t.port), "",
                                       "no local IP of its address family in this route"}});
      // Each pair in plan order, unless it is known to be dead (SPEC §12):
      // skipped as vanilla skips it, or demoted after every unmarked pair.
      for (const Attempt& a : pairs) {
        tcpto::Verdict v = dead_ ? dead_->check(a.target.addr, a.local) : tcpto::Verdict{};
        if (v.kind == tcpto::Kind::skipped) {
          failures_.push_back(Unreached{
              {remote_where(a.target), " from " + show_local(a.local), tcpto::skipped_text(v)}});
        } else if (v.kind == tcpto::Kind::demoted) {
          demoted_.push_back(a);
        } else if (try_pair(a)) {
          return;
        }
      }
    }
  }
  for (const Attempt& a : demoted_)
    if (try_pair(a)) return;
  report_.message(give_up(failures_, sel_.route.name));
}

bool Walk::try_pair(const Attempt& a) {
  // SPEC §4: a failed `may` handshake is retried once on the same pair in
  // plaintext, and the report says so.
  for (bool plaintext : {false, true}) {
    bool retry = false;
    AttemptOutcome o = attempt(a, plaintext, &retry);
    if (const Final* f = std::get_if<Final>(&o)) {
      finish(a, *f);
      return true;
    }
    if (Unreached* u = std::get_if<Unreached>(&o))
      failures_.push_back(std::move(*u));
    else
      failures_.push_back(std::get<Refused>(std::move(o)));
    if (!retry) return false;
  }
  return false;
}

AttemptOutcome Walk::attempt(const Attempt& a, bool plaintext, bool* retry_plaintext) {
  const Target& t = a.target;
  AttemptLine line{remote_where(t), " from " + show_local(a.local), ""};
  auto fd = connector_.connect(t.addr, t.port, a.local, control_.timeoutconnect);
  // SPEC §12: only a timeout counts; an answer (refused too) resets.
  if (dead_ && (fd || (!fd.failure().timed_out && !fd.failure().bind_failed)))
    dead_->answered(t.addr, a.local);
  else if (dead_ && fd.failure().timed_out)
    dead_->timed_out(t.addr, a.local);
  if (!fd) {
    line.why = fd.failure().text;
    return Unreached{std::move(line)};
  }
  int raw = fd->get();
  Connection conn(std::move(*fd), control_.timeoutremote);
  SessionSettings s = settings_for(t, a.local, raw);
  s.skip_starttls = plaintext;
  SessionOutcome o = run_session(conn, s, job_.envelope, *job_.message);
  certificate_problem_.clear();
  if (const auto* tls = dynamic_cast<const TlsStream*>(&conn.stream()); tls && s.check_certificate)
    certificate_problem_ = tls->verify_error();
  if (auto* next = std::get_if<NextPair>(&o)) {
    line.why = std::move(next->reason);
    if (security(t).mark == "sts=enforce") line.why = "MTA-STS mode enforce: " + line.why;
    *retry_plaintext = next->tls_failed_may && !plaintext;
    return Refused{std::move(line), next->refusal};
  }
  Final f = std::get<Final>(std::move(o));
  if (plaintext && f.tls == "none") f.tls = "failed-plaintext";
  return f;
}

void Walk::finish(const Attempt& a, const Final& f) {
  for (const auto& r : f.recipients) report_.recipient(r.letter, r.text);
  HostSecurity hs = security(a.target);
  // SPEC §10: dane=ok when the session's certificate was checked by DANE.
  RouteLine line{sel_.route.name,
                 show_local(a.local),
                 remote_name(a.target),
                 f.tls,
                 f.auth,
                 f.dane ? std::string("dane=ok") : hs.mark};
  // SPEC §14 testing mode: delivered as without a policy; the report says
  // what enforce would have refused.
  std::string would;
  if (hs.mark == "sts=testing") {
    would = hs.testing_note;
    if (f.tls == "none" || f.tls == "failed-plaintext")
      would += (would.empty() ? "" : "; ") + std::string("no TLS");
    if (!certificate_problem_.empty())
      would += (would.empty() ? "" : "; ") + ("certificate: " + certificate_problem_);
    if (!would.empty()) would = "MTA-STS mode testing: enforce would have refused: " + would + "\n";
  }
  // SPEC §10: a K or Z after failed pairs lists them, so that qmail-send's
  // log shows the failover; a D (mailed to the sender) does not.
  report_.message(f.letter,
                  f.text + route_line(f.letter, line) + would + failed_before(failures_, f.letter));
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
    if (Resolver* res = src ? dns_.resolver(&err) : nullptr) {
      if (auto name = res->lookup_ptr(*src)) s.helo = *name;
    }
  }
  s.peer = t.addr.str();
  s.tls_name = t.host;
  s.user = r.user;
  s.pass = r.pass;
  s.auth_cleartext = r.options.auth_cleartext;
  s.secrets = &report_.secrets();
  TlsChoice tls = tls_for(r, control_.tls, t, control_.anchors.has_value());
  HostSecurity hs = security(t);
  s.tls = hs.policy;  // tls.policy, or what `dane` makes of it
  s.dane = std::move(hs.dane);
  s.check_certificate = hs.mark == "sts=testing";
  s.ca_file = tls.ca_file;
  s.implicit_tls = tls.implicit;
  s.client_cert = control_.tls.client_cert;
  s.ciphers = control_.tls.ciphers;
  s.tls_cache_dir = session_cache_dir_for(control_dir());  // SPEC §15
  return s;
}

}  // namespace

std::optional<Verdict> refuse_before_connecting(const Job& job) {
  // SPEC §4: refused before any connection, and before the control files,
  // since no configuration can make such a message deliverable.
  if (job.message->facts().partial_last_line)
    return Verdict{Letter::D, std::string(texts::kPartialLine)};
  const auto& env = job.envelope;
  if (has_forbidden_byte(env.sender) ||
      std::any_of(env.recipients.begin(), env.recipients.end(),
                  [](const std::string& r) { return has_forbidden_byte(r); }))
    return Verdict{Letter::D, std::string(texts::kBadAddress)};
  if (!sendable_domain(env.sender) ||
      !std::all_of(env.recipients.begin(), env.recipients.end(),
                   [](const std::string& r) { return sendable_domain(r); }))
    return Verdict{Letter::D, std::string(texts::kBadDomain)};
  return std::nullopt;
}

void walk(const Job& job, const Control& control, Connector& connector, DnsSource& dns, Rng& rng,
          Report& report, DeadHosts* dead, const sts::Source* sts) {
  Walk(job, control, connector, dns, rng, report, dead, sts).run();
}

void deliver(const Job& job, Rng& rng, Report& report) {
  if (auto v = refuse_before_connecting(job)) return report.message(*v);
  auto control = load_control(control_dir());
  if (!control) return report.message(Letter::Z, control.error() + ". (#4.3.0)\n");
  TcpConnector connector;
  SystemDns dns;  // the resolver is made only when an item needs one
  // Read at the first check, written when it goes out of scope (SPEC §12).
  DeadHosts dead(tcpto::lock_dir_for(control_dir()));
  // SPEC §14: policies are cached under queue/sts; a miss fetches over
  // HTTPS, resolving mta-sts.<domain> with the same DNS.
  sts::Source sts{sts::cache_dir_for(control_dir()),
                  [&dns](std::string_view domain) -> Result<std::string> {
                    std::string err;
                    Resolver* res = dns.resolver(&err);
                    if (!res) return Error{err};
                    return sts::fetch_policy(domain, *res);
                  }};
  walk(job, *control, connector, dns, rng, report, &dead, &sts);
}

}  // namespace qr
