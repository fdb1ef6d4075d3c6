#!/bin/bash
# A hostile server (SPEC §1, §4, §7, §8, §9): tests/integration/hostile.py
# sends a 1 MB reply line, a line past the 1 MiB cap, an endless multi-line
# reply, a reply dripped one byte every 0.5 s past timeoutremote, a close
# after each command in turn, invalid base64 in a 334, and bytes after the
# 220 to STARTTLS. t_drop.sh already covers garbage codes, differing codes
# in a multi-line reply, drops and 421s at the plain stages: not repeated.
#
# Every run: exit 0, empty stderr, framing (check_qr_clean), the expected
# letter (the hostile server never yields K, except where a close after
# QUIT leaves a delivered message), a time bound derived from
# timeoutremote, and qmail-remote's peak RSS (/usr/bin/time -f %M) below
# RSS_LIMIT_KB. Route "H&E" (failover) shows the walk going on to a real
# Exim (t23next), route "H" alone the Z.
set -u
source "$(dirname "$0")/lib.sh"
ip_block 23

HS=$(alloc_ip)  # hostile.py
EX=$(alloc_ip)  # Exim, the next pair
LOC=$(alloc_ip) # qmail-remote's source address
USER=testuser PASS=testpass-S3cret
RSS_LIMIT_KB=${RSS_LIMIT_KB:-16384}

HOSTILE_PID=""
trap '[[ -n $HOSTILE_PID ]] && kill "$HOSTILE_PID" 2>/dev/null; _lib_cleanup' EXIT

exim_start t23next "$EX" 2525 tls=on auth=on || { fail "exim_start t23next" "see above"; summary; exit; }

# Another `run` may stop every Exim under tmp/: start it again when gone.
ensure_exim() {
  kill -0 "$(cat "$(exim_dir t23next)/exim.pid" 2>/dev/null)" 2>/dev/null && return
  echo "# Exim t23next was gone (stopped by another run?): starting it again"
  exim_start t23next "$EX" 2525 tls=on auth=on >/dev/null || fail "restart Exim t23next" "see above"
}

# qmail-remote under /usr/bin/time: the peak RSS (KiB) goes to a file;
# stdout, stderr and the exit status are qmail-remote's own.
RSS_FILE=$T_TMP/rss
if [[ -x /usr/bin/time ]]; then
  REAL_QR=$QR_BIN
  QR_BIN=$T_TMP/qr-rss
  printf '#!/bin/sh\nexec /usr/bin/time -f %%M -o %q %q "$@"\n' "$RSS_FILE" "$REAL_QR" >"$QR_BIN"
  chmod 755 "$QR_BIN"
else
  echo "# /usr/bin/time missing (apt-get install time): no memory checks"
fi
rss_kb() { tail -n 1 "$RSS_FILE" 2>/dev/null; }

hostile_start() {
  HLOG=$T_TMP/hostile-$((++HOSTILE_N)).log
  : >"$HLOG"
  python3 "$IT_DIR/hostile.py" --listen "$HS:2525" --log "$HLOG" --timeout 40 "$@" \
    2>>"$T_TMP/hostile.err" &
  HOSTILE_PID=$!
  wait_for_ready "$HLOG" && return 0
  echo "hostile_start: not ready" >&2
  return 1
}
HOSTILE_N=0
# Every connection the server took has its CLOSE line (and it took one).
hostile_closed() {
  local opened
  opened=$(grep -c ' CONNECT ' "$HLOG")
  ((opened > 0 && $(grep -c ' CLOSE ' "$HLOG") >= opened))
}
hostile_stop() {
  kill "$HOSTILE_PID" 2>/dev/null
  wait "$HOSTILE_PID" 2>/dev/null
  HOSTILE_PID=""
}

# root_for REMOTES [TIMEOUTREMOTE [USER PASS [OPTIONS]]]
root_for() {
  local root
  root=$(route_root "r1;$LOC;$1;${3:-};${4:-};${5:-tls=none}") || return 1
  [[ -n ${2:-} ]] && echo "$2" >"$root/control/timeoutremote"
  printf '%s\n' "$root"
}
FAILOVER=$(root_for "$HS:2525&$EX:2525")
ALONE=$(root_for "$HS:2525")
SLOW=$(root_for "$HS:2525&$EX:2525" 2)
SLOW_ALONE=$(root_for "$HS:2525" 2)

msg=$T_TMP/msg
printf 'From: s@example.org\nSubject: hostile\n\nbody line\n' >"$msg"

