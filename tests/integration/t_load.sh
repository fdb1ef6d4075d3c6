#!/bin/bash
# Load (SPEC §1, §4): 200 qmail-remote processes started at once, each with
# its own message (a unique Message-ID and X-Load-Tag), through one route
# that round-robins over four Exims (t24a..t24d, STARTTLS offered, so every
# delivery is a TLS session too). Then: every process exited 0 with empty
# stderr and exactly the reports "r" and "K", every tag is stored exactly
# once across the four stores, nothing else is stored, and every server
# took a share.
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
if ((started)); then ok "setup: four Exims"; else
  fail "setup" "see above"
  summary
  exit
fi

root=$(qmail_root_new)
remotes=$(printf '%s:2525|' "${ips[@]}")
printf 'load;;%s;;\n' "${remotes%|}" >"$root/control/routes"
printf '*;*;load\n' >"$root/control/routemap"

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
python3 - "$QR_BIN" "$root" "$work" "$N" <<'EOF'
import os, sys, time
qr, root, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
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
                                           "s@example.org", "r%d@dest.test" % i], env)
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
