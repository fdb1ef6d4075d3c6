#!/bin/bash
# Real qmail end to end (issue 14): notqmail's qmail-send, qmail-lspawn,
# qmail-rspawn and qmail-clean (started by qmail-start) around OUR
# qmail-remote, installed as the private root's bin/qmail-remote; messages
# go in through qmail-inject and come out at real Exim servers. Cases: a
# routed delivery (routes + routemap: source IP, body byte for byte), a
# failover seen in qmail-send's log, dead hosts (SPEC §12: a blackholed
# first address costs one timeoutconnect and is listed by the real
# qmail-tcpto; after a second timeout it is skipped without a wait; the
# real qmail-tcpok makes it tried again), a 550 bounced to the sender's
# local Maildir with the server's text, a 451 deferral retried after the
# server is fixed (qmail-send ALRM) and delivered once, and 500 messages at
# concurrencyremote 50, each delivered exactly once, none bounced.
#
# notqmail is built from the peer tarball by notqmail.sh, cached under
# /var/cache/qmail-remote-tests (the first run compiles for about 30 s).
# Like every script, it runs in a network namespace of its own (lib.sh).
set -u

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/notqmail.sh
source "$IT_DIR/notqmail.sh"
ip_block 60

A=$(alloc_ip)     # Exim t60a: routed, failover and bounce cases
LATER=$(alloc_ip) # Exim t60later: 451 until fixed
LOADIP=$(alloc_ip) # Exim t60load: the 500 messages
L1=$(alloc_ip)    # source address of route "routed"
L2=$(alloc_ip)    # source address of route "failover"
DEAD=$(alloc_ip)  # nothing listens here: connection refused
BH=$(alloc_ip)    # blackhole (a full accept queue): connects time out
TLIVE=$(alloc_ip) # Exim t60tcpto: the live second address of route "tcpto"
SENDER=sender@testhost.example
ROOT=$T_TMP/qmail
QLOG=$T_TMP/qmail-send.log
QS_PID=""
BH_PID=""

# --- helpers -----------------------------------------------------------

# Every program of the root runs with this environment, as qmail's rc
# script runs qmail-start: the root's bin/ first in PATH (qmail-rspawn
# execs "qmail-remote" through it), QMAIL_ROOT for our qmail-remote.
QENV=(env -i "PATH=$ROOT/bin:/usr/bin:/bin" "QMAIL_ROOT=$ROOT")
qenv() { "${QENV[@]}" "$@"; }

# wait_until SECONDS COMMAND... (lib.sh) is the only way this script waits.

qlog_has() { grep -qE -- "$1" "$QLOG" 2>/dev/null; }

# qmail-send's result lines (success/deferral/failure) for deliveries to
# RCPT, in order. Delivery numbers are slots, reused once a delivery ends:
# the map follows the log.
results_for() {
  awk -v r="$1" '
    $1 == "starting" && $2 == "delivery" && $NF == r { n = $3; sub(":", "", n); d[n] = 1; next }
    $1 == "delivery" { n = $2; sub(":", "", n); if (n in d) { print; delete d[n] } }
  ' "$QLOG"
}

# The queue id of the (last) message delivered to RCPT.
msg_of() {
  awk -v r="$1" '$1 == "starting" && $NF == r { m = $5 } END { print m }' "$QLOG"
}

# has_result RCPT KIND: a "delivery N: KIND:" line for RCPT is in the log.
has_result() { results_for "$1" | grep -q "^delivery [0-9]*: $2:"; }
# msg_ended ID: the message's last incarnation has ended. Queue ids are
# inode numbers, reused: only an "end msg" after its last "new msg" counts.
msg_ended() {
  awk -v m="$1" '
    $0 == "new msg " m { ended = 0 }
    $0 == "end msg " m { ended = 1 }
    END { exit !ended }
  ' "$QLOG"
}
store_count() { stored_messages "$1" | wc -l; }
store_is() { (($(store_count "$1") == $2)); }
mailbox() { find "$ROOT/alias/Maildir/new" -type f 2>/dev/null | sort; }
mailbox_count_is() { (($(mailbox | wc -l) == $1)); }
queue_empty() {
  [[ -z $(find "$ROOT/queue/mess" "$ROOT/queue/todo" -type f 2>/dev/null | head -n 1) ]]
}

# inject RCPT FILE: qmail-inject with the envelope sender $SENDER.
inject() {
  qenv "$ROOT/bin/qmail-inject" -f "$SENDER" "$1" <"$2"
}

