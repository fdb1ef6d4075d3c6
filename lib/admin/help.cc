#include "lib/admin/help.h"

namespace qr {

namespace {

constexpr std::string_view kTool =
    "usage: qmail-routes COMMAND [ARGS]\n"
    "\n"
    "Reads and edits the control files of qmail-remote in $QMAIL_ROOT/control.\n"
    "\n"
    "commands:\n"
    "  check [--as USER]                     report every problem in the control files\n"
    "  explain [--no-dns] HOST SENDER RECIP  show the rule, route and attempts for a delivery\n"
    "  list                                  list the routes of control/routemap, numbered\n"
    "  add [-d DEST] -rh HOST [options]      add a remote host to a destination's route\n"
    "  set ID --tls|--helo|--auth-cleartext VALUE  change the options of entry ID's route\n"
    "  del ID                                delete entry ID of `list`\n"
    "  tcpto                                 list the dead hosts qmail-remote remembers\n"
    "  tcpok [IP]                            forget them all, or one address\n"
    "  sts [--refresh] DOMAIN                show (or fetch) DOMAIN's cached MTA-STS policy\n"
    "\n"
    "`qmail-routes COMMAND --help` describes one command. See qmail-routes(8).\n";

constexpr std::string_view kCheck =
    "usage: qmail-routes check [--as USER]\n"
    "\n"
    "Reads every control file as qmail-remote does and prints each problem as\n"
    "control/FILE:LINE: what is wrong. Exit status 0 when clean, 1 otherwise.\n"
    "\n"
    "Also checks that USER, the user qmail-remote runs as (default qmailr), can\n"
    "read every control file and search every directory on the way, and that no\n"
    "file holding a password or key is readable by every user; each such\n"
    "problem ends with the chmod/chgrp command that fixes it.\n"
    "\n"
    "  --as USER   check for USER instead of qmailr\n";

constexpr std::string_view kExplain =
    "usage: qmail-routes explain [--no-dns] HOST SENDER RECIP\n"
    "\n"
    "Shows which rule applies (routemap:N, smtproutes:N or mx), the route, its\n"
    "TLS policy, whether SMTP AUTH is used, and the (remote, local IP) pairs\n"
    "qmail-remote would try, in order, one a line. Round-robin groups are\n"
    "shuffled as in a real delivery. Nothing is sent.\n"
    "\n"
    "  --no-dns   send no DNS query: MX items are shown as mx, host names\n"
    "             unresolved\n";

constexpr std::string_view kList =
    "usage: qmail-routes list\n"
    "\n"
    "One line per remote host of each control/routemap line's route, numbered\n"
    "for `del`:\n"
    "  1 - Destination host: tmail.io - Priority: 1 - Local IPs: default - Remote host: "
    "mail.tmail.io:25 - Route: to_tmail.io\n"
    "Priority is the failover group (1 is tried first). \"Remote login\" and\n"
    "\"Options\" (tls=, helo=, auth-cleartext=) are shown when the route has them.\n";

constexpr std::string_view kAdd =
    "usage: qmail-routes add [-d DEST] -rh HOST [-rp PORT] [-p PRIORITY] [-l LOCAL_IPS]\n"
    "                        [-u SENDER | -f MAIL_FROM] [-rl LOGIN -rpwd PASSWORD]\n"
    "                        [--tls POLICY] [--helo NAME|ptr] [--auth-cleartext yes|no]\n"
    "\n"
    "  -d,   --destination DEST    recipient domain (.domain: its subdomains,\n"
    "                              local@domain: one address, *: any); left\n"
    "                              out: any destination. Without -d, -u and -f\n"
    "                              the add is for the default rule *;* (all mail\n"
    "                              no other routemap line takes)\n"
    "  -rh,  --rh, --remoteHost HOST  relay: host name, IP address, or mx\n"
    "  -rp,  --rp, --remotePort PORT  relay port (default 25; 465: implicit TLS)\n"
    "  -p,   --priority N          failover group, lowest first (default 1);\n"
    "                              equal priorities share mail in round robin,\n"
    "                              a host added twice gets twice the share\n"
    "  -l,   --localIp IPS         local IPs: a|b round robin, a&b failover\n"
    "                              (default: control/defaultoutgoingip)\n"
    "  -u,   --smtpUser SENDER     only for this envelope sender (address or domain)\n"
    "  -f,   --mailFrom SENDER     the same as -u; give one of them\n"
    "  -rl,  --rl, --remoteLogin LOGIN      SMTP AUTH login at the relay\n"
    "  -rpwd, --rpwd, --remotePasswd PASS   SMTP AUTH password at the relay\n"
    "  --tls none|may|encrypt|verify|dane\n"
    "                              TLS policy of the route (default may; with\n"
    "                              -rl/-rpwd verify, or encrypt for an IP address;\n"
    "                              dane to MX hosts when control/dnssec-anchors exists)\n"
    "  --helo NAME|ptr             EHLO name (default control/helohost); ptr: the\n"
    "                              PTR name of the local IP in use\n"
    "  --auth-cleartext yes|no     allow PLAIN/LOGIN without TLS (default no)\n"
    "\n"
    "All adds for one sender and destination build one route in control/routes;\n"
    "they must agree on -l, -rl/-rpwd and the options (`set` changes those).\n";

constexpr std::string_view kSet =
    "usage: qmail-routes set ID [--tls POLICY] [--helo NAME|ptr] [--auth-cleartext yes|no]\n"
    "\n"
    "Changes the options of the route of entry ID of `qmail-routes list`, for\n"
    "all of that route's entries. The value default removes an option (the\n"
    "route then takes qmail-remote's default).\n"
    "\n"
    "  --tls none|may|encrypt|verify|dane|default\n"
    "  --helo NAME|ptr|default\n"
    "  --auth-cleartext yes|no|default\n";

constexpr std::string_view kDel =
    "usage: qmail-routes del ID\n"
    "\n"
    "Deletes entry ID of `qmail-routes list`: that host from its route, and the\n"
    "route and its routemap line when it was the route's last host.\n";

constexpr std::string_view kTcpto =
    "usage: qmail-routes tcpto\n"
    "\n"
    "Lists the remote addresses, and (remote, local IP) pairs, whose connect\n"
    "timed out: queue/lock/tcpto, qmail's own file (qmail-tcpto\n"
    "lists it too: IPv4 addresses), and queue/lock/tcpto-pairs (IPv6 addresses,\n"
    "and pairs that timed out while the remote answered another local IP).\n"
    "One line each: remote, local IP (any: whichever), the count of recent\n"
    "timeouts, when the last was counted, and what a delivery does now:\n"
    "  skipped      count 2 or more, within the window: not tried, listed in\n"
    "               the report as \"skipped: no connection within timeoutconnect\"\n"
    "  tried last   count 1, within the window: tried after every other pair\n"
    "  tried        the window has passed\n"
    "The window is (60 + pid mod 32) * 64 s, 64 to 97 minutes, different for\n"
    "each qmail-remote process (as qmail's): between the two, \"by some processes\".\n";

constexpr std::string_view kTcpok =
    "usage: qmail-routes tcpok [IP]\n"
    "\n"
    "Without IP: forgets every dead host, as qmail-tcpok does, in both\n"
    "queue/lock/tcpto and queue/lock/tcpto-pairs, and makes tcpto-pairs (owned\n"
    "as tcpto is) when it is missing: run it once after installing.\n"
    "With IP: forgets the records of that address only (as the remote, or in\n"
    "tcpto-pairs as our local IP).\n";

constexpr std::string_view kSts =
    "usage: qmail-routes sts [--refresh] DOMAIN\n"
    "\n"
    "Shows the MTA-STS policy (RFC 8461) qmail-remote has cached for DOMAIN in\n"
    "queue/sts/DOMAIN: its id, when it was fetched and until when it is used,\n"
    "its mode and mx: patterns, and the id DOMAIN's _mta-sts TXT record has now.\n"
    "A delivery under tls=dane fetches a policy that is missing, expired, or\n"
    "whose id changed; --refresh fetches it now (https://mta-sts.DOMAIN/\n"
    "/.well-known/mta-sts.txt) and stores it, whatever the cache holds.\n"
    "Exit status 0 when a policy is shown, 1 otherwise.\n";

}  // namespace

std::string_view help_text(std::string_view command) {
  if (command.empty()) return kTool;
  if (command == "check") return kCheck;
  if (command == "explain") return kExplain;
  if (command == "list") return kList;
  if (command == "add") return kAdd;
  if (command == "set") return kSet;
  if (command == "del") return kDel;
  if (command == "tcpto") return kTcpto;
  if (command == "tcpok") return kTcpok;
  if (command == "sts") return kSts;
  return {};
}

}  // namespace qr
