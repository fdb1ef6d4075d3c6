# Unbound on loopback for the integration tests. Source it from bash:
#
#   . tests/integration/unbound.sh
#   unbound_start 127.0.0.53 5353 zone.conf   # returns once it answers
#   ...
#   unbound_stop                              # also safe to call from a trap
#
# DATAFILE holds Unbound configuration lines appended to the `server:` clause:
# `local-zone: "example." static` and `local-data: "..."` lines make the test
# zones authoritative data, so nothing is ever asked of the Internet. Lines
# after a `stub-zone:` or `forward-zone:` clause belong to that clause, so put
# such clauses last. Unbound is started here, in the foreground of a
# background job, with a private config, pidfile and log under a temp dir
# ($UNBOUND_DIR); it is never a system service. Only 127.0.0.x addresses.

UNBOUND_PID=
UNBOUND_DIR=

# Succeeds once something accepts TCP on IP PORT (Unbound opens its UDP and
# TCP sockets together, before it serves either).
# shellcheck source=tests/integration/poll.sh
source "$(dirname "${BASH_SOURCE[0]}")/poll.sh"

_unbound_listening() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

unbound_start() {
  local ip=$1 port=$2 data=$3
  case $ip in
    127.0.0.*) ;;
    *) echo "unbound_start: $ip is not a 127.0.0.x address" >&2; return 1 ;;
  esac
  [ -r "$data" ] || { echo "unbound_start: cannot read $data" >&2; return 1; }
  if _unbound_listening "$ip" "$port"; then
    echo "unbound_start: $ip port $port is already in use" >&2
    return 1
  fi
  UNBOUND_DIR=$(mktemp -d "${TMPDIR:-/tmp}/qr-unbound.XXXXXX") || return 1
  {
    cat <<CONF
server:
  interface: $ip@$port
  port: $port
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$UNBOUND_DIR"
  pidfile: "$UNBOUND_DIR/unbound.pid"
  logfile: "$UNBOUND_DIR/unbound.log"
  use-syslog: no
  verbosity: 1
  num-threads: 1
  so-reuseport: no
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  # Test stub zones point at dead 127.0.0.x addresses on purpose.
  do-not-query-localhost: no
  # Give up fast on a dead stub.
  outbound-msg-retry: 1
  # Keep the answers as written in DATAFILE.
  rrset-roundrobin: no
  minimal-responses: yes
CONF
    cat "$data"
    printf '\nremote-control:\n  control-enable: no\n'
  } >"$UNBOUND_DIR/unbound.conf"
  if ! unbound-checkconf "$UNBOUND_DIR/unbound.conf" >"$UNBOUND_DIR/checkconf.log" 2>&1; then
    echo "unbound_start: bad config:" >&2
    cat "$UNBOUND_DIR/checkconf.log" >&2
    unbound_stop
    return 1
  fi
  unbound -d -c "$UNBOUND_DIR/unbound.conf" >>"$UNBOUND_DIR/unbound.log" 2>&1 &
  UNBOUND_PID=$!
  # Until it answers, or has exited.
  wait_until 10 _unbound_up "$ip" "$port"
  if _unbound_listening "$ip" "$port"; then return 0; fi
  if ! kill -0 "$UNBOUND_PID" 2>/dev/null; then
    echo "unbound_start: unbound exited; its log:" >&2
    cat "$UNBOUND_DIR/unbound.log" >&2
    UNBOUND_PID=
    unbound_stop
    return 1
  fi
  echo "unbound_start: no answer on $ip port $port after 10 s" >&2
  unbound_stop
  return 1
}

_unbound_up() {
  _unbound_listening "$1" "$2" || ! kill -0 "$UNBOUND_PID" 2>/dev/null
}

unbound_stop() {
  if [ -n "$UNBOUND_PID" ]; then
    kill "$UNBOUND_PID" 2>/dev/null
    wait "$UNBOUND_PID" 2>/dev/null
    UNBOUND_PID=
  fi
  if [ -n "$UNBOUND_DIR" ] && [ -d "$UNBOUND_DIR" ]; then
    rm -rf "$UNBOUND_DIR"
  fi
  UNBOUND_DIR=
}
