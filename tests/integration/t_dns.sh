#!/bin/bash
# The DNS layer (lib/dns, SPEC §2 DNSCACHEIP, §5) against a real Unbound on
# loopback, through tests/integration/dns_probe. Run from the repo root after
# `make build/libqr.a`:  bash tests/integration/t_dns.sh
# Prints "ok - NAME" / "not ok - NAME: WHY" per check, then "N passed, N failed";
# exits non-zero on any failure.
set -u
source "$(dirname "$0")/netns.sh" # a network namespace of its own, before the cd
cd "$(dirname "$0")/../.." || exit 2
. tests/integration/unbound.sh

IP=${DNS_TEST_IP:-127.0.0.53}
PORT=${DNS_TEST_PORT:-5353}
DEAD_PORT=${DNS_TEST_DEAD_PORT:-5354}  # nothing listens there
PROBE=build/dns_probe
passed=0
failed=0

WORK=$(mktemp -d "${TMPDIR:-/tmp}/qr-t_dns.XXXXXX") || exit 2
SILENT_PID=
cleanup() {
  [ -n "$SILENT_PID" ] && kill "$SILENT_PID" 2>/dev/null
  unbound_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1: $2"; failed=$((failed + 1)); }

# check NAME EXPECTED ACTUAL: exact text comparison.
check() {
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$2], got [$3]"; fi
}

# check_match NAME REGEX ACTUAL
check_match() {
  if [[ $3 =~ $2 ]]; then ok "$1"; else not_ok "$1" "[$3] does not match /$2/"; fi
}

# --- build the probe with the Makefile's flags --------------------------------
[ -f build/libqr.a ] || { echo "build/libqr.a missing: run make build/libqr.a" >&2; exit 2; }
if ! g++ -O2 -g -std=c++20 -Wall -Wextra -Werror -I. -o "$PROBE" tests/integration/dns_probe.cc \
  build/libqr.a -lldns -lssl -lcrypto -lfmt; then
  echo "cannot build $PROBE" >&2
  exit 2
fi

# --- the test zones -----------------------------------------------------------
# RFC 2606 names under a static local zone; REFUSED and SERVFAIL from zones
# under the made-up TLD "qrtest." (Unbound's built-in "test." zone would
# answer NXDOMAIN before any stub-zone is consulted).
data=$WORK/zones.conf
{
  echo '  local-zone: "example." static'
  # Preference order (written out of order on purpose) and A-then-AAAA.
  echo '  local-data: "pref.example. MX 30 mx30.pref.example."'
  echo '  local-data: "pref.example. MX 10 mx10.pref.example."'
  echo '  local-data: "pref.example. MX 20 mx20.pref.example."'
  echo '  local-data: "mx10.pref.example. A 127.0.1.10"'
  echo '  local-data: "mx20.pref.example. AAAA 2001:db8::20"'
  echo '  local-data: "mx20.pref.example. A 127.0.1.20"'
  echo '  local-data: "mx30.pref.example. A 127.0.1.30"'
  # Two hosts of equal best preference, one worse.
  echo '  local-data: "eq.example. MX 10 a.eq.example."'
  echo '  local-data: "eq.example. MX 10 b.eq.example."'
  echo '  local-data: "eq.example. MX 20 c.eq.example."'
  echo '  local-data: "a.eq.example. A 127.0.2.1"'
  echo '  local-data: "b.eq.example. A 127.0.2.2"'
  echo '  local-data: "c.eq.example. A 127.0.2.3"'
  # No MX: the domain's own addresses (RFC 5321 §5.1).
  echo '  local-data: "implicit.example. A 127.0.3.1"'
  echo '  local-data: "implicit.example. AAAA 2001:db8::3:1"'
  # No MX and no address.
  echo '  local-data: "bare.example. TXT \"no mail here\""'
  # Null MX (RFC 7505).
  echo '  local-data: "null.example. MX 0 ."'
  # MX hosts without addresses: one NXDOMAIN, one with only a TXT record.
  echo '  local-data: "noaddr.example. MX 10 gone.noaddr.example."'
  echo '  local-data: "noaddr.example. MX 15 txtonly.noaddr.example."'
  echo '  local-data: "noaddr.example. MX 20 mx.noaddr.example."'
  echo '  local-data: "txtonly.noaddr.example. TXT \"nothing\""'
  echo '  local-data: "mx.noaddr.example. A 127.0.4.1"'
  # An MX target behind a CNAME.
  echo '  local-data: "cname.example. MX 10 alias.cname.example."'
  echo '  local-data: "alias.cname.example. CNAME real.cname.example."'
  echo '  local-data: "real.cname.example. A 127.0.5.1"'
  # 40 MX records with long names. medium.example: the names share a
  # compressible suffix, about 900 bytes: over 512, under the 1232-byte EDNS0
  # size, so UDP with EDNS0. big.example: every name distinct, about 3 kB:
  # truncated over UDP, so it needs TCP.
  long=a-rather-long-label-to-make-the-answer-larger-than-udp
  for i in $(seq 1 40); do
    echo "  local-data: \"medium.example. MX $i mx$i.$long.medium.example.\""
    echo "  local-data: \"big.example. MX $i mx$i-$long.big.example.\""
  done
  echo '  local-data: "relay.example. A 127.0.6.1"'
  echo '  local-data: "relay.example. AAAA 2001:db8::6:1"'
  echo '  local-data-ptr: "192.0.2.7 ptr-name.example"'
  echo '  local-zone: "refused.qrtest." refuse'
  echo 'stub-zone:'
  echo '  name: "servfail.qrtest."'
  echo '  stub-addr: 127.0.0.254@53'
} >"$data"

