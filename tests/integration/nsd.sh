# shellcheck shell=bash
# NSD on loopback for the DANE tests (SPEC §13): an authoritative server
# only (it never sets the AD bit), so qmail-remote has to validate DNSSEC by
# itself. Source it from bash:
#
#   . tests/integration/nsd.sh
#   nsd_start 127.0.0.53 DIR zone.a zone.b   # DIR holds ZONE.signed or ZONE files
#   ...
#   nsd_stop                                 # also safe to call from a trap
#
# One NSD serves every zone named, parent and child alike: it answers a
# name from the most specific zone it has, and a DS query at a child's apex
# from the parent (RFC 4035 §3.1.4.1), so that one server (DNSCACHEIP) is
# all a validator needs. It runs in the foreground of a background job (-d),
# as root with a private config, pidfile and log under DIR; it is stopped by
# its PID.

NSD_PID=

# shellcheck source=tests/integration/poll.sh
source "$(dirname "${BASH_SOURCE[0]}")/poll.sh"

_nsd_answers() {
  drill -Q -p "$2" @"$1" "$3" SOA >/dev/null 2>&1
}

# nsd_start IP DIR ZONE...: serves each ZONE from DIR/ZONE.signed when it
# exists, else DIR/ZONE. Returns once the first zone is answered.
nsd_start() {
  local ip=$1 dir=$2 zone file
  shift 2
  {
    cat <<CONF
server:
  ip-address: $ip
  port: 53
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$dir"
  zonelistfile: "$dir/zone.list"
  database: ""
  pidfile: "$dir/nsd.pid"
  logfile: "$dir/nsd.log"
  xfrdfile: "$dir/xfrd.state"
  xfrdir: "$dir"
  server-count: 1
  verbosity: 1
  hide-version: yes
remote-control:
  control-enable: no
CONF
    for zone in "$@"; do
      file=$zone
      [[ -e $dir/$zone.signed ]] && file=$zone.signed
      printf 'zone:\n  name: "%s"\n  zonefile: "%s"\n' "$zone" "$file"
    done
  } >"$dir/nsd.conf"
  nsd-checkconf "$dir/nsd.conf" || return 1
  nsd -c "$dir/nsd.conf" -d >>"$dir/nsd.out" 2>&1 &
  NSD_PID=$!
  if ! wait_until 10 _nsd_answers "$ip" 53 "$1"; then
    echo "nsd_start: no answer from $ip for $1" >&2
    cat "$dir/nsd.log" "$dir/nsd.out" >&2 2>/dev/null
    return 1
  fi
}

_nsd_gone() { ! kill -0 "$1" 2>/dev/null; }

nsd_stop() {
  [[ -n $NSD_PID ]] || return 0
  kill "$NSD_PID" 2>/dev/null
  wait_until 10 _nsd_gone "$NSD_PID" || kill -9 "$NSD_PID" 2>/dev/null
  NSD_PID=
}