# Alive and not a zombie.
_alive() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

_dead() { ! _alive "$1"; }

# Every descendant of PID, children first.
_descendants() {
  local kid
  for kid in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$kid"
    _descendants "$kid"
  done
}

# Stops qmail-send (TERM: it finishes what runs and exits), then whatever
# of its process tree is left, by PID: qmail-lspawn, qmail-rspawn and
# qmail-clean exit when qmail-send closes their pipes. Bounded waits.
qmail_stop() {
  [[ -n $QS_PID ]] || return 0
  local -a pids
  local p
  mapfile -t pids < <(_descendants "$QS_PID")
  kill -TERM "$QS_PID" 2>/dev/null
  wait_until 10 _dead "$QS_PID" || kill -KILL "$QS_PID" 2>/dev/null
  _gone() { for p in "${pids[@]}"; do _alive "$p" && return 1; done; return 0; }
  if ! wait_until 5 _gone; then
    for p in "${pids[@]}"; do
      _alive "$p" && kill -KILL "$p" 2>/dev/null
    done
  fi
  wait "$QS_PID" 2>/dev/null
  QS_PID=""
  rm -f "$QS_PIDFILE"
}
trap 'qmail_stop >/dev/null 2>&1; [[ -n $BH_PID ]] && kill "$BH_PID" 2>/dev/null; _lib_cleanup' EXIT

# The PIDs of qmail-send and its children, kept outside T_TMP: a run that
# was killed (SIGKILL) cannot stop them, so the next run does, by PID,
# after checking that each still runs a program of this root's bin/.
QS_PIDFILE=$IT_TMP/t_qmail.pids
stop_stale_qmail() {
  local p exe
  [[ -s $QS_PIDFILE ]] || return 0
  for p in $(<"$QS_PIDFILE"); do
    exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
    [[ $exe == "$ROOT/bin/qmail-"* ]] || continue
    echo "t_qmail.sh: stopping $exe (PID $p) left by an earlier run"
    kill -TERM "$p" 2>/dev/null
    wait_until 5 _dead "$p" || kill -KILL "$p" 2>/dev/null
  done
  rm -f "$QS_PIDFILE"
}
stop_stale_qmail

# On failure, what qmail-send said.
show_log() {
  echo "--- last lines of $QLOG:"
  tail -n 15 "$QLOG"
}

# blackhole READY IP: blackhole.py, a listener on IP:25 whose
# accept queue is filled until a connect gets no answer (the kernel drops
# every further SYN), so a connect to IP:25 times out. Runs 60 s at most;
# writes READY once full. Sets BH_PID.
blackhole() {
  python3 "$IT_DIR/blackhole.py" "$1" 25 60 "$2" &
  BH_PID=$!
}

# qmail-tcpto's line for IP: "IP timed out N seconds ago; # recent timeouts: C".
qmail_tcpto_line() { qenv "$ROOT/bin/qmail-tcpto" | grep -F "$1 timed out" || true; }

