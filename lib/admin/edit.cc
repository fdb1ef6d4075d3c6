// add and del (SPEC §11). Choices made here, documented in man/qmail-routes.8:
// - All hosts of one selector share one route, hence one LOCAL_IPS and one
//   USER/PASS: an add whose -l or -rl/-rpwd differ from the route's is refused
//   rather than changing the hosts already there.
// - A route used by several routemap lines is shared: add refuses to grow it
//   and del only removes its last host's routemap line, so no other selector
//   changes behind the administrator's back.
// - Priorities are kept as the order of failover groups: -p N joins the Nth
//   group as `list` numbers them, or starts a new last group when N is beyond.
// - Options (--tls, --helo, --auth-cleartext) belong to the route too: add
//   writes them into a new route, and for an existing one they must already
//   be there with the same value (set changes them for the whole route).
#include "lib/admin/edit.h"

#include <algorithm>
#include <set>

#include "lib/control/routemap.h"
#include "lib/control/routes.h"
#include "lib/text.h"

namespace qr {

namespace {

std::string join_fields(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) out += (i ? ";" : "") + fields[i];
  return out;
}

std::string route_where(const RouteLine& r) {
  return "route " + r.fields[0] + " (control/routes line " + std::to_string(r.index + 1) + ")";
}

size_t uses_of(const RouteFiles& files, const std::string& name) {
  size_t n = 0;
  for (const MapLine& m : map_lines(files.routemap)) n += m.route == name;
  return n;
}

// OPTIONS items as written: "key=value" texts.
std::vector<std::string> option_items(const std::string& field) {
  std::vector<std::string> items;
  if (field.empty()) return items;
  for (std::string_view item : split(field, ',')) items.emplace_back(item);
  return items;
}

std::string key_of(const std::string& item) {
  return item.substr(0, item.find('='));
}

// The route's OPTIONS field; "" when it has none.
const std::string& options_of(const std::vector<std::string>& fields) {
  static const std::string none;
  return fields.size() > 5 ? fields[5] : none;
}

void put_options(std::vector<std::string>& fields, const std::string& options) {
  fields.resize(options.empty() ? 5 : 6);
  if (!options.empty()) fields[5] = options;
}

// The REMOTE_ADDRS item for -rh/-rp.
Result<std::string> member_for(const AddRequest& req) {
  std::string host = req.remote_host;
  if (host.empty()) return Error{"-rh REMOTE_HOST is required"};
  bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  std::string inner = bracketed ? host.substr(1, host.size() - 2) : host;
  auto ip = IpAddr::parse(inner);
  std::string member = ip && ip->is_v6() ? "[" + inner + "]" : inner;
  if (iequals(inner, "mx")) {
    if (req.port) return Error{"-rp cannot be used with -rh mx: the MX hosts listen on port 25"};
    member = "mx";
  } else if (req.port && *req.port != 25) {
    member += ":" + std::to_string(*req.port);
  }
  auto parsed = parse_remote_addrs(member);
  if (!parsed) return Error{"bad remote host '" + host + "': " + parsed.error()};
  if (parsed->size() != 1 || parsed->front().size() != 1)
    return Error{"bad remote host '" + host + "': one host per add"};
  return member;
}

Status check_request(const AddRequest& req, const std::string& sender,
                     const std::string& recipient) {
  Route dummy;
  dummy.name = "x";
  auto sel = parse_routemap({ControlLine{1, sender + ";" + recipient + ";x"}}, {dummy});
  if (!sel) return Error{"bad selector: " + sel.failure().text};
  if (!req.local_ips.empty()) {
    if (auto ips = parse_local_ips(req.local_ips); !ips)
      return Error{"bad local IPs '" + req.local_ips + "': " + ips.error()};
  }
  if (req.login.empty() != req.password.empty())
    return Error{"-rl REMOTE_LOGIN and -rpwd REMOTE_PASSWD go together"};
  for (const std::string* s : {&req.login, &req.password}) {
    if (s->find_first_of(";\r\n") != std::string::npos)
      return Error{"the remote login and password cannot contain ';' or a line break"};
    if (!s->empty() && (s->back() == ' ' || s->back() == '\t'))
      return Error{"the remote login and password cannot end in white space (SPEC §3 strips it)"};
  }
  if (req.priority == 0) return Error{"the priority is a number from 1"};
  for (const auto& [key, value] : req.options)
    if (auto st = check_option(key, value); !st) return st;
  return success();
}

// All hosts of a selector share LOCAL_IPS and USER/PASS (see the top comment).
Status check_conflicts(const RouteLine& r, const AddRequest& req) {
  auto have = parse_local_ips(r.fields[1]);
  auto want = parse_local_ips(req.local_ips);
  if (!have || !want || *have != *want) {
    auto show = [](const std::string& s) { return s.empty() ? std::string("default") : s; };
    return Error{route_where(r) + " uses local IPs " + show(r.fields[1]) + "; this add asks for " +
                 show(req.local_ips) + ". The hosts of one selector share their local IPs: " +
                 (r.fields[1].empty() ? "leave out -l" : "give -l '" + r.fields[1] + "'") +
                 ", or del the selector's entries first"};
  }
  if (r.fields[3] != req.login || r.fields[4] != req.password) {
    std::string have_auth = r.fields[3].empty() ? "no SMTP AUTH" : "SMTP AUTH as " + r.fields[3];
    return Error{route_where(r) + " has " + have_auth +
                 "; this add asks for other credentials. The hosts of one selector share "
                 "them: give the same -rl/-rpwd, or del the selector's entries first"};
  }
  std::vector<std::string> have_items = option_items(options_of(r.fields));
  for (const auto& [key, value] : req.options) {
    std::string want = key + "=" + value;
    if (std::find(have_items.begin(), have_items.end(), want) != have_items.end()) continue;
    std::string have = "no " + key + "=";
    for (const std::string& item : have_items)
      if (key_of(item) == key) have = item;
    return Error{route_where(r) + " has " + have + "; this add asks for " + want +
                 ". The hosts of one selector share their options: leave out --" + key +
                 " here, or change the route with qmail-routes set ID --" + key + " " + value};
  }
  return success();
}

bool has_mx(const std::vector<std::string>& group) {
  return std::any_of(group.begin(), group.end(),
                     [](const std::string& m) { return iequals(m, "mx"); });
}

Status add_to_route(RouteFiles& files, const RouteLine& r, const AddRequest& req,
                    const std::string& member, std::string& summary) {
  if (auto st = check_conflicts(r, req); !st) return st;
  RemoteText groups = split_remote(r.fields[2]);
  if (groups.empty()) groups = {{"mx"}};  // the route went to the MX: keep that first
  size_t p = req.priority;
  if (p <= groups.size()) {
    // SPEC §3.1: `mx` expands to several hosts; it cannot be shuffled with others.
    if (iequals(member, "mx") || has_mx(groups[p - 1]))
      return Error{"'mx' cannot share a round-robin group with other hosts: give another -p"};
    groups[p - 1].push_back(member);
  } else {
    p = groups.size() + 1;
    groups.push_back({member});
  }
  std::vector<std::string> fields = r.fields;
  fields[2] = join_remote(groups);
  files.routes.lines[r.index] = join_fields(fields);
  summary = "added " + member + " to route " + r.fields[0] + " with priority " + std::to_string(p);
  return success();
}

std::string unique_name(const RouteFiles& files, const std::string& base) {
  std::set<std::string> names;
  for (const RouteLine& r : route_lines(files.routes)) names.insert(r.fields[0]);
  std::string name = base;
  for (int n = 2; names.count(name); ++n) name = base + "-" + std::to_string(n);
  return name;
}

void new_route(RouteFiles& files, const std::string& sender, const std::string& recipient,
               const AddRequest& req, const std::string& member, std::string& summary) {
  std::string name = unique_name(files, route_name_for(sender, recipient));
  std::vector<std::string> fields = {name, req.local_ips, member, req.login, req.password};
  put_options(fields, edit_options("", req.options));
  files.routes.lines.push_back(join_fields(fields));
  // Before the first line of a less specific kind, so this one is tried first.
  int rank = selector_rank(sender, recipient);
  size_t at = files.routemap.lines.size();
  for (const MapLine& m : map_lines(files.routemap)) {
    if (selector_rank(m.sender, m.recipient) > rank) {
      at = m.index;
      break;
    }
  }
  std::string map_line = sender + ";" + recipient + ";" + name;
  files.routemap.lines.insert(files.routemap.lines.begin() + std::ptrdiff_t(at), map_line);
  summary = "new route " + name + " (" + member + "); routemap line " + std::to_string(at + 1) +
            ": " + map_line;
}

Status must_parse(const RouteFiles& files, const char* when) {
  if (auto st = validate(files); !st) return Error{std::string(when) + st.error()};
  return success();
}

}  // namespace

