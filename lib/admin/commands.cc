#include "lib/admin/commands.h"

#include <ctime>
#include <map>
#include <optional>

#include "lib/admin/check.h"
#include "lib/admin/edit.h"
#include "lib/admin/entries.h"
#include "lib/admin/explain.h"
#include "lib/admin/help.h"
#include "lib/admin/permissions.h"
#include "lib/admin/sts.h"
#include "lib/admin/tcpto.h"
#include "lib/admin/tls_notes.h"
#include "lib/admin/tlscache_note.h"
#include "lib/control/control.h"
#include "lib/net/tcpto.h"
#include "lib/sts/cache.h"
#include "lib/text.h"

namespace qr {

namespace {

Output usage_error(const std::string& command, const std::string& what) {
  std::string how = command.empty() ? "qmail-routes --help" : "qmail-routes " + command + " --help";
  return Output{2, "", "qmail-routes: " + what + " (see " + how + ")\n"};
}

Output failure(const std::string& what) {
  return Output{1, "", "qmail-routes: " + what + "\n"};
}

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

Result<RouteFiles> read_route_files(const std::string& dir) {
  auto routes = read_text_file(dir, "routes");
  if (!routes) return routes.failure();
  auto routemap = read_text_file(dir, "routemap");
  if (!routemap) return routemap.failure();
  return RouteFiles{std::move(*routes), std::move(*routemap)};
}

// check [--as USER]: USER is the account qmail-remote runs as (qmailr).
Output check(const std::vector<std::string>& args, const std::string& dir) {
  std::string user = kQmailRemoteUser;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind("--as=", 0) == 0) {
      user = args[i].substr(5);
    } else if (args[i] == "--as") {
      user = i + 1 < args.size() ? args[++i] : "";
    } else {
      return usage_error("check", "unknown argument '" + args[i] + "'");
    }
    if (user.empty()) return usage_error("check", "--as needs a user name");
  }
  Output o;
  std::optional<Account> account = find_account(user);
  if (!account)
    o.err = "qmail-routes: note: there is no user " + user +
            " here, so who can read the files was not checked (--as USER names the user "
            "qmail-remote runs as)\n";
  for (const std::string& p : check_control(dir, account ? &*account : nullptr)) o.out += p + "\n";
  o.code = o.out.empty() ? 0 : 1;
  // Notes are not problems: on stderr, like the note above, and the exit
  // status stays that of the problems.
  if (auto control = load_control(dir)) {
    for (const std::string& n : tls_policy_notes(*control)) o.err += n + "\n";
    if (control->anchors) o.err += dnssec_note(*control->anchors) + "\n";
    for (const std::string& n : sts_cache_notes(*control, dir, account ? &*account : nullptr))
      o.err += n + "\n";
  }
  if (auto n = tlscache_note(dir, account ? &*account : nullptr)) o.err += *n + "\n";
  return o;
}

Output list(const std::string& dir) {
  auto files = read_route_files(dir);
  if (!files) return failure(files.error());
  auto entries = list_entries(*files);
  if (!entries) return failure(entries.error());
  Output o;
  for (size_t i = 0; i < entries->size(); ++i) o.out += format_entry(i + 1, (*entries)[i]) + "\n";
  return o;
}

Output explain_cmd(const std::vector<std::string>& args, const std::string& dir) {
  bool dns = true;
  std::vector<std::string> words;
  for (const auto& a : args) {
    if (a == "--no-dns")
      dns = false;
    else if (a.size() > 1 && a[0] == '-')
      return usage_error("explain", "unknown option " + a);
    else
      words.push_back(a);
  }
  // Extra recipients are allowed, as qmail-remote's argv: the first one routes.
  if (words.size() < 3) return usage_error("explain", "needs HOST SENDER RECIP");
  auto control = load_control(dir);
  if (!control) return failure(control.error());
  std::optional<SystemDns> system;
  if (dns) {
    auto r = Resolver::create();
    if (!r) return failure("cannot set up DNS: " + r.error() + " (try --no-dns)");
    system.emplace(std::move(*r));
  }
  Rng rng = make_rng();
  ExplainRequest req{words[0], words[1], words[2], sts::cache_dir_for(dir)};
  DeadHosts dead(tcpto::lock_dir_for(dir));  // SPEC §12: shows what the walk would skip
  return Output{0, explain(*control, req, system ? &*system : nullptr, rng, &dead), ""};
}

