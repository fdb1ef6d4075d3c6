#include "lib/admin/sts.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "lib/text.h"
#include "lib/sts/fetch.h"
#include "lib/sts/lookup.h"

namespace qr {

namespace {

std::string utc(int64_t t) {
  std::time_t tt = std::time_t(t);
  std::tm tm{};
  char buf[32];
  if (::gmtime_r(&tt, &tm) == nullptr ||
      std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
    return std::to_string(t);
  return buf;
}

std::string show(const sts::Cached& c, int64_t now) {
  std::string out = "id: " + c.id + "\n";
  out += "fetched: " + utc(c.fetched) + "\n";
  out += "used until: " + utc(c.expires()) + (c.fresh(now) ? "" : " (expired)") + "\n";
  out += std::string("mode: ") + sts::mode_name(c.policy.mode) + "\n";
  out += "max_age: " + std::to_string(c.policy.max_age) + "\n";
  for (const std::string& p : c.policy.mx) out += "mx: " + p + "\n";
  return out;
}

}  // namespace

Output sts_command(const std::vector<std::string>& args, const std::string& control_dir) {
  bool refresh = false;
  std::string domain;
  for (const std::string& a : args) {
    if (a == "--refresh")
      refresh = true;
    else if (!a.empty() && a[0] == '-')
      return Output{
          2, "", "qmail-routes: unknown option " + quoted(a) + " (see qmail-routes sts --help)\n"};
    else if (domain.empty())
      domain = to_lower(a);
    else
      return Output{2, "", "qmail-routes: sts takes one DOMAIN (see qmail-routes sts --help)\n"};
  }
  if (domain.empty() || !is_host_name(domain) || domain[0] == '.')
    return Output{2, "", "qmail-routes: sts needs a DOMAIN (see qmail-routes sts --help)\n"};
  const std::string dir = sts::cache_dir_for(control_dir);
  const int64_t now = int64_t(std::time(nullptr));
  Output o;
  auto res = Resolver::create();
  if (!res) return Output{1, "", "qmail-routes: cannot set up DNS: " + res.error() + "\n"};
  if (refresh) {
    sts::Lookup l = sts::lookup_policy(
        domain, **res, dir, now, [&](std::string_view d) { return sts::fetch_policy(d, **res); },
        true);
    o.out += "refresh: " + l.how + "\n";
    if (!l.cache_error.empty()) o.err += "qmail-routes: not stored: " + l.cache_error + "\n";
  }
  TxtAnswer txt = (*res)->lookup_txt("_mta-sts." + domain);
  auto id = txt.status == DnsStatus::Ok ? sts::txt_id(txt.records)
                                        : Result<std::string>(Error{txt.error});
  o.out += "TXT _mta-sts." + domain + ": " + (id ? "id " + *id : id.error()) + "\n";
  std::string why;
  auto cached = sts::read_cached(dir, domain, &why);
  if (!cached) {
    o.out += "cache " + dir + "/" + domain + ": " + why + "\n";
    o.code = 1;
    return o;
  }
  o.out += "cache " + dir + "/" + domain + ":\n" + show(*cached, now);
  return o;
}

std::vector<std::string> sts_cache_notes(const Control& control, const std::string& control_dir,
                                         const Account* account) {
  bool dane = std::any_of(control.routes.begin(), control.routes.end(), [](const Route& r) {
    return r.options.tls_set && r.options.tls == TlsPolicy::Dane;
  });
  if (!dane) return {};
  const std::string dir = sts::cache_dir_for(control_dir);
  const std::string user = account ? account->name : kQmailRemoteUser;
  const std::string fix =
      "mkdir -p " + dir + " && chown " + user + " " + dir + " && chmod 0750 " + dir;
  struct stat st {};
  const bool found = ::stat(dir.c_str(), &st) == 0;
  if (!found || !S_ISDIR(st.st_mode))
    return {"queue/sts: note: routes use tls=dane but " + dir +
            (found ? " is not a directory" : std::string(": ") + std::strerror(errno)) +
            ": MTA-STS policies are fetched at every delivery (" + fix + ")"};
  Inode inode{st.st_uid, st.st_gid, st.st_mode};
  if (account && !(may(*account, inode, Need::Write) && may(*account, inode, Need::Search)))
    return {"queue/sts: note: " + user + " cannot write " + dir +
            ": MTA-STS policies are fetched at every delivery (" + fix + ")"};
  return {};
}

}  // namespace qr