if ! unbound_start "$IP" "$PORT" "$data"; then
  echo "not ok - unbound starts: see above"
  echo "0 passed, 1 failed"
  exit 1
fi
export DNSCACHEIP="$IP:$PORT"
probe() { "$PROBE" "$@" 2>&1; }

# --- checks -------------------------------------------------------------------
check "MX hosts in preference order, each A then AAAA" \
  "ok
10 mx10.pref.example 127.0.1.10
20 mx20.pref.example 127.0.1.20 2001:db8::20
30 mx30.pref.example 127.0.1.30" "$(probe mx pref.example)"

check "names compared case-insensitively, trailing dot accepted" \
  "$(probe mx pref.example)" "$(probe mx PREF.Example.)"

# 40 runs: the two preference-10 hosts always come before the preference-20
# one, and each comes first at least once (a fixed order fails with
# probability 2^-39).
a_first=0 b_first=0 bad=
for i in $(seq 1 40); do
  out=$(probe mx eq.example)
  case $out in
    $'ok\n10 a.eq.example 127.0.2.1\n10 b.eq.example 127.0.2.2\n20 c.eq.example 127.0.2.3')
      a_first=$((a_first + 1)) ;;
    $'ok\n10 b.eq.example 127.0.2.2\n10 a.eq.example 127.0.2.1\n20 c.eq.example 127.0.2.3')
      b_first=$((b_first + 1)) ;;
    *) bad=$out ;;
  esac
done
if [ -n "$bad" ]; then
  not_ok "equal preferences first, shuffled" "unexpected answer [$bad]"
elif [ "$a_first" -eq 0 ] || [ "$b_first" -eq 0 ]; then
  not_ok "equal preferences first, shuffled" "a first $a_first times, b first $b_first times"
else
  ok "equal preferences first, shuffled ($a_first/$b_first)"
fi

check "no MX: implicit MX from the domain's A and AAAA" \
  "ok implicit
0 implicit.example 127.0.3.1 2001:db8::3:1" "$(probe mx implicit.example)"

check_match "no MX and no address: one host with no address" \
  $'^ok implicit\n0 bare\\.example - .+' "$(probe mx bare.example)"

check "null MX" "nullmx: null.example does not accept mail (null MX)" "$(probe mx null.example)"

check_match "NXDOMAIN" '^nxdomain: .*nosuch\.example' "$(probe mx nosuch.example)"

check_match "REFUSED is a temporary failure" '^tempfail: .*REFUSED' "$(probe mx x.refused.qrtest)"

check_match "SERVFAIL (stub zone to dead 127.0.0.254) is a temporary failure" \
  '^tempfail: .*SERVFAIL' "$(probe mx x.servfail.qrtest)"

check_match "MX hosts without addresses kept with empty addrs and why" \
  $'^ok\n10 gone\\.noaddr\\.example - [^\n]*gone\\.noaddr\\.example\n15 txtonly\\.noaddr\\.example - no address for txtonly\\.noaddr\\.example\n20 mx\\.noaddr\\.example 127\\.0\\.4\\.1$' \
  "$(probe mx noaddr.example)"

check "MX target behind a CNAME" "ok
10 alias.cname.example 127.0.5.1" "$(probe mx cname.example)"