// The seed's options and SPEC §11's long forms, and the route options of
// SPEC §3.1 (ours); each takes a value.
enum class Opt { Dest, Host, Port, Priority, Local, User, From, Login, Pass, Tls, Helo, Cleartext };

// The route options, in the order they are written into OPTIONS.
constexpr std::pair<Opt, const char*> kRouteOptions[] = {
    {Opt::Tls, "tls"}, {Opt::Helo, "helo"}, {Opt::Cleartext, "auth-cleartext"}};

const std::map<std::string, Opt>& set_options_table() {
  static const std::map<std::string, Opt> m = {
      {"--tls", Opt::Tls}, {"--helo", Opt::Helo}, {"--auth-cleartext", Opt::Cleartext}};
  return m;
}

const std::map<std::string, Opt>& add_options() {
  static const std::map<std::string, Opt> m = {
      {"-d", Opt::Dest},
      {"--destination", Opt::Dest},
      {"-rh", Opt::Host},
      {"--rh", Opt::Host},
      {"--remoteHost", Opt::Host},
      {"-rp", Opt::Port},
      {"--rp", Opt::Port},
      {"--remotePort", Opt::Port},
      {"-p", Opt::Priority},
      {"--priority", Opt::Priority},
      {"-l", Opt::Local},
      {"--localIp", Opt::Local},
      {"-u", Opt::User},
      {"--smtpUser", Opt::User},
      {"-f", Opt::From},
      {"--mailFrom", Opt::From},
      {"-rl", Opt::Login},
      {"--rl", Opt::Login},
      {"--remoteLogin", Opt::Login},
      {"-rpwd", Opt::Pass},
      {"--rpwd", Opt::Pass},
      {"--remotePasswd", Opt::Pass},
  };
  static const std::map<std::string, Opt> all = [] {
    std::map<std::string, Opt> both = m;
    both.insert(set_options_table().begin(), set_options_table().end());
    return both;
  }();
  return all;
}

struct Parsed {
  std::map<Opt, std::string> given;
  std::vector<std::string> words;  // arguments that are not options
};

// Options from `table`, each with a value ("-d x", "--destination=x"); an
// argument that does not start with '-' is a word.
Result<Parsed> parse_options(const std::vector<std::string>& args,
                             const std::map<std::string, Opt>& table) {
  Parsed p;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (name.empty() || name[0] != '-') {
      p.words.push_back(name);
      continue;
    }
    bool inline_value = false;
    if (size_t eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    auto it = table.find(name);
    if (it == table.end()) return Error{"unknown argument '" + args[i] + "'"};
    if (!inline_value) {
      if (i + 1 == args.size()) return Error{name + " needs a value"};
      value = args[++i];
    }
    if (p.given.count(it->second)) return Error{name + " given twice"};
    p.given[it->second] = value;
  }
  return p;
}

OptionList route_options(const std::map<Opt, std::string>& given) {
  OptionList out;
  for (const auto& [opt, key] : kRouteOptions)
    if (auto it = given.find(opt); it != given.end()) out.emplace_back(key, it->second);
  return out;
}

Result<AddRequest> parse_add(const std::vector<std::string>& args) {
  auto parsed = parse_options(args, add_options());
  if (!parsed) return parsed.failure();
  if (!parsed->words.empty()) return Error{"unknown argument '" + parsed->words[0] + "'"};
  std::map<Opt, std::string>& given = parsed->given;
  auto get = [&](Opt o) { return given.count(o) ? given[o] : std::string(); };
  // SPEC §11: both select by envelope sender; two would be a contradiction.
  if (given.count(Opt::User) && given.count(Opt::From))
    return Error{"-u and -f both select the envelope sender: give one of them"};
  AddRequest req;
  req.destination = get(Opt::Dest);
  req.sender = given.count(Opt::User) ? get(Opt::User) : get(Opt::From);
  if (given.count(Opt::Dest) && req.destination.empty()) return Error{"-d needs a destination"};
  if (given.count(Opt::User) + given.count(Opt::From) && req.sender.empty())
    return Error{"-u/-f needs a sender"};
  // Neither: the default rule "*;*" (SPEC §11), as -d '*' without the quotes.
  req.remote_host = get(Opt::Host);
  if (req.remote_host.empty()) return Error{"-rh REMOTE_HOST is required"};
  if (given.count(Opt::Port)) {
    auto port = parse_port(get(Opt::Port));
    if (!port) return Error{"bad port '" + get(Opt::Port) + "'"};
    req.port = *port;
  }
  if (given.count(Opt::Priority)) {
    auto p = parse_positive(get(Opt::Priority));
    if (!p || *p == 0) return Error{"bad priority '" + get(Opt::Priority) + "' (1, 2, ...)"};
    req.priority = *p;
  }
  req.local_ips = get(Opt::Local);
  req.login = get(Opt::Login);
  req.password = get(Opt::Pass);
  req.options = route_options(given);
  return req;
}