# run_case NAME ROOT MAX_MS HOSTILE-ARGS...: one run against a fresh
# hostile.py; Exim's store and log emptied first. Checks clean exit, the
# time bound and the memory bound.
RSS_MAX=0 RSS_MAX_CASE=""
run_case() {
  local name=$1 root=$2 max=$3 rss
  shift 3
  exim_clear t23next
  ensure_exim
  hostile_start "$@"
  : >"$RSS_FILE"
  run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
  wait_until 5 hostile_closed # the server logs its side of the close
  hostile_stop
  check_qr_clean "$name: exit 0, no stderr, framing"
  if ((QR_MS < max)); then ok "$name: bounded time (${QR_MS} ms < $max)"; else
    fail "$name: bounded time" "${QR_MS} ms, limit $max"
  fi
  if [[ -x /usr/bin/time ]]; then
    rss=$(rss_kb)
    if [[ $rss =~ ^[0-9]+$ ]] && ((rss < RSS_LIMIT_KB)); then
      ok "$name: bounded memory (peak RSS ${rss} KiB < $RSS_LIMIT_KB)"
      ((rss > RSS_MAX)) && RSS_MAX=$rss RSS_MAX_CASE=$name
    else
      fail "$name: bounded memory" "peak RSS '${rss}' KiB, limit $RSS_LIMIT_KB"
    fi
  fi
}

final() { report_final; }

# expect_next NAME: K from the Exim after the hostile server, stored once.
expect_next() {
  check_eq "$1: report letters" rK "$(report_letters)"
  check_contains "$1: K from the next pair" \
    "\\nroute=r1 local=$LOC remote=[$EX]:2525 " "$(report_text)"
  if wait_for_store t23next 1; then
    check_file_eq "$1: the next pair stored it" <(crlf "$msg") "$(stored_messages t23next)"
  else
    fail "$1: the next pair stored it" "nothing stored"
  fi
}

# expect_z NAME REASON: Z, the hostile server named with REASON, no K.
expect_z() {
  check_match "$1: Z" '^Z ' "$(final)"
  check_not_contains "$1: never K" K "$(report_letters)"
  [[ -n ${2:-} ]] && check_contains "$1: reason" "$2" "$(final)"
}

# expect_z_dup NAME: Z "Possible duplicate!", the Exim got nothing.
expect_z_dup() {
  expect_z "$1" "Possible duplicate!"
  exim_settle t23next
  check_eq "$1: the next pair got nothing" 0 "$(stored_messages t23next | wc -l)"
}

FAST=8000         # nothing here waits for a timeout (timeoutremote is 10 s; at most 1 s measured)
SLOW_MAX=6500     # timeoutremote 2 s: at most 2 x 2 s, plus the Exim

# --- a 1 MB reply line ----------------------------------------------------
# Within the 1 MiB line cap: read, the first 5000 bytes kept.
run_case "1 MB greeting line, 554" "$FAILOVER" "$FAST" --at connect --send longline:554:1000000
expect_next "1 MB greeting line, 554"
check_contains "1 MB greeting line: the server wrote it all" "SENT longline 1000002" "$(cat "$HLOG")"

run_case "1 MB greeting line, alone" "$ALONE" "$FAST" --at connect --send longline:554:1000000
expect_z "1 MB greeting line, alone"
# SPEC §4 wants every attempt listed; lib/deliver.cc (Walk::give_up) drops
# an attempt line longer than its 3000-byte budget whole, leaving "...".
# Reported, not fixed here (not this suite's code): noted, not failed.
if [[ $(final) == *"$HS:2525 from $LOC: greeting failed: 554 xxx"* ]]; then
  ok "1 MB greeting line, alone: the attempt is listed, its text cut"
else
  fail "1 MB greeting line, alone: the attempt is listed, its text cut" "$(_show "$(final)")"
fi
size=$(wc -c <"$QR_OUT")
if ((size < 6000)); then ok "1 MB greeting line, alone: report capped ($size bytes)"; else
  fail "1 MB greeting line, alone: report capped" "$size bytes"
fi

run_case "1 MB 451 after the dot" "$FAILOVER" "$FAST" --at dot --send longline:451:1000000
expect_z "1 MB 451 after the dot" "failed after I sent the message"
check_eq "1 MB 451 after the dot: r then Z" rZ "$(report_letters)"
size=$(wc -c <"$QR_OUT")
if ((size < 6000)); then ok "1 MB 451 after the dot: report capped ($size bytes)"; else
  fail "1 MB 451 after the dot: report capped" "$size bytes"
