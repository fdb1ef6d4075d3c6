// The administrator's view of control/routes + control/routemap (SPEC §11):
// one numbered entry per remote host of each routemap line's route, as the
// seed's `tmail routes list` shows them.
//
// The mapping, documented in man/qmail-routes.8:
// - a routemap line SENDER;RECIPIENT;ROUTE is a selector; its route's
//   REMOTE_ADDRS lists the selector's entries;
// - an entry's priority is the position of its failover group ('&'), 1 first:
//   the file keeps the order of priorities, not the numbers typed;
// - a route with an empty REMOTE_ADDRS (the destination's MX) is one entry
//   whose remote host is "mx".
// smtproutes is not listed: it has no selectors by sender and add/del do not
// edit it.
#pragma once

#include <string>
#include <vector>

#include "lib/admin/text_file.h"
#include "lib/result.h"

namespace qr {

// The two files add and del edit, as text.
struct RouteFiles {
  TextFile routes, routemap;
};

// REMOTE_ADDRS as written: failover groups of round-robin member texts.
using RemoteText = std::vector<std::vector<std::string>>;
RemoteText split_remote(std::string_view field);
std::string join_remote(const RemoteText& groups);

struct RouteLine {
  size_t index = 0;  // into RouteFiles::routes.lines
  std::vector<std::string> fields;
};

struct MapLine {
  size_t index = 0;  // into RouteFiles::routemap.lines
  std::string sender, recipient, route;
};

struct Entry {
  MapLine map;
  RouteLine route;
  int priority = 1;    // 1-based failover group
  size_t member = 0;   // index inside the group
  std::string remote;  // member text; "mx" for an empty REMOTE_ADDRS
};

// Both files must parse (parse_routes, parse_routemap): the errors are theirs.
Status validate(const RouteFiles& files);

std::vector<RouteLine> route_lines(const TextFile& routes);
std::vector<MapLine> map_lines(const TextFile& routemap);

// Entries in routemap order, then group, then member. Error when the files do
// not parse.
Result<std::vector<Entry>> list_entries(const RouteFiles& files);

// "1 - Destination host: tmail.io - Priority: 1 - Local IPs: default - Remote
// host: mail.tmail.io:25" (the seed's line), with "Sender: ..." first when the
// selector names one, "Remote login: ..." when the route has AUTH and
// "Options: tls=verify,..." when it has options, then "Route: NAME".
std::string format_entry(size_t id, const Entry& entry);

}  // namespace qr
