#!/bin/bash
# Load (SPEC §1, §4): 200 qmail-remote processes started at once, each with
# its own message (a unique Message-ID and X-Load-Tag), through one route
# that round-robins over four Exims (t24a..t24d, STARTTLS offered, so every
# delivery is a TLS session too). Then: every process exited 0 with empty
# stderr and exactly the reports "r" and "K", every tag is stored exactly
# once across the four stores, nothing else is stored, and every server
# took a share.
#
# Dead hosts under load (SPEC §12, issue 12): the qmail root has
# queue/lock/tcpto (qmail's, 1024 bytes, its 64 records all in use
# beforehand: 62 old ones, one recent with count 2, one old that is
# refused) and tcpto-pairs (made by qmail-routes tcpok, two records), and
# three in ten processes take a route whose first remote is dead: a
# blackholed IPv4 address (a listener with a full accept queue, as in
# t_tcpto.sh), the blackholed [::1], or the count-2 address (skipped) then
# the refused one. timeoutconnect is 2 s. After the run both files must be
# intact (tcpto_check.py: sizes, every record well formed, no address
# twice) and hold exactly what the rules make of it: the blackholed IPv4
# address in the refused one's record (count 0 after its answer, or the
# oldest), count 1; [::1] count 1 in tcpto-pairs; everything else as it
# was.
set -u
source "$(dirname "$0")/lib.sh"
ip_block 24

N=${LOAD_N:-200}
names=(t24a t24b t24c t24d)
ips=()
started=1
for name in "${names[@]}"; do
  ip=$(alloc_ip)
  ips+=("$ip")
  # 200 connections may land on one server: room for all, and a listen
  # backlog that takes the burst.
  exim_start "$name" "$ip" 2525 tls=on accept_max=300 backlog=256 || started=0
done
setup_done "$started" "four Exims"

BH4=$(alloc_ip)   # blackholed
SKIP=$(alloc_ip)  # nothing listens; count 2 in tcpto: skipped
REF=$(alloc_ip)   # nothing listens: refused
BH_PID=
trap '[[ -n $BH_PID ]] && kill "$BH_PID" 2>/dev/null; _lib_cleanup' EXIT
# The blackholes: BH4:2525 and [::1]:2525, listeners whose accept queues
# are full (blackhole.py); READY once both are.
python3 "$IT_DIR/blackhole.py" "$T_TMP/bh.ready" 2525 120 "$BH4" ::1 &
BH_PID=$!

root=$(qmail_root_new)
echo 2 >"$root/control/timeoutconnect"
remotes=$(printf '%s:2525|' "${ips[@]}")
remotes=${remotes%|}
printf 'load;;%s;;\ndead4;;%s:2525&%s;;\ndead6;;[::1]:2525&%s;;\nskipref;;%s:2525&%s:2525&%s;;\n' \
  "$remotes" "$BH4" "$remotes" "$remotes" "$SKIP" "$REF" "$remotes" >"$root/control/routes"
# Process i's sender is s@<route>.test (the recipient stays r<i>@dest.test).
printf 'dead4.test;*;dead4\ndead6.test;*;dead6\nskipref.test;*;skipref\n*;*;load\n' \
  >"$root/control/routemap"

# queue/lock as qmail's installer and qmail-routes tcpok leave it, then
# filled through tcpto-probe (lib/net/tcpto, as the walk writes).
lock=$root/queue/lock
mkdir -p "$lock"
head -c 1024 /dev/zero >"$lock/tcpto"
chmod 644 "$lock/tcpto"
env -i PATH=/usr/bin:/bin "QMAIL_ROOT=$root" "$REPO_ROOT/qmail-routes" tcpok >/dev/null
probe() { "$REPO_ROOT/build/tcpto-probe" "$lock" "$@"; }
now=$(date +%s)
for ((k = 1; k <= 62; k++)); do  # older than any skip window (5824 s)
  probe --now $((now - 6000 - k * 10)) timeout "192.0.2.$k"
done
probe --now $((now - 300)) timeout "$SKIP"
probe --now $((now - 100)) timeout "$SKIP"  # count 2: skipped
probe --now $((now - 7000)) timeout "$REF"  # count 1, old: tried, refused
probe --now $((now - 50)) timeout 192.0.2.200 "${ips[0]}" elsewhere
probe --now $((now - 8000)) timeout 2001:db8::25
tcpto_before=$(python3 "$IT_DIR/tcpto_check.py" "$lock")
check_eq "tcpto: 64 records in use before the run" 64 "$(grep -c '^tcpto ' <<<"$tcpto_before")"
check_eq "tcpto-pairs: 2 records before the run" 2 "$(grep -c '^pairs ' <<<"$tcpto_before")"
check_contains "tcpto: $SKIP count 2 before the run" "tcpto $SKIP 2 " "$tcpto_before"
wait_until 10 test -s "$T_TMP/bh.ready"
if [[ -s $T_TMP/bh.ready ]]; then ok "setup: blackholes"; else
  fail "setup: blackholes" "the listeners did not fill up"