fi
check_eq "1 MB 451 after the dot: the next pair got nothing" 0 "$(stored_messages t23next | wc -l)"

# Past the cap: 2 MiB with no LF is a protocol error, the next pair.
run_case "2 MiB without LF to MAIL" "$FAILOVER" "$FAST" --at mail --send nolf:2097152
expect_next "2 MiB without LF to MAIL"
run_case "2 MiB without LF to MAIL, alone" "$ALONE" "$FAST" --at mail --send nolf:2097152
expect_z "2 MiB without LF to MAIL, alone" "MAIL: server sent a line longer than 1048576 bytes"

# --- an endless multi-line reply --------------------------------------------
run_case "endless 250- to EHLO" "$FAILOVER" "$FAST" --at ehlo --send endless:250
expect_next "endless 250- to EHLO"
check_match "endless 250- to EHLO: the client stopped reading" 'SENT endless [0-9]+' "$(cat "$HLOG")"
run_case "endless 250- to EHLO, alone" "$ALONE" "$FAST" --at ehlo --send endless:250
expect_z "endless 250- to EHLO, alone" "reply longer than 1000 lines"
run_case "endless 220- greeting" "$FAILOVER" "$FAST" --at connect --send endless:220
expect_next "endless 220- greeting"
run_case "endless 250- after the dot" "$FAILOVER" "$FAST" --at dot --send endless:250
expect_z_dup "endless 250- after the dot"

# --- a slow drip: one byte every 0.5 s, timeoutremote 2 s ------------------
# Every read gets a byte well within timeoutremote; only a deadline for the
# whole reply ends it.
slow_bound() {
  if ((QR_MS >= 2000)); then ok "$1: waited timeoutremote (${QR_MS} ms)"; else
    fail "$1: waited timeoutremote" "${QR_MS} ms"
  fi
}
run_case "drip greeting" "$SLOW" "$SLOW_MAX" --at connect --send drip:220
expect_next "drip greeting"
slow_bound "drip greeting"
run_case "drip greeting, alone" "$SLOW_ALONE" "$SLOW_MAX" --at connect --send drip:220
expect_z "drip greeting, alone" "greeting: timed out after 2 s"
slow_bound "drip greeting, alone"
run_case "drip reply to RCPT" "$SLOW" "$SLOW_MAX" --at rcpt --send drip:250
expect_next "drip reply to RCPT"
slow_bound "drip reply to RCPT"
run_case "drip after the dot" "$SLOW" "$SLOW_MAX" --at dot --send drip:250
expect_z_dup "drip after the dot"
slow_bound "drip after the dot"

# --- a close after each command in turn -------------------------------------
# AUTH CRAM-MD5 (allowed in cleartext) so the exchange has its own lines:
# 1 EHLO, 2 AUTH, 3 the CRAM-MD5 answer, 4 MAIL, 5 RCPT, 6 DATA, 7 the body
# and its dot, 8 QUIT. Up to 6 the next pair gets the message; at 7 the dot
# was sent ("Possible duplicate!"); at 8 the message was delivered and QUIT
# is not awaited: K from the hostile server, the one K allowed here.
AUTHF=$(root_for "$HS:2525&$EX:2525" "" "$USER" "$PASS")
names=("" EHLO AUTH "CRAM-MD5 answer" MAIL RCPT DATA "body and dot" QUIT)
for n in 1 2 3 4 5 6 7 8; do
  c="close after command $n (${names[n]})"
  run_case "$c" "$AUTHF" "$FAST" --auth CRAM-MD5 --close-after "$n"
  check_contains "$c: the server closed there" "1 CLOSE close-after $n" "$(cat "$HLOG")"
  if ((n <= 6)); then
    expect_next "$c"
  elif ((n == 7)); then
    expect_z_dup "$c"
  else
    check_eq "$c: r then K" rK "$(report_letters)"
    check_contains "$c: K from the hostile server" "remote=[$HS]:2525 tls=none auth=CRAM-MD5" "$(final)"
  fi
done
run_case "close at HELO" "$FAILOVER" "$FAST" --ehlo-reject --close-at helo
expect_next "close at HELO"
check_contains "close at HELO: HELO was sent" "1 C HELO testhost.example" "$(cat "$HLOG")"
TLSMAY=$(root_for "$HS:2525&$EX:2525" "" "" "" "tls=may")
run_case "close at STARTTLS" "$TLSMAY" "$FAST" --ehlo STARTTLS --close-at starttls
expect_next "close at STARTTLS"
check_contains "close at STARTTLS: STARTTLS was sent" "1 C STARTTLS" "$(cat "$HLOG")"
check_eq "close at STARTTLS: one connection (no plaintext retry)" 1 "$(grep -c ' CONNECT ' "$HLOG")"

