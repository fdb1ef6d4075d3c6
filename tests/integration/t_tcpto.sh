#!/bin/bash
# Dead hosts (SPEC §12, issue 12): our queue/lock/tcpto is qmail's. What
# lib/net/tcpto records (through build/tcpto-probe, which calls DeadHosts
# as the walk does) is listed by the real qmail-tcpto with the right address,
# count and age, and cleared by the real qmail-tcpok, after which our
# reader sees nothing; what the classic qmail-remote records is read by us;
# and an address we recorded twice is skipped by the classic qmail-remote
# without a connect. qmail-routes tcpto/tcpok on both files, tcpto-pairs
# made by tcpok with qmailr as its owner. Our walk: a demoted address tried
# last, a skipped one named without a connect, a timeout recorded.
#
# notqmail is built from the peer tarball by notqmail.sh (cached under
# /var/cache/qmail-remote-tests; the first run for a checkout compiles for
# about 30 s). A blackhole for connect timeouts: a listener on loopback
# whose accept queue is full, so the kernel drops every further SYN (the
# network namespace has no dummy or netfilter modules to do it otherwise).
set -u

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/notqmail.sh
source "$IT_DIR/notqmail.sh"
ip_block 62

ROOT=$T_TMP/qmail
LOCK=$ROOT/queue/lock
PROBE=$REPO_ROOT/build/tcpto-probe
ROUTES=${QR_ROUTES_BIN:-$REPO_ROOT/qmail-routes}
DEAD1=$(alloc_ip) # blackholed: the classic qmail-remote records it
DEAD2=$(alloc_ip) # blackholed: we record it, the classic one skips it
REFUSE=$(alloc_ip) # nothing listens: connection refused
BH_PID=
QENV=(env -i "PATH=$ROOT/bin:/usr/bin:/bin" "QMAIL_ROOT=$ROOT")
qenv() { "${QENV[@]}" "$@"; }

for b in "$PROBE" "$ROUTES" "$QR_BIN"; do
  if [[ ! -x $b ]]; then
    fail "built" "no $b (make all unit)"
    summary
    exit 1
  fi
done
notqmail_install "$ROOT" || fail_and_stop "notqmail: build and install" "see above"
ok "notqmail: built and installed"

check_eq "instpackage made tcpto: 1024 bytes" 1024 "$(stat -c %s "$LOCK/tcpto")"
tcpto_owner=$(stat -c %U:%G "$LOCK/tcpto")

# qmail-tcpto's line for an address: "IP timed out N seconds ago; # recent timeouts: C".
# blackhole READY IP...: a listener on IP:25 for each, its accept queue
# filled until a connect gets no answer; runs 60 s at most. Writes READY
# once every listener is full.
blackhole() {
  local ready=$1
  shift
  python3 "$IT_DIR/blackhole.py" "$ready" 25 60 "$@" &
  BH_PID=$!
}
trap '[[ -n $BH_PID ]] && kill "$BH_PID" 2>/dev/null; _lib_cleanup' EXIT

qmail_tcpto_line() { qenv "$ROOT/bin/qmail-tcpto" | grep -F "$1 timed out" || true; }
probe() { "$PROBE" "$LOCK" "$@"; }

# --- tcpto-pairs: made by qmail-routes tcpok, owned as tcpto ------------

out=$(qenv "$ROUTES" tcpok 2>&1)
check_eq "tcpok: both files cleared" \
  $'queue/lock/tcpto: cleared\nqueue/lock/tcpto-pairs: cleared' "$out"
check_eq "tcpok made tcpto-pairs: 12288 bytes" 12288 "$(stat -c %s "$LOCK/tcpto-pairs")"
check_eq "tcpto-pairs owned as tcpto" "$tcpto_owner" "$(stat -c %U:%G "$LOCK/tcpto-pairs")"
check_eq "tcpto-pairs mode" 644 "$(stat -c %a "$LOCK/tcpto-pairs")"

# --- ours -> qmail-tcpto ------------------------------------------------

now=$(date +%s)
probe --now $((now - 400)) timeout 192.0.2.1
probe --now $((now - 30)) timeout 192.0.2.1   # counted: 370 s > 120 s
probe --now $((now - 20)) timeout 192.0.2.1   # not counted: 10 s after the last
probe --now $((now - 100)) timeout 198.51.100.7
probe --now $((now - 10)) timeout 2001:db8::25            # IPv6: tcpto-pairs
probe --now $((now - 10)) timeout 192.0.2.9 127.0.62.7 elsewhere # a pair: tcpto-pairs

