// check_control: the files of SPEC §3 read as qmail-remote reads them, but
// each line of routes, routemap and smtproutes fed to its parser alone, so
// that one bad line does not hide the next. What a single line cannot show
// (a route name defined twice, a routemap line naming a route that is not
// there) is checked across lines here. load_control() runs last as a safety
// net: if it refuses what the line checks passed, its error is reported too.
// Before all that, who may read the files (lib/admin/permissions.h): check
// runs as root, qmail-remote does not.
#include "lib/admin/check.h"

#include <dirent.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "lib/admin/entries.h"
#include "lib/admin/text_file.h"
#include "lib/control/control.h"
#include "lib/control/control_file.h"
#include "lib/dns/dnssec.h"
#include "lib/openssl_start.h"
#include "lib/text.h"

namespace qr {

namespace {

class Problems {
 public:
  void add(const std::string& file, int line, const std::string& what) {
    add(Error{what, "control/" + file, line});
  }
  // check's style for every error: "control/routes:3: what" (a compiler's
  // FILE:LINE, which editors jump to), "control/me: what" for a whole file.
  void add(const Error& e) {
    if (e.file.empty()) return add_raw(e.text);
    list_.push_back(e.file + (e.line > 0 ? ":" + std::to_string(e.line) : "") + ": " + e.text);
  }
  void add_raw(const std::string& text) { list_.push_back(text); }
  std::vector<std::string> take() { return std::move(list_); }
  bool empty() const { return list_.empty(); }

 private:
  std::vector<std::string> list_;
};

std::optional<std::string> value_of(const std::string& dir, const char* name, Problems& p) {
  auto v = read_control_value(dir, name);
  if (!v) {
    p.add(v.failure());
    return std::nullopt;
  }
  return *v;
}

void check_values(const std::string& dir, Problems& p) {
  auto helohost = value_of(dir, "helohost", p);
  auto me = value_of(dir, "me", p);
  if ((!helohost || helohost->empty()) && (!me || me->empty()))
    p.add("me", 0, "missing or empty, and so is control/helohost: no name for HELO (SPEC §3)");

  for (const char* name : {"timeoutconnect", "timeoutremote"}) {
    auto v = value_of(dir, name, p);
    if (v && !parse_positive(*v)) p.add(name, 1, "not a number of seconds");
  }
  // SPEC §3: outgoingip is read only when defaultoutgoingip is missing.
  for (const char* name : {"defaultoutgoingip", "outgoingip"}) {
    auto v = read_control_value(dir, name);
    if (!v) {
      p.add(v.failure());
      break;
    }
    if (!*v) continue;
    if (auto ips = parse_local_ips(**v); !ips) p.add(name, 1, ips.error());
    break;
  }
}

// Each line alone; `parse` returns the parser's Result for a one-line list.
template <class Parse>
std::vector<ControlLine> check_lines(const std::string& dir, const char* name, Problems& p,
                                     Parse parse) {
  auto file = read_text_file(dir, name);
  if (!file) {
    p.add(file.failure());
    return {};
  }
  std::vector<ControlLine> good;
  for (const ControlLine& line : control_lines(*file)) {
    auto r = parse(line);
    if (!r)
      p.add(name, line.number, r.failure().text);
    else
      good.push_back(line);
  }
  return good;
}

// Returns every route name written in control/routes, good lines or not, so
// that a routemap line naming a broken route is blamed on the route's line.
std::vector<Route> check_routes(const std::string& dir, Problems& p) {
  auto good = check_lines(dir, "routes", p, [](const ControlLine& l) { return parse_routes({l}); });
  std::map<std::string, int> first;
  for (const ControlLine& l : good) {
    std::string name(split(l.text, ';')[0]);
    if (auto it = first.find(name); it != first.end())
      p.add(
          "routes", l.number,
          "duplicate route name '" + name + "' (first on line " + std::to_string(it->second) + ")");
    else
      first[name] = l.number;
  }
  std::vector<Route> named;
  if (auto file = read_text_file(dir, "routes")) {
    for (const ControlLine& l : control_lines(*file)) {
      Route r;
      r.name = std::string(split(l.text, ';')[0]);
      named.push_back(r);
    }
  }
  return named;
}

void check_tls_files(const std::string& dir, Problems& p) {
  std::string cert = dir + "/clientcert.pem";
  if (::access(cert.c_str(), F_OK) == 0 && ::access(cert.c_str(), R_OK) != 0)
    p.add("clientcert.pem", 0, "exists but cannot be read");

  // qmail-tls looks up tlshosts/<FQDN>.pem; any other name is never read.
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir((dir + "/tlshosts").c_str()), ::closedir);
  if (d) {
    while (const dirent* e = ::readdir(d.get())) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (n.size() <= 4 || n.compare(n.size() - 4, 4, ".pem") != 0)
        p.add("tlshosts/" + n, 0, "ignored: CA files are named tlshosts/<FQDN>.pem");
    }
  }

  auto ciphers = value_of(dir, "tlsclientciphers", p);
  if (ciphers && !ciphers->empty()) {
    openssl_start();  // as qmail-remote starts it, so that both read the list alike
    std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(SSL_CTX_new(TLS_client_method()),
                                                     SSL_CTX_free);
    if (ctx && SSL_CTX_set_cipher_list(ctx.get(), ciphers->c_str()) != 1)
      p.add("tlsclientciphers", 1, "OpenSSL knows no cipher in '" + *ciphers + "'");
  }
}

// SPEC §13: control/dnssec-anchors holds DS or DNSKEY records; a bad one
// is named by file and line.
void check_dnssec_anchors(const std::string& dir, Problems& p) {
  auto text = read_control_file(dir, "dnssec-anchors");
  if (!text) return p.add(text.failure());
  if (!*text) return;
  if (auto a = parse_dnssec_anchors(**text, "control/dnssec-anchors"); !a) p.add(a.failure());
}

}  // namespace

std::vector<std::string> check_control(const std::string& dir, const Account* account) {
  Problems p;
  for (const std::string& text : check_permissions(dir, account)) p.add_raw(text);
  check_values(dir, p);
  check_lines(dir, "smtproutes", p, [](const ControlLine& l) { return parse_smtproutes({l}); });
  std::vector<Route> routes = check_routes(dir, p);
  check_lines(dir, "routemap", p,
              [&](const ControlLine& l) { return parse_routemap({l}, routes); });
  check_tls_files(dir, p);
  check_dnssec_anchors(dir, p);
  if (p.empty()) {
    if (auto c = load_control(dir); !c) p.add(c.failure());
  }
  return p.take();
}

}  // namespace qr