# --- invalid base64 in a 334 --------------------------------------------------
# The client answers "*" (RFC 4954 §4) and the password never goes out,
# not even base64-encoded, not even when the server asks again.
PASS64=$(printf '%s' "$PASS" | base64)
USER64=$(printf '%s' "$USER" | base64)
LOGINF=$(root_for "$HS:2525&$EX:2525" "" "$USER" "$PASS" "tls=none,auth-cleartext=yes")
LOGINA=$(root_for "$HS:2525" "" "$USER" "$PASS" "tls=none,auth-cleartext=yes")
no_password() {
  local log
  log=$(cat "$HLOG")
  check_not_contains "$1: no base64 password sent" "$PASS64" "$log"
  check_not_contains "$1: no password sent" "$PASS" "$log"
  check_not_contains "$1: no password in the report" "$PASS" "$(report_text)"
  check_not_contains "$1: no MAIL on that connection" "1 C MAIL" "$log"
}
c="LOGIN, bad first 334"
run_case "$c" "$LOGINF" "$FAST" --auth LOGIN --bad-challenge 1
expect_next "$c"
check_contains "$c: answered *" $'1 C AUTH LOGIN\n1 C *\n' "$(cat "$HLOG")"
check_not_contains "$c: no user name sent" "$USER64" "$(cat "$HLOG")"
no_password "$c"
c="LOGIN, bad second 334"
run_case "$c" "$LOGINF" "$FAST" --auth LOGIN --bad-challenge 2
expect_next "$c"
check_contains "$c: user, then *" $"1 C $USER64"$'\n1 C *\n' "$(cat "$HLOG")"
no_password "$c"
c="LOGIN, bad 334, alone"
run_case "$c" "$LOGINA" "$FAST" --auth LOGIN --bad-challenge 1
expect_z "$c" "AUTH LOGIN"
no_password "$c"
c="CRAM-MD5, bad 334"
run_case "$c" "$AUTHF" "$FAST" --auth CRAM-MD5 --bad-challenge 1
expect_next "$c"
check_contains "$c: answered *" $'1 C AUTH CRAM-MD5\n1 C *\n' "$(cat "$HLOG")"
no_password "$c"
c="LOGIN, bad 334, then 334 Password: after *"
run_case "$c" "$LOGINF" "$FAST" --auth LOGIN --bad-challenge 1 --after-cancel 334
expect_next "$c"
check_contains "$c: answered *" $'1 C AUTH LOGIN\n1 C *\n' "$(cat "$HLOG")"
no_password "$c"
c="CRAM-MD5, bad 334, then 334 after *"
run_case "$c" "$AUTHF" "$FAST" --auth CRAM-MD5 --bad-challenge 1 --after-cancel 334
expect_next "$c"
no_password "$c"

# --- bytes after the 220 to STARTTLS, in a later segment ----------------------
# starttls_inject.py (t_tls.sh) sends them with the 220; here they come
# 0.2 s later, when the client is already in its handshake: they must end
# it (the bytes are not TLS), never be read as SMTP.
TLSENC=$(root_for "$HS:2525&$EX:2525" "" "" "" "tls=encrypt")
c="bytes 0.2 s after the STARTTLS 220, tls=encrypt"
run_case "$c" "$TLSENC" "$FAST" --ehlo STARTTLS --at starttls --send later
expect_next "$c"
check_match "$c: the client sent a ClientHello, no SMTP" '1 RAW \\x16\\x03' "$(cat "$HLOG")"
check_not_contains "$c: no MAIL to the hostile server" "C MAIL" "$(cat "$HLOG")"
TLSENCA=$(root_for "$HS:2525" "" "" "" "tls=encrypt")
c="bytes 0.2 s after the STARTTLS 220, tls=encrypt, alone"
run_case "$c" "$TLSENCA" "$FAST" --ehlo STARTTLS --at starttls --send later
expect_z "$c" "$HS:2525 from $LOC: TLS handshake failed"
check_eq "$c: one connection (no plaintext retry)" 1 "$(grep -c ' CONNECT ' "$HLOG")"
check_not_contains "$c: no MAIL to the hostile server" "C MAIL" "$(cat "$HLOG")"

echo "# peak RSS: largest ${RSS_MAX} KiB ($RSS_MAX_CASE), limit $RSS_LIMIT_KB KiB"
summary