fi

work=$T_TMP/load
mkdir -p "$work"
for ((i = 1; i <= N; i++)); do
  printf 'From: s@example.org\nTo: r%d@dest.test\nMessage-ID: <load-%d@t24.test>\nX-Load-Tag: load-%d\nSubject: load %d\n\nbody of message %d\n' \
    "$i" "$i" "$i" "$i" "$i" >"$work/msg-$i"
done

# All N forked first, each blocked on a pipe; closing the pipe releases
# them together into exec qmail-remote, so the N really run at once. Each
# one's stdout, stderr, exit status and wall time are kept. The environment
# is run_qmail_remote's.
t0=${EPOCHREALTIME/./}
since=$(date +%s)
python3 - "$QR_BIN" "$root" "$work" "$N" <<'EOF'
import os, sys, time
qr, root, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# Three in ten take a route whose first remote is dead.
route = {0: "dead4", 1: "dead4", 2: "dead6", 3: "dead6", 4: "skipref", 5: "skipref"}
env = {"PATH": "/usr/bin:/bin", "QMAIL_ROOT": root}
for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
    if k in os.environ:
        env[k] = os.environ[k]
gate_r, gate_w = os.pipe()
ready_r, ready_w = os.pipe()
pids = {}
for i in range(1, n + 1):
    pid = os.fork()
    if pid == 0:
        try:
            os.close(gate_w)
            os.close(ready_r)
            os.write(ready_w, b".")  # at the gate
            os.close(ready_w)
            os.read(gate_r, 1)  # EOF when the parent lets everyone go
            os.close(gate_r)
            for fd, name, mode in ((0, "msg", os.O_RDONLY),
                                   (1, "out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                   (2, "err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
                f = os.open("%s/%s-%d" % (work, name, i), mode, 0o644)
                os.dup2(f, fd)
                os.close(f)
            os.execve("/usr/bin/timeout", ["timeout", "-k", "5", "50", qr, "dest.test",
                                           "s@%s.test" % route.get(i % 10, "load"),
                                           "r%d@dest.test" % i], env)
        finally:
            os._exit(127)
    pids[pid] = i
os.close(gate_r)
os.close(ready_w)
# Every child has written its byte (or died: EOF) before it waits at the gate.
while os.read(ready_r, n):
    pass
start = time.monotonic()
os.close(gate_w)
while pids:
    pid, status = os.wait()
    i = pids.pop(pid)
    with open("%s/rc-%d" % (work, i), "w") as f:
        f.write("%d %d\n" % (os.waitstatus_to_exitcode(status), (time.monotonic() - start) * 1000))
EOF
t1=${EPOCHREALTIME/./}
echo "# $N processes: all done in $(((t1 - t0) / 1000)) ms"

# --- every process: exit 0, no stderr, "rK" ------------------------------
# One python pass over the N results (report.py's parser): counts of bad
# exit statuses, non-empty stderr, reports other than a framed "rK", the
# slowest process, and the first problem seen.
read -r bad_rc bad_err bad_rep max_ms first < <(python3 - "$IT_DIR" "$work" "$N" <<'EOF'
import os, sys
sys.path.insert(0, sys.argv[1])
import report
work, n = sys.argv[2], int(sys.argv[3])
bad_rc = bad_err = bad_rep = max_ms = 0
first = ""
for i in range(1, n + 1):
    rc, ms = map(int, open("%s/rc-%d" % (work, i)).read().split())
    max_ms = max(max_ms, ms)
    if rc != 0:
        bad_rc += 1
        first = first or "#%d:exit-%d" % (i, rc)
    if os.path.getsize("%s/err-%d" % (work, i)):
        bad_err += 1
        first = first or "#%d:stderr" % i
    reports, problems = report.parse(open("%s/out-%d" % (work, i), "rb").read())
    letters = "".join(l for l, _ in reports)
    if problems or letters != "rK":
        bad_rep += 1
        first = first or ("#%d:%s:%s" % (i, letters, (problems or [reports[-1][1]])[0][:200])).replace(" ", "_").replace("\n", "|")
print(bad_rc, bad_err, bad_rep, max_ms, first or "-")
EOF
)
check_eq "every process exited 0" 0 "$bad_rc"
check_eq "no process wrote to stderr" 0 "$bad_err"
check_eq "every report is rK, well framed" 0 "$bad_rep"
[[ $first != - ]] && echo "# first problem: $first"
echo "# slowest process: $max_ms ms"

# --- queue/lock after the run: intact, and what the rules make of it -----
# The blackholed IPv4 address takes the refused one's record (count 0
# once refused, else the oldest: time + count * 1024), count 1 (the first
# timeout counted, the others within 120 s not); [::1] a free record of
# tcpto-pairs; the skipped address keeps count 2; nothing else changes.
# The dead routes were taken: the skipped address named by every skipref
# report, the blackholes' timeouts by some dead4 and dead6 ones (all start
# at once, so most time out; a late one may find the record and demote).
named() { # ROUTE TEXT: how many reports of ROUTE's processes name TEXT
  local i c=0
  for ((i = 1; i <= N; i++)); do
    grep -qF "route=$1 " "$work/out-$i" && grep -qF "$2" "$work/out-$i" && ((c++))
  done
  echo "$c"
}
nskip=0
for ((i = 1; i <= N; i++)); do ((i % 10 == 4 || i % 10 == 5)) && ((nskip++)); done
check_eq "skipref: every report names $SKIP skipped" "$nskip" \
  "$(named skipref "$SKIP:2525 from default: skipped: no connection within timeoutconnect")"
c4=$(named dead4 "$BH4:2525 from default: timed out after 2 s")
c6=$(named dead6 "[::1]:2525 from default: timed out after 2 s")
if ((c4 > 0 && c6 > 0)); then ok "dead4, dead6: the blackholes timed out ($c4, $c6 reports)"; else
  fail "dead4, dead6: the blackholes timed out" "$c4 and $c6 reports name the timeout"
fi
tcpto_after=$(python3 "$IT_DIR/tcpto_check.py" "$lock" --since "$since")
tcpto_rc=$?
check_eq "tcpto files intact after the run (tcpto_check.py)" "0 " \
  "$tcpto_rc $(grep '^BAD' <<<"$tcpto_after" | head -3 | tr '\n' ' ')"
check_eq "tcpto: 1024 bytes after the run" 1024 "$(stat -c %s "$lock/tcpto")"
check_eq "tcpto-pairs: 12288 bytes after the run" 12288 "$(stat -c %s "$lock/tcpto-pairs")"
expected=$({
  grep -v "^tcpto $REF " <<<"$tcpto_before"
  echo "tcpto $BH4 1 recent"
  echo "pairs ::1 any 1 recent"
} | sort)
check_eq "tcpto files hold exactly what the rules make of the run" "$expected" "$tcpto_after"

# --- every tag stored exactly once across the four stores ----------------
# Delivery runs in Exim's children just after the dot: wait for all N.
stored_total() {
  local name
  total=0
  for name in "${names[@]}"; do
    total=$((total + $(stored_messages "$name" | wc -l)))
  done
  ((total >= N))
}
wait_until 15 stored_total
check_eq "$N copies stored in all" "$N" "$total"

tags=$T_TMP/tags
for name in "${names[@]}"; do
  stored_messages "$name" | xargs -r grep -h '^X-Load-Tag: ' | tr -d '\r'
done | sort >"$tags"
check_eq "every tag stored" "$N" "$(sort -u "$tags" | wc -l)"
check_eq "no tag stored twice" "" "$(uniq -d "$tags" | head -5 | tr '\n' ' ')"
check_eq "the tags are exactly load-1..load-$N" \
  "$(for ((i = 1; i <= N; i++)); do echo "X-Load-Tag: load-$i"; done | sort)" "$(cat "$tags")"

# Every stored copy is its message byte for byte (recipient r<i>).
bad=0
for name in "${names[@]}"; do
  while read -r f; do
    i=$(grep -m1 '^X-Load-Tag: ' "$f" | tr -d '\r')
    i=${i#X-Load-Tag: load-}
    cmp -s "$f" <(crlf "$work/msg-$i") || ((bad++))
    [[ $(stored_envelope "$f") == *"recipient <r$i@dest.test>"* ]] || ((bad++))
  done < <(stored_messages "$name")
done
check_eq "every copy byte for byte, with its own recipient" 0 "$bad"

# Round robin: each server took a share (200 messages, 4 servers: a server
# with none would be a chance of 4 * 0.75^200, about 1e-25).
shares=""
for name in "${names[@]}"; do
  c=$(stored_messages "$name" | wc -l)
  shares+="$name=$c "
  if ((c > 0)); then ok "round robin: $name took $c"; else fail "round robin: $name took none" "$shares"; fi
done
echo "# shares: $shares"
peak=$(for name in "${names[@]}"; do exim_log "$name"; done |
  grep -o 'TCP/IP connection count = [0-9]*' | grep -o '[0-9]*$' | sort -n | tail -1)
echo "# most connections one Exim had open at once: ${peak:-?}"

# The servers saw TLS for every message: one "<=" line each with X=.
tlsd=0
for name in "${names[@]}"; do
  tlsd=$((tlsd + $(exim_received "$name" | grep -c ' X=TLS')))
done
check_eq "every reception was over TLS" "$N" "$tlsd"

summary
