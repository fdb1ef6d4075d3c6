// `qmail-routes add` and `del` as pure functions from files to files
// (SPEC §11). Nothing here touches the disk: save() below does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/admin/entries.h"
#include "lib/admin/text_file.h"
#include "lib/result.h"

namespace qr {

// Route options (SPEC §3.1 OPTIONS) as key and value ("tls", "verify"), in
// the order given. For set_options the value "default" removes the key.
using OptionList = std::vector<std::pair<std::string, std::string>>;

// One option checked by parse_routes itself, so the tool accepts exactly
// what qmail-remote does; the error is the parser's, without its location.
Status check_option(const std::string& key, const std::string& value);

// OPTIONS text with `changes` applied: a key already there keeps its place
// and takes the new value ("default": the key goes), a new key is appended.
std::string edit_options(const std::string& field, const OptionList& changes);

struct AddRequest {
  std::string destination;  // RECIPIENT pattern; empty: any ("*")
  std::string sender;       // SENDER pattern (-u or -f); empty: any ("*")
  std::string remote_host;  // host name, IPv4, IPv6 (bare or bracketed), or "mx"
  std::optional<uint16_t> port;
  unsigned priority = 1;  // failover group, 1 first (SPEC §11)
  std::string local_ips;  // LOCAL_IPS syntax; empty: defaultoutgoingip
  std::string login, password;
  OptionList options;  // for a new route; an existing one must have them already
};

// Route names made by add (documented in man/qmail-routes.8):
//   *;*            default
//   *;DEST         to_DEST
//   SENDER;*       from_SENDER
//   SENDER;DEST    from_SENDER_to_DEST
// with '@' written "_at_", "<>" written "null" and any other character a
// route name cannot hold written '-'; "-2", "-3"... when the name is taken.
std::string route_name_for(const std::string& sender, const std::string& recipient);

// The order of SPEC §11 (seed 000): 0 sender address + named destination,
// 1 sender domain + named destination, 2 sender address + any, 3 sender
// domain + any, 4 any sender + named destination, 5 "*;*". "<>" counts as an
// address.
int selector_rank(const std::string& sender, const std::string& recipient);

struct Edit {
  RouteFiles files;
  // Which file to write first so that every intermediate state parses: a new
  // route must exist before routemap names it; a routemap line must go before
  // its route does.
  bool routes_first = true;
  std::string summary;  // what was done, for the user
};

// Errors: bad arguments, conflicts with the existing route for the selector,
// and files that do not parse before or after the edit.
Result<Edit> add_route(const RouteFiles& files, const AddRequest& request);
Result<Edit> del_entry(const RouteFiles& files, size_t id);
// Changes the options of the route of entry `id` (of list_entries), for all
// of that route's entries. Refused for a route several routemap lines share.
Result<Edit> set_options(const RouteFiles& files, size_t id, const OptionList& changes);

// Writes the files that changed, in the edit's order. On failure the error
// names the file and says which files, if any, were already replaced.
Status save(const std::string& dir, const RouteFiles& before, const Edit& edit,
            const FileWriter& write);

}  // namespace qr