Status check_option(const std::string& key, const std::string& value) {
  if (value.find_first_of(",;") != std::string::npos)
    return Error{"bad value '" + value + "' for option '" + key + "': no ',' or ';'"};
  auto parsed = parse_routes({ControlLine{1, "x;;;;;" + key + "=" + value}});
  if (!parsed) return Error{parsed.failure().text};
  return success();
}

std::string edit_options(const std::string& field, const OptionList& changes) {
  std::vector<std::string> items = option_items(field);
  for (const auto& change : changes) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one.
    const std::string& key = change.first;
    const std::string& value = change.second;
    auto it = std::find_if(items.begin(), items.end(),
                           [&](const std::string& item) { return key_of(item) == key; });
    if (value == "default") {
      if (it != items.end()) items.erase(it);
    } else if (it != items.end()) {
      *it = key + "=" + value;
    } else {
      items.push_back(key + "=" + value);
    }
  }
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out;
}

std::string route_name_for(const std::string& sender, const std::string& recipient) {
  auto piece = [](const std::string& p) {
    if (p == "<>") return std::string("null");
    std::string out;
    for (char c : p) {
      if (c == '@')
        out += "_at_";
      else
        out += is_host_char(c) ? c : '-';
    }
    return out;
  };
  if (sender == "*" && recipient == "*") return "default";
  if (sender == "*") return "to_" + piece(recipient);
  if (recipient == "*") return "from_" + piece(sender);
  return "from_" + piece(sender) + "_to_" + piece(recipient);
}