# tcpto_age IP SECONDS: IP's record in qmail's queue/lock/tcpto gets the
# time SECONDS ago (bytes 8-11, least significant first), under qmail's
# lock: as if its last counted timeout were that old. Fails when IP has
# no record.
tcpto_age() {
  python3 - "$ROOT/queue/lock/tcpto" "$1" "$2" <<'PY'
import fcntl, socket, struct, sys, time
path, ip, age = sys.argv[1], socket.inet_aton(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    data = f.read()
    for i in range(0, len(data) - 15, 16):
        if data[i:i + 4] == ip and data[i + 4] > 0:
            f.seek(i + 8)
            f.write(struct.pack("<I", int(time.time()) - age))
            sys.exit(0)
sys.exit(1)
PY
}

# --- the remote side ---------------------------------------------------

exim_start t60a "$A" 25 || fail "exim t60a" "did not start"
exim_start t60later "$LATER" 25 deferflag=on || fail "exim t60later" "did not start"
exim_start t60tcpto "$TLIVE" 25 || fail "exim t60tcpto" "did not start"
exim_start t60load "$LOADIP" 25 accept_max=200 backlog=256 ||
  fail "exim t60load" "did not start"

# --- the private qmail root --------------------------------------------

t0=$SECONDS
[[ -x $QR_BIN ]] || fail_and_stop "qmail-remote built" "no $QR_BIN (make all)"
notqmail_install "$ROOT" || fail_and_stop "notqmail: build and install" "see above"
ok "notqmail: built and installed"
echo "notqmail: $ROOT ready in $((SECONDS - t0)) s"
check_eq "our qmail-remote is bin/qmail-remote" "" \
  "$(cmp "$QR_BIN" "$ROOT/bin/qmail-remote" 2>&1)"

c=$ROOT/control
echo testhost.example >"$c/me"
echo testhost.example >"$c/locals"
echo 50 >"$c/concurrencyremote"
echo 5 >"$c/timeoutconnect"
echo 10 >"$c/timeoutremote"
cat >"$c/routes" <<EOF
routed;$L1;$A:25;;
failover;$L2;$DEAD:2599&$A:25;;
fixlater;;$LATER:25;;
tcpto;;$BH:25&$TLIVE:25;;
load;;$LOADIP:25;;
EOF
cat >"$c/routemap" <<EOF
*;routed.test;routed
*;failover.test;failover
*;later.test;fixlater
*;tcpto.test;tcpto
*;load.test;load
EOF
chmod 644 "$c"/*

# Local mail (the bounces) for sender@ and postmaster@ goes to a Maildir
# in ~alias of this root, through qmail-users (users/assign, qmail-newu):
# the system's alias user has no home here.
uid=$(id -u alias) gid=$(id -g alias)
printf '=%s:alias:%s:%s:%s:::\n' sender "$uid" "$gid" "$ROOT/alias" \
  postmaster "$uid" "$gid" "$ROOT/alias" >"$ROOT/users/assign"
echo . >>"$ROOT/users/assign"
qenv "$ROOT/bin/qmail-newu" || fail "qmail-newu" "exit status $?"
runuser -u alias -- "$ROOT/bin/maildirmake" "$ROOT/alias/Maildir" ||
  fail "maildirmake" "exit status $?"

# --- qmail-start -------------------------------------------------------
# No logger argument: qmail-send logs to qmail-start's stdout, the file.
# qmail-start forks the other three and execs qmail-send: env execs
# qmail-start, so $! is qmail-send's PID (for ALRM and TERM).
: >"$QLOG"
"${QENV[@]}" "$ROOT/bin/qmail-start" ./Maildir/ </dev/null >>"$QLOG" 2>&1 &
QS_PID=$!
if wait_until 10 qlog_has '^status: local 0/10 remote 0/50'; then
  ok "qmail-send started (concurrency remote 50)"
else
  fail "qmail-send started" "no status line"
  show_log
  summary
  exit 1
fi
# The other three run as their own users (once they have exec'd).
kids_want="qmailq qmail-clean qmailr qmail-rspawn root qmail-lspawn "
kids() { ps -o user=,comm= --ppid "$QS_PID" | sort | tr -s ' \n' ' '; }
kids_are() { [[ $(kids) == "$1" ]]; }
wait_until 5 kids_are "$kids_want"
check_eq "qmail-start's children" "$kids_want" "$(kids)"
{ echo "$QS_PID"; ps -o pid= --ppid "$QS_PID"; } >"$QS_PIDFILE"

# --- 1. a routed delivery: source IP, body byte for byte ---------------
body=$T_TMP/body
{
  printf 'First line.\n.\n..two dots\n.x leading dot\n'
  printf 'trailing spaces   \n\ttab\n8-bit: \xe9t\xe9 \xff\n\n'
  printf '%0990d\n' 7
  printf 'last line\n'
} >"$body"
{
  printf 'From: %s\nTo: r1@routed.test\nSubject: routed end to end\n' "$SENDER"
  printf 'Message-ID: <e2e-routed@testhost.example>\n\n'
  cat "$body"
} >"$T_TMP/msg-routed"
inject r1@routed.test "$T_TMP/msg-routed" || fail "routed: qmail-inject" "exit status $?"
if wait_until 15 has_result r1@routed.test success; then
  ok "routed: success in qmail-send's log"
else
  fail "routed: success in qmail-send's log" "$(results_for r1@routed.test)"
  show_log
fi
line=$(results_for r1@routed.test)
check_contains "routed: our report (route line)" "route=routed_local=${L1}_remote=[$A]:25" "$line"
check_contains "routed: vanilla text" "${A}_accepted_message./Remote_host_said:_250" "$line"
wait_for_store t60a 1
check_contains "routed: source address is the route's" "[$L1]:" "$(exim_received t60a)"
stored=$(stored_messages t60a | tail -n 1)
check_eq "routed: envelope" $'sender <sender@testhost.example>\nrecipient <r1@routed.test>' \
  "$(stored_envelope "$stored")"
check_match "routed: qmail-queue's Received: first" '^Received: \(qmail [0-9]+ invoked by uid 0\)' \
  "$(head -n 1 "$stored")"
# The body: everything after the first empty line.
LC_ALL=C sed '1,/^\r$/d' "$stored" >"$T_TMP/stored-body"
check_file_eq "routed: body byte for byte" <(crlf "$body") "$T_TMP/stored-body"

# --- 2. failover: the dead address first, the K line lists it ---------
inject f1@failover.test "$T_TMP/msg-routed" || fail "failover: qmail-inject" "exit status $?"
if wait_until 15 has_result f1@failover.test success; then
  ok "failover: success in qmail-send's log"
else
  fail "failover: success in qmail-send's log" "$(results_for f1@failover.test)"
  show_log
fi
line=$(results_for f1@failover.test)
check_contains "failover: K names the live address" "remote=[$A]:25" "$line"
check_match "failover: K lists the refused attempt" "$DEAD:2599[^/]*refused" "$line"
wait_for_store t60a 2
check_contains "failover: source address is the route's" "[$L2]:" "$(exim_received t60a | tail -n 1)"

# --- 3. dead hosts: qmail's tcpto under qmail-send (SPEC §12) ----------
# Route tcpto is BH:25&TLIVE:25, BH a blackhole; timeoutconnect TC s for
# this case. What a delivery waited is timed from qmail-inject to its
# result in the log: a timeout is a hard lower bound; "skipped" is told by
# the K line, and its time only has to stay well under one timeout.
TC=3
tc_t0=${EPOCHREALTIME/./}
echo "$TC" >"$c/timeoutconnect"
printf 'Subject: tcpto\n\nhello\n' >"$T_TMP/msg-tcpto"
BHQ=${BH//./\\.}
# tcpto_deliver N: injects tN@tcpto.test, waits for its success; sets
# TC_MS (milliseconds) and TC_LINE (the result line).
tcpto_deliver() {
  local r=t$1@tcpto.test t0
  t0=${EPOCHREALTIME/./}
  inject "$r" "$T_TMP/msg-tcpto" || fail "tcpto $1: qmail-inject" "exit status $?"
  if wait_until 20 has_result "$r" success; then
    ok "tcpto $1: success in qmail-send's log"
  else
    fail "tcpto $1: success in qmail-send's log" "$(results_for "$r")"
    show_log
  fi
  TC_MS=$(((${EPOCHREALTIME/./} - t0) / 1000))
  TC_LINE=$(results_for "$r")
  check_contains "tcpto $1: K from the live address" "remote=[$TLIVE]:25" "$TC_LINE"
}
# tcpto_waited N: the delivery tried BH and waited for its timeout.
tcpto_waited() {
  check_match "tcpto $1: K lists the timed-out attempt" \
    "/Failed_before_this_attempt:/${BHQ}:25_from_default:_timed_out" "$TC_LINE"
  if ((TC_MS >= TC * 1000)); then ok "tcpto $1: waited a timeoutconnect (${TC_MS} ms)"; else
    fail "tcpto $1: waited a timeoutconnect" "took $TC_MS ms (timeoutconnect $TC s)"
  fi
}
blackhole "$T_TMP/bh.ready" "$BH"
wait_until 10 test -s "$T_TMP/bh.ready" || fail "tcpto: blackhole" "the listener did not fill up"
check_eq "tcpto: qmail-tcpto lists nothing before" "" "$(qmail_tcpto_line "$BH")"

# A fresh address: one timeout, delivered by the second, recorded (count 1).
tcpto_deliver 1
tcpto_waited 1
check_match "tcpto 1: qmail-tcpto lists it, count 1" \
  "^${BHQ} timed out [0-9]+ seconds ago; # recent timeouts: 1\$" "$(qmail_tcpto_line "$BH")"

# Count 1 within the window would be demoted (tried after TLIVE, so not at
# all). Its timeout made older than any window (5824 s): tried first again,
# and this timeout, more than 120 s after the last, is counted: count 2.
tcpto_age "$BH" 6000 || fail "tcpto: age the record" "no record of $BH in queue/lock/tcpto"
tcpto_deliver 2
tcpto_waited 2
check_match "tcpto 2: qmail-tcpto lists it, count 2" \
  "^${BHQ} timed out [0-9]+ seconds ago; # recent timeouts: 2\$" "$(qmail_tcpto_line "$BH")"

# Count 2: skipped without a connect, named in the K line.
tcpto_deliver 3
check_match "tcpto 3: K lists BH as skipped" \
  "/Failed_before_this_attempt:/${BHQ}:25_from_default:_skipped:_no_connection_within_timeoutconnect,_[0-9]+_s_ago" \
  "$TC_LINE"
if ((TC_MS < TC * 1000 - 1000)); then ok "tcpto 3: skipped, no wait (${TC_MS} ms)"; else
  fail "tcpto 3: skipped, no wait" "took $TC_MS ms (timeoutconnect $TC s)"
fi
check_match "tcpto 3: still count 2 (not tried)" \
  "^${BHQ} timed out [0-9]+ seconds ago; # recent timeouts: 2\$" "$(qmail_tcpto_line "$BH")"

# qmail-tcpok forgets it: tried again, waits, recorded afresh.
qenv "$ROOT/bin/qmail-tcpok" || fail "tcpto: qmail-tcpok" "exit status $?"
check_eq "tcpto: qmail-tcpok cleared it" "" "$(qmail_tcpto_line "$BH")"
tcpto_deliver 4
tcpto_waited 4
check_match "tcpto 4: recorded afresh, count 1" \
  "^${BHQ} timed out [0-9]+ seconds ago; # recent timeouts: 1\$" "$(qmail_tcpto_line "$BH")"

wait_for_store t60tcpto 4
tc_rcpts=$(stored_messages t60tcpto | sed 's/.*\.\(t[0-9]*@tcpto\.test\)$/\1/' | sort | xargs)
check_eq "tcpto: each delivered exactly once" "t1@tcpto.test t2@tcpto.test t3@tcpto.test t4@tcpto.test" \
  "$tc_rcpts"
kill "$BH_PID" 2>/dev/null
wait "$BH_PID" 2>/dev/null
BH_PID=""
echo 5 >"$c/timeoutconnect"
echo "tcpto: the case ran in $(((${EPOCHREALTIME/./} - tc_t0) / 1000)) ms"

# --- 4. a 550 bounces to the sender, with the server's text ------------
inject reject550-b1@routed.test "$T_TMP/msg-routed" || fail "bounce: qmail-inject" "exit status $?"
if wait_until 15 has_result reject550-b1@routed.test failure; then
  ok "bounce: failure in qmail-send's log"
else
  fail "bounce: failure in qmail-send's log" "$(results_for reject550-b1@routed.test)"
  show_log
fi
check_contains "bounce: log has the server's text" "550_5.1.1_recipient_rejected_by_test_sink" \
  "$(results_for reject550-b1@routed.test)"
if wait_until 15 mailbox_count_is 1; then
  ok "bounce: delivered to the sender's Maildir"
else
  fail "bounce: delivered to the sender's Maildir" "$(mailbox | wc -l) messages"
  show_log
fi
bounce=$(mailbox | head -n 1)
btext=$(cat "$bounce" 2>/dev/null)
check_contains "bounce: to the sender" "Delivered-To: $SENDER" "$btext"
check_match "bounce: from MAILER-DAEMON" $'(^|\n)From: MAILER-DAEMON@testhost.example' "$btext"
check_contains "bounce: names the recipient" "<reject550-b1@routed.test>:" "$btext"
check_contains "bounce: the server's text" "550 5.1.1 recipient rejected by test sink" "$btext"
check_contains "bounce: the original message attached" "Subject: routed end to end" "$btext"
check_eq "bounce: nothing stored for the rejected recipient" 2 "$(store_count t60a)"

# --- 5. a 451 deferral, then a retry (ALRM) once the server is fixed ----
touch "$(exim_deferflag t60later)"
inject d1@later.test "$T_TMP/msg-routed" || fail "defer: qmail-inject" "exit status $?"
if wait_until 15 has_result d1@later.test deferral; then
  ok "defer: deferral in qmail-send's log"
else
  fail "defer: deferral in qmail-send's log" "$(results_for d1@later.test)"
  show_log
fi
check_contains "defer: the server's 451" "451_4.3.0_test_sink_is_broken" "$(results_for d1@later.test)"
check_eq "defer: nothing stored" 0 "$(store_count t60later)"
msg=$(msg_of d1@later.test)
if [[ -n $msg ]] && ! msg_ended "$msg"; then ok "defer: still queued"; else
  fail "defer: still queued" "msg '$msg' ended"
fi
rm -f "$(exim_deferflag t60later)"
kill -ALRM "$QS_PID"
if wait_until 15 has_result d1@later.test success; then
  ok "defer: retried after ALRM, success"
else
  fail "defer: retried after ALRM, success" "$(results_for d1@later.test)"
  show_log
fi
wait_until 10 msg_ended "$msg" || fail "defer: message done" "no 'end msg $msg'"
check_eq "defer: results in order" "deferral success" \
  "$(results_for d1@later.test | awk '{ print $3 }' | tr -d ':' | xargs)"
wait_for_store t60later 1
check_eq "defer: stored exactly once" 1 "$(store_count t60later)"
check_eq "defer: no bounce" 1 "$(mailbox | wc -l)"

# --- 6. 500 messages, concurrencyremote 50 ------------------------------
LOAD_N=${LOAD_N:-500}
bounces_before=$(grep -c '^bounce msg' "$QLOG")
load_start=$(wc -l <"$QLOG")
# Four injectors at once (each qmail-queue waits for its fsyncs); each
# prints the numbers it could not inject.
inject_load() { # FIRST STEP
  local i
  for ((i = $1; i <= LOAD_N; i += $2)); do
    printf 'From: %s\nTo: load-%s@load.test\nSubject: load %s\nX-Load-Tag: tag-%s\n\nmessage %s\n' \
      "$SENDER" "$i" "$i" "$i" "$i" |
      qenv "$ROOT/bin/qmail-inject" -f "$SENDER" "load-$i@load.test" || echo "$i"
  done
}
t0=${EPOCHREALTIME/./}
injectors=()
for w in 1 2 3 4; do
  inject_load "$w" 4 >"$T_TMP/inject-$w.failed" &
  injectors+=($!)
done
wait "${injectors[@]}" # only these: qmail-send is a child of this shell too
t1=${EPOCHREALTIME/./}
check_eq "load: qmail-inject ok $LOAD_N times" "" "$(cat "$T_TMP"/inject-*.failed)"
if wait_until 120 store_is t60load "$LOAD_N"; then
  ok "load: $LOAD_N stored"
else
  fail "load: $LOAD_N stored" "$(store_count t60load) stored"
  show_log
fi
wait_until 30 queue_empty || fail "load: queue empty" "$(find "$ROOT/queue/mess" -type f | wc -l) left"
t2=${EPOCHREALTIME/./}
echo "load: injected in $(((t1 - t0) / 1000)) ms, all delivered $(((t2 - t0) / 1000)) ms after the first"
check_eq "load: stored exactly $LOAD_N (no duplicates)" "$LOAD_N" "$(store_count t60load)"
# Each copy carries its own tag and went to its own recipient.
bad=0
tags=$T_TMP/load-tags
: >"$tags"
while IFS= read -r f; do
  tag=$(grep -m1 '^X-Load-Tag: ' "$f" | tr -d '\r')
  tag=${tag#X-Load-Tag: tag-}
  [[ ${f##*/} == *".load-$tag@load.test" ]] || bad=$((bad + 1))
  echo "$tag" >>"$tags"