line=$(qmail_tcpto_line 192.0.2.1)
check_match "qmail-tcpto lists ours: address, age, count 2" \
  '^192\.0\.2\.1 timed out (3[0-9]) seconds ago; # recent timeouts: 2$' "$line"
line=$(qmail_tcpto_line 198.51.100.7)
check_match "qmail-tcpto lists ours: second address, count 1" \
  '^198\.51\.100\.7 timed out 1[0-9][0-9] seconds ago; # recent timeouts: 1$' "$line"
all=$(qenv "$ROOT/bin/qmail-tcpto")
check_eq "qmail-tcpto: exactly our two IPv4 records" 2 "$(grep -c 'timed out' <<<"$all")"
check_not_contains "qmail-tcpto: the pair is not in qmail's file" "192.0.2.9" "$all"

list=$(qenv "$ROUTES" tcpto)
check_match "qmail-routes tcpto: 192.0.2.1 skipped" '192\.0\.2\.1 +any +2 +[0-9]+ s ago +skipped' "$list"
check_match "qmail-routes tcpto: 198.51.100.7 tried last" \
  '198\.51\.100\.7 +any +1 +1 min [0-9]+ s ago +tried last' "$list"
check_match "qmail-routes tcpto: IPv6 from tcpto-pairs" '2001:db8::25 +any +1 ' "$list"
check_match "qmail-routes tcpto: the pair" '192\.0\.2\.9 +127\.0\.62\.7 +1 ' "$list"
check_match "our reader: skipped" '^skipped [0-9]+$' "$(probe check 192.0.2.1)"
check_match "our reader: demoted" '^demoted [0-9]+$' "$(probe check 198.51.100.7)"
check_match "our reader: the pair demoted" '^demoted [0-9]+$' "$(probe check 192.0.2.9 127.0.62.7)"
check_eq "our reader: the pair's remote from another local IP" none \
  "$(probe check 192.0.2.9 127.0.62.8)"

# A connect that answered resets the count, and qmail-tcpto stops listing it.
probe success 198.51.100.7
check_eq "after an answer: qmail-tcpto does not list it" "" "$(qmail_tcpto_line 198.51.100.7)"
check_eq "after an answer: our reader" none "$(probe check 198.51.100.7)"

# --- qmail-tcpok clears what we recorded --------------------------------

qenv "$ROOT/bin/qmail-tcpok" || fail "qmail-tcpok" "exit status $?"
check_eq "qmail-tcpok: qmail-tcpto lists nothing" "" "$(qenv "$ROOT/bin/qmail-tcpto")"
check_eq "qmail-tcpok: our reader sees nothing" none "$(probe check 192.0.2.1)"
check_eq "qmail-tcpok: the file is still 1024 bytes" 1024 "$(stat -c %s "$LOCK/tcpto")"
list=$(qenv "$ROUTES" tcpto)
check_not_contains "qmail-tcpok: qmail-routes tcpto no longer lists 192.0.2.1" "192.0.2.1 " "$list"
check_contains "qmail-tcpok leaves tcpto-pairs alone" "2001:db8::25" "$list"

# --- the classic qmail-remote and ours share the file -------------------

blackhole "$T_TMP/bh.ready" "$DEAD1" "$DEAD2"
wait_until 10 test -s "$T_TMP/bh.ready"
if [[ ! -s $T_TMP/bh.ready ]]; then
  fail "blackhole" "the listeners did not fill up"