int selector_rank(const std::string& sender, const std::string& recipient) {
  bool any_sender = sender == "*", any_recipient = recipient == "*";
  bool address = sender == "<>" || sender.find('@') != std::string::npos;
  if (!any_sender) return (any_recipient ? 2 : 0) + (address ? 0 : 1);
  return any_recipient ? 5 : 4;
}

Result<Edit> add_route(const RouteFiles& files, const AddRequest& req) {
  if (auto st = must_parse(files, "fix the control files first (qmail-routes check): "); !st)
    return st.failure();
  std::string sender = req.sender.empty() ? "*" : to_lower(req.sender);
  std::string recipient = req.destination.empty() ? "*" : to_lower(req.destination);
  if (auto st = check_request(req, sender, recipient); !st) return st.failure();
  auto member = member_for(req);
  if (!member) return member.failure();

  Edit edit{files, true, ""};
  const MapLine* found = nullptr;
  std::vector<MapLine> maps = map_lines(files.routemap);
  for (const MapLine& m : maps) {
    if (iequals(m.sender, sender) && iequals(m.recipient, recipient)) {
      found = &m;
      break;
    }
  }
  if (!found) {
    new_route(edit.files, sender, recipient, req, *member, edit.summary);
  } else {
    if (uses_of(files, found->route) > 1)
      return Error{"route " + found->route +
                   " is used by several routemap lines; adding a host would change them all: "
                   "edit control/routes by hand"};
    for (const RouteLine& r : route_lines(files.routes)) {
      if (r.fields[0] != found->route) continue;
      if (auto st = add_to_route(edit.files, r, req, *member, edit.summary); !st)
        return st.failure();
    }
  }
  if (auto st = must_parse(edit.files, "refusing to write: "); !st) return st.failure();
  return edit;
}

// The listed entries, when `id` (as qmail-routes list numbers them) is one.
static Result<std::vector<Entry>> entries_with(const RouteFiles& files, size_t id) {
  auto entries = list_entries(files);
  if (!entries)
    return Error{"fix the control files first (qmail-routes check): " + entries.error()};
  if (id == 0 || id > entries->size())
    return Error{"no entry " + std::to_string(id) + " (qmail-routes list numbers them 1 to " +
                 std::to_string(entries->size()) + ")"};
  return entries;
}