done < <(stored_messages t60load)
check_eq "load: each tag exactly once" "$LOAD_N" "$(sort -u "$tags" | wc -l)"
check_eq "load: each copy to its own recipient" 0 "$bad"
tail -n +"$((load_start + 1))" "$QLOG" >"$T_TMP/load.log"
check_eq "load: successes in the log" "$LOAD_N" "$(grep -c ': success: ' "$T_TMP/load.log")"
check_eq "load: no failure or deferral" "" "$(grep -E ': (failure|deferral): ' "$T_TMP/load.log" | head -n 3)"
check_eq "load: nothing bounced" "$bounces_before" "$(grep -c '^bounce msg' "$QLOG")"
check_eq "load: sender's Maildir unchanged" 1 "$(mailbox | wc -l)"
peak=$(sed -n 's|^status: local [0-9]*/[0-9]* remote \([0-9]*\)/50$|\1|p' "$T_TMP/load.log" | sort -n | tail -n 1)
echo "load: at most ${peak:-?} deliveries at once"
check_match "load: ran in parallel, at most 50" '^([2-9]|[1-4][0-9]|50)$' "${peak:-0}"

# --- stop --------------------------------------------------------------
qmail_stop
check_contains "qmail-send: exited on TERM" "status: exiting" "$(tail -n 3 "$QLOG")"
summary