Output apply(const std::string& dir, const RouteFiles& files, const Result<Edit>& edit,
             const FileWriter& write) {
  if (!edit) return failure(edit.error());
  if (auto st = save(dir, files, *edit, write); !st) return failure(st.error());
  Output o{0, edit->summary + "\n", ""};
  // Issue 14: a routes file qmailr cannot read defers every delivery, and
  // one every user can read gives the passwords away. Say so now, not at
  // the next check. No qmailr here: only the latter.
  if (edit->files.routes.render() != files.routes.render()) {
    std::optional<Account> account = find_account(kQmailRemoteUser);
    for (const std::string& p :
         check_file_permissions(dir, "routes", account ? &*account : nullptr))
      o.err += "qmail-routes: warning: " + p + "\n";
  }
  return o;
}

Output add(const std::vector<std::string>& args, const std::string& dir, const FileWriter& write) {
  auto req = parse_add(args);
  if (!req) return usage_error("add", req.error());
  auto files = read_route_files(dir);
  if (!files) return failure(files.error());
  return apply(dir, *files, add_route(*files, *req), write);
}

Output set(const std::vector<std::string>& args, const std::string& dir, const FileWriter& write) {
  auto parsed = parse_options(args, set_options_table());
  if (!parsed) return usage_error("set", parsed.error());
  if (parsed->words.size() != 1) return usage_error("set", "needs one ID");
  auto id = parse_positive(parsed->words[0]);
  if (!id) return usage_error("set", "bad ID '" + parsed->words[0] + "'");
  OptionList changes = route_options(parsed->given);
  if (changes.empty())
    return usage_error("set", "nothing to set: give --tls, --helo or --auth-cleartext");
  auto files = read_route_files(dir);
  if (!files) return failure(files.error());
  return apply(dir, *files, set_options(*files, *id, changes), write);
}

Output del(const std::vector<std::string>& args, const std::string& dir, const FileWriter& write) {
  if (args.size() != 1) return usage_error("del", "needs one ID");
  auto id = parse_positive(args[0]);
  if (!id) return usage_error("del", "bad ID '" + args[0] + "'");
  auto files = read_route_files(dir);
  if (!files) return failure(files.error());
  return apply(dir, *files, del_entry(*files, *id), write);
}

}  // namespace

Output run_command(const std::vector<std::string>& args, const std::string& dir,
                   const FileWriter& write) {
  if (args.empty()) return usage_error("", "no command");
  const std::string& cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "--help" || cmd == "-h" || cmd == "help")
    return Output{0, std::string(help_text(rest.empty() ? "" : rest[0])), ""};
  if (help_text(cmd).empty()) return usage_error("", "unknown command '" + cmd + "'");
  if (wants_help(rest)) return Output{0, std::string(help_text(cmd)), ""};
  if (cmd == "check") return check(rest, dir);
  if (cmd == "list") return rest.empty() ? list(dir) : usage_error(cmd, "takes no argument");
  if (cmd == "explain") return explain_cmd(rest, dir);
  if (cmd == "add") return add(rest, dir, write);
  if (cmd == "set") return set(rest, dir, write);
  // SPEC §12: the dead hosts, in $QMAIL_ROOT/queue/lock beside control/.
  if (cmd == "tcpto")
    return rest.empty() ? tcpto_list(tcpto::lock_dir_for(dir), uint64_t(std::time(nullptr)))
                        : usage_error(cmd, "takes no argument");
  if (cmd == "tcpok") return tcpto_ok(rest, tcpto::lock_dir_for(dir));
  if (cmd == "sts") return sts_command(rest, dir);
  return del(rest, dir, write);
}

}  // namespace qr