Result<Edit> del_entry(const RouteFiles& files, size_t id) {
  auto entries = entries_with(files, id);
  if (!entries) return entries.failure();
  const Entry& e = (*entries)[id - 1];
  const std::string& name = e.route.fields[0];
  RemoteText groups = split_remote(e.route.fields[2]);
  size_t hosts = 0;
  for (const auto& g : groups) hosts += g.size();
  bool last = hosts <= 1;  // an empty REMOTE_ADDRS is one entry, "mx"
  bool shared = uses_of(files, name) > 1;

  Edit edit{files, false, ""};
  auto drop_map_line = [&] {
    edit.files.routemap.lines.erase(edit.files.routemap.lines.begin() +
                                    std::ptrdiff_t(e.map.index));
    edit.summary = "removed routemap line " + std::to_string(e.map.index + 1) + " (" +
                   e.map.sender + ";" + e.map.recipient + ";" + name + ")";
  };
  if (shared && !last)
    return Error{"route " + name +
                 " is used by several routemap lines; deleting one of its hosts would change "
                 "them all: edit control/routes by hand"};
  if (last) {
    drop_map_line();
    if (!shared) {
      edit.files.routes.lines.erase(edit.files.routes.lines.begin() +
                                    std::ptrdiff_t(e.route.index));
      edit.summary += " and route " + name;
    }
  } else {
    auto& group = groups[size_t(e.priority - 1)];
    group.erase(group.begin() + std::ptrdiff_t(e.member));
    if (group.empty()) groups.erase(groups.begin() + (e.priority - 1));
    std::vector<std::string> fields = e.route.fields;
    fields[2] = join_remote(groups);
    edit.files.routes.lines[e.route.index] = join_fields(fields);
    edit.summary = "removed " + e.remote + " from route " + name;
  }
  if (auto st = must_parse(edit.files, "refusing to write: "); !st) return st.failure();
  return edit;
}

Result<Edit> set_options(const RouteFiles& files, size_t id, const OptionList& changes) {
  auto entries = entries_with(files, id);
  if (!entries) return entries.failure();
  for (const auto& [key, value] : changes)
    if (value != "default")
      if (auto st = check_option(key, value); !st) return st.failure();
  const RouteLine& r = (*entries)[id - 1].route;
  const std::string& name = r.fields[0];
  if (uses_of(files, name) > 1)
    return Error{"route " + name +
                 " is used by several routemap lines; changing its options would change them "
                 "all: edit control/routes by hand"};
  std::string before = options_of(r.fields);
  std::string after = edit_options(before, changes);
  std::vector<std::string> fields = r.fields;
  put_options(fields, after);
  Edit edit{files, true, ""};
  edit.files.routes.lines[r.index] = join_fields(fields);
  std::string ids;
  for (size_t i = 0; i < entries->size(); ++i)
    if ((*entries)[i].route.index == r.index)
      ids += (ids.empty() ? "" : ", ") + std::to_string(i + 1);
  auto show = [](const std::string& o) { return o.empty() ? std::string("none") : o; };
  bool one = ids.find(',') == std::string::npos;
  edit.summary = "route " + name + (one ? " (entry " : " (entries ") + ids + "): options " +
                 show(after) + (after == before ? " (unchanged)" : " (were " + show(before) + ")");
  if (auto st = must_parse(edit.files, "refusing to write: "); !st) return st.failure();
  return edit;
}

Status save(const std::string& dir, const RouteFiles& before, const Edit& edit,
            const FileWriter& write) {
  struct Step {
    const char* name;
    const TextFile* old;
    const TextFile* now;
  };
  Step routes{"routes", &before.routes, &edit.files.routes};
  Step routemap{"routemap", &before.routemap, &edit.files.routemap};
  std::string done;
  for (const Step& s :
       edit.routes_first ? std::vector{routes, routemap} : std::vector{routemap, routes}) {
    std::string text = s.now->render();
    if (text == s.old->render() && (s.old->exists || text.empty())) continue;
    if (auto st = write(dir, s.name, text); !st) {
      if (done.empty()) return Error{st.error() + "; nothing was changed"};
      return Error{st.error() + "; control/" + done +
                   " was already replaced: the files are consistent but the edit is half done "
                   "(see qmail-routes list)"};
    }
    done = s.name;
  }
  return success();
}

}  // namespace qr