else
  c=$ROOT/control
  echo testhost.example >"$c/me"
  echo 2 >"$c/timeoutconnect"
  printf 'dead1.test:%s\ndead2.test:%s\n' "$DEAD1" "$DEAD2" >"$c/smtproutes"
  msg=$T_TMP/msg
  printf 'Subject: t\n\nhello\n' >"$msg"

  # The classic one times out on DEAD1 and records it; we read it.
  qenv "$ROOT/bin/qmail-remote.orig" dead1.test s@example.org r@dead1.test <"$msg" >"$T_TMP/out1"
  check_contains "classic qmail-remote: Z, no connection" "establish an SMTP connection" \
    "$(tr '\0' '\n' <"$T_TMP/out1")"
  check_match "classic qmail-remote recorded it: qmail-tcpto" \
    "^${DEAD1//./\\.} timed out [0-9]+ seconds ago; # recent timeouts: 1\$" "$(qmail_tcpto_line "$DEAD1")"
  check_match "classic qmail-remote recorded it: our reader, demoted" '^demoted [0-9]+$' \
    "$(probe check "$DEAD1")"
  check_match "classic qmail-remote recorded it: qmail-routes tcpto" \
    "${DEAD1//./\\.} +any +1 +[0-9]+ s ago +tried last" "$(qenv "$ROUTES" tcpto)"

  # We record DEAD2 twice; the classic one then skips it without waiting.
  probe --now $((now - 200)) timeout "$DEAD2"
  probe timeout "$DEAD2"
  t0=${EPOCHREALTIME/./}
  qenv "$ROOT/bin/qmail-remote.orig" dead2.test s@example.org r@dead2.test <"$msg" >"$T_TMP/out2"
  ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
  check_contains "classic qmail-remote skips what we recorded: Z" "establish an SMTP connection" \
    "$(tr '\0' '\n' <"$T_TMP/out2")"
  if ((ms < 1000)); then ok "classic qmail-remote skips what we recorded: no connect (${ms} ms)"; else
    fail "classic qmail-remote skips what we recorded" "took $ms ms (timeoutconnect 2 s)"
  fi
  check_match "still count 2 (not counted again)" \
    "^${DEAD2//./\\.} timed out [0-9]+ seconds ago; # recent timeouts: 2\$" "$(qmail_tcpto_line "$DEAD2")"

  # qmail-routes tcpok IP forgets one address only.
  out=$(qenv "$ROUTES" tcpok "$DEAD2")
  check_eq "tcpok IP" "cleared 1 record of $DEAD2" "$out"
  check_eq "tcpok IP: gone from qmail-tcpto" "" "$(qmail_tcpto_line "$DEAD2")"
  check_match "tcpok IP: the other one stays" "^${DEAD1//./\\.} timed out" "$(qmail_tcpto_line "$DEAD1")"

  # --- our walk (lib/deliver.cc) ------------------------------------------
  # DEAD1 has count 1 (the classic one's timeout): demoted behind REFUSE.
  printf 'demote;;%s:25&%s:25;;\n' "$DEAD1" "$REFUSE" >"$c/routes"
  echo '*;demote.test;demote' >"$c/routemap"
  run_qmail_remote "$ROOT" demote.test s@example.org r@demote.test <"$msg"
  check_qr_clean "walk, demoted: clean"
  text=$(report_text)
  check_match "walk, demoted: the refused pair first, the demoted one last" \
    "${REFUSE//./\\.}:25 from default: connection refused.*${DEAD1//./\\.}:25 from default: timed out" "$text"
  check_match "walk, demoted: within 120 s, not counted again" \
    "recent timeouts: 1\$" "$(qmail_tcpto_line "$DEAD1")"

  # Count 2: skipped at once and named in the report.
  probe --now $((now - 200)) timeout "$DEAD2"
  probe timeout "$DEAD2"
  run_qmail_remote "$ROOT" dead2.test s@example.org r@dead2.test <"$msg"
  check_qr_clean "walk, skipped: clean"
  check_eq "walk, skipped: Z" Z "$(report_letters)"
  check_contains "walk, skipped: named in the attempt list" \
    "$DEAD2:25 from default: skipped: no connection within timeoutconnect, " "$(report_text)"
  if ((QR_MS < 1000)); then ok "walk, skipped: no connect (${QR_MS} ms)"; else
    fail "walk, skipped: no connect" "took $QR_MS ms (timeoutconnect 2 s)"
  fi

  # A pair mark skips that local IP only: the remote is tried from the other.
  L1=$(alloc_ip) L2=$(alloc_ip)
  probe --now $((now - 200)) timeout "$REFUSE" "$L1" elsewhere
  probe timeout "$REFUSE" "$L1" elsewhere
  printf 'pair;%s&%s;%s:25;;\n' "$L1" "$L2" "$REFUSE" >"$c/routes"
  echo '*;pair.test;pair' >"$c/routemap"
  run_qmail_remote "$ROOT" pair.test s@example.org r@pair.test <"$msg"
  check_qr_clean "walk, pair mark: clean"
  check_contains "walk, pair mark: skipped from the marked local IP" \
    "$REFUSE:25 from $L1: skipped: no connection within timeoutconnect" "$(report_text)"
  check_contains "walk, pair mark: tried from the other local IP" \
    "$REFUSE:25 from $L2: connection refused" "$(report_text)"

  # Our walk records a timeout in qmail's file, for qmail-tcpto to list.
  qenv "$ROOT/bin/qmail-tcpok"
  run_qmail_remote "$ROOT" dead1.test s@example.org r@dead1.test <"$msg"
  check_qr_clean "walk, timeout: clean"
  check_match "walk, timeout: recorded, qmail-tcpto lists it" \
    "^${DEAD1//./\\.} timed out [0-9]+ seconds ago; # recent timeouts: 1\$" \
    "$(qmail_tcpto_line "$DEAD1")"
fi

summary