long=a-rather-long-label-to-make-the-answer-larger-than-udp
# The MX hosts have no addresses: compare the names and preferences only.
want_medium=ok want_big=ok
for i in $(seq 1 40); do
  want_medium+=$'\n'"$i mx$i.$long.medium.example -"
  want_big+=$'\n'"$i mx$i-$long.big.example -"
done
check "answer over 512 bytes (40 MX, about 900 bytes, EDNS0 over UDP)" "$want_medium" \
  "$(probe mx medium.example | sed 's/ - .*/ -/')"
check "answer over 1232 bytes (40 MX, about 3 kB, TCP after truncation)" "$want_big" \
  "$(probe mx big.example | sed 's/ - .*/ -/')"

check "lookup_host: A then AAAA" "ok
0 relay.example 127.0.6.1 2001:db8::6:1" "$(probe host relay.example)"

check_match "lookup_host: NXDOMAIN" '^nxdomain: ' "$(probe host nosuch.example)"

check "lookup_ptr" "ok ptr-name.example" "$(probe ptr 192.0.2.7)"

check_match "DNSCACHEIP with spaces and commas, first server dead" '^ok implicit' \
  "$(DNSCACHEIP="$IP:$DEAD_PORT, $IP:$PORT" probe mx implicit.example)"

check_match "bad DNSCACHEIP is an error naming it" 'DNSCACHEIP.*nonsense' \
  "$(DNSCACHEIP="nonsense" probe mx pref.example)"

# --- servers that refuse or stay silent (SPEC §12, issue 12) -----------------
# Nothing listens on DEAD_PORT: the kernel answers with ICMP port
# unreachable, which a connected UDP socket reports at once. The old
# resolver (unconnected sockets) waited 5 s x 2 tries for it. Bounds are
# generous (the machine may be loaded); the times are printed.

# timed VAR CMD...: runs CMD, its output in VAR, its wall time in ms in MS.
timed() {
  local __var=$1 t0 t1
  shift
  t0=${EPOCHREALTIME/./}
  printf -v "$__var" '%s' "$("$@")"
  t1=${EPOCHREALTIME/./}
  MS=$(((t1 - t0) / 1000))
}

timed out env DNSCACHEIP="$IP:$DEAD_PORT,$IP:$PORT" "$PROBE" mx pref.example
check "refusing server first, Unbound second: the answer" "$(probe mx pref.example)" "$out"
if ((MS < 2000)); then ok "refusing server first, Unbound second: in $MS ms (< 2 s; was 10 s)"; else
  not_ok "refusing server first, Unbound second: under 2 s" "took $MS ms"
fi

timed out env DNSCACHEIP="$IP:$DEAD_PORT" "$PROBE" mx pref.example
check_match "only a refusing server: TempFail naming the refusal" \
  "^tempfail: .*$IP:$DEAD_PORT: connection refused" "$out"
if ((MS < 2000)); then ok "only a refusing server: TempFail in $MS ms (< 2 s; was 10 s)"; else
  not_ok "only a refusing server: TempFail under 2 s" "took $MS ms"
fi

# A server that reads nothing and answers nothing (a blackhole: no ICMP).
SILENT_PORT=${DNS_TEST_SILENT_PORT:-5355}
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
time.sleep(120)
' "$IP" "$SILENT_PORT" >"$WORK/silent.out" 2>&1 &
SILENT_PID=$!
wait_until 5 grep -q ready "$WORK/silent.out"

# One 10 s deadline per query, shared: with two servers, the silent first
# one gets a quarter of it (2.5 s), not 10 s of its own as before.
timed out env DNSCACHEIP="$IP:$SILENT_PORT,$IP:$PORT" "$PROBE" mx pref.example
check "silent server first, Unbound second: the answer" "$(probe mx pref.example)" "$out"
if ((MS >= 2000 && MS < 8000)); then ok "silent server first: its share of the deadline, $MS ms"; else
  not_ok "silent server first: its share of the deadline (2.5 s)" "took $MS ms"
fi

# Only a silent server: TempFail when the query's 10 s are up (tries
# included: the old resolver took the same).
timed out env DNSCACHEIP="$IP:$SILENT_PORT" "$PROBE" mx pref.example
check_match "only a silent server: TempFail" "^tempfail: .*$IP:$SILENT_PORT: no answer" "$out"
if ((MS < 20000)); then ok "only a silent server: TempFail in bounded time ($MS ms)"; else
  not_ok "only a silent server: TempFail in bounded time" "took $MS ms"
fi
kill "$SILENT_PID" 2>/dev/null
wait "$SILENT_PID" 2>/dev/null
SILENT_PID=

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
