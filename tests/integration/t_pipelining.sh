#!/bin/bash
# PIPELINING (SPEC §7, RFC 2920) measured on the wire: delay_proxy.py sits
# between qmail-remote and Exim, delays each direction by D, and logs every
# chunk the client wrote and every chunk of the server's it was given. A
# "flight" is what the client wrote between two server chunks (see
# doc/TESTING.md): with PIPELINING, MAIL, every RCPT and DATA are one
# flight, and a delivery is greeting + 3 round trips (EHLO, MAIL..DATA,
# body+dot) = 7 D, QUIT not awaited. Without it, one flight per command.
# Round trips are counted (flights), not timed: the wall time is checked
# only from below (the link really was that slow) and against
# timeoutremote (no timeout waited out), so a loaded machine cannot fail
# it. That QUIT is not awaited is read from the order of the proxy's log.
set -u
source "$(dirname "$0")/lib.sh"
ip_block 21

D=0.1      # one-way delay, seconds
D_MS=100

# proxy_start NAME LISTEN_IP:PORT UPSTREAM_IP:PORT: one connection, then exits.
proxy_start() {
  local name=$1 log=$T_TMP/proxy-$1.log
  : >"$log"
  python3 "$IT_DIR/delay_proxy.py" --listen "$2" --to "$3" --log "$log" \
    --delay "$D" --timeout 25 --max-conns 1 &
  PROXY_PID=$!
  PROXY_LOG=$log
  wait_for_ready "$log" && return 0
  echo "proxy_start $name: not ready" >&2
  return 1
}

# Waits for the proxy to end (it exits after its one connection).
proxy_wait() {
  wait "$PROXY_PID" 2>/dev/null
}

flights() {
  python3 "$IT_DIR/delay_proxy.py" --flights "$PROXY_LOG"
}

# check_quit_not_awaited NAME: the client's end of stream (END C) is logged
# before the server's 221 reaches it: qmail-remote closed after QUIT
# without waiting for the reply. Had it waited, the 221 would come first:
# the proxy logs a server chunk before the client can have it.
check_quit_not_awaited() {
  local first
  first=$(grep -m 1 -E '^[0-9]+ 1 (END C$|S [0-9]+ 221[ -])' "$PROXY_LOG" | cut -d' ' -f3-4)
  check_eq "$1: QUIT not awaited (end of stream before the 221)" "END C" "$first"
}

# check_wall_time NAME ROUND_TRIPS: at least ROUND_TRIPS x 2 D plus the
# greeting's D (the delays were real), and less than timeoutremote (10 s):
# no timeout was waited out. Not an upper bound on the round trips: the
# flights count those.
check_wall_time() {
  local min=$(((2 * $2 + 1) * D_MS))
  if ((QR_MS >= min && QR_MS < 10000)); then
    ok "$1: wall time ${QR_MS} ms in [$((2 * $2 + 1)) D, 10 s) with D=${D_MS} ms"
  else
    fail "$1: wall time in [$((2 * $2 + 1)) D, 10 s)" "${QR_MS} ms with D=${D_MS} ms"
  fi
}

# SIZE= as SPEC §7 computes it for an LF message: bytes plus one per LF.
wire_size() {
  echo $(($(wc -c <"$1") + $(tr -cd '\n' <"$1" | wc -c)))
}

MX=$(alloc_ip)    # Exim with PIPELINING
MX2=$(alloc_ip)   # Exim without
PX=$(alloc_ip)    # the proxy's address
LOC=$(alloc_ip)   # qmail-remote's source address
exim_start t21pipe "$MX" 2525 || { fail "exim_start t21pipe" "see above"; summary; exit; }
exim_start t21nopipe "$MX2" 2525 pipelining=off || { fail "exim_start t21nopipe" "see above"; summary; exit; }

new_root() {
  local root
  root=$(qmail_root_new)
  printf 'r1;%s;%s:2525;;;tls=none\n' "$LOC" "$PX" >"$root/control/routes"
  printf '*;*;r1\n' >"$root/control/routemap"
  printf '%s\n' "$root"
}

msg=$T_TMP/msg
printf 'From: s@example.org\nSubject: pipelining\n\nline one\n.\nline three\n' >"$msg"
size=$(wire_size "$msg")
# The body flight as the proxy shows it: CRLF, ".." stuffed, then the dot.
body_flight='From: s@example.org\r\nSubject: pipelining\r\n\r\nline one\r\n..\r\nline three\r\n.\r\n'
body_bytes=$(($(crlf "$msg" | wc -c) + 1 + 3))

# --- PIPELINING, one recipient --------------------------------------------
root=$(new_root)
proxy_start one "$PX:2525" "$MX:2525"
run_qmail_remote "$root" dest.test s@example.org one@dest.test <"$msg"
proxy_wait
check_qr_clean "one rcpt: exit 0, no stderr, framing"
check_eq "one rcpt: report letters" rK "$(report_letters)"
group="MAIL FROM:<s@example.org> SIZE=$size\\r\\nRCPT TO:<one@dest.test>\\r\\nDATA\\r\\n"
expected="23 EHLO testhost.example\\r\\n
$(printf '%b' "$group" | wc -c) $group
$body_bytes $body_flight
6 QUIT\\r\\n"
check_eq "one rcpt: flights EHLO | MAIL+RCPT+DATA | body+dot | QUIT" "$expected" "$(flights)"
check_quit_not_awaited "one rcpt"
check_wall_time "one rcpt" 3
wait_for_store t21pipe 1
check_file_eq "one rcpt: stored bytes" <(crlf "$msg") "$(stored_messages t21pipe)"
check_match "one rcpt: Exim logged a pipelining client (L)" " P=esmtp L " "$(exim_received t21pipe)"

# --- PIPELINING, ten recipients, one refused in the middle ----------------
exim_clear t21pipe
root=$(new_root)
rcpts=()
group="MAIL FROM:<s@example.org> SIZE=$size\\r\\n"
for i in 1 2 3 4 5 6 7 8 9 10; do
  if ((i == 5)); then r=reject550-r5@dest.test; else r=r$i@dest.test; fi
  rcpts+=("$r")
  group+="RCPT TO:<$r>\\r\\n"
done
group+='DATA\r\n'
group_len=$(printf '%b' "$group" | wc -c)
proxy_start ten "$PX:2525" "$MX:2525"
run_qmail_remote "$root" dest.test s@example.org "${rcpts[@]}" <"$msg"
proxy_wait
check_qr_clean "ten rcpts: exit 0, no stderr, framing"
check_eq "ten rcpts: report letters (5th refused)" rrrrhrrrrrK "$(report_letters)"
expected="23 EHLO testhost.example\\r\\n
$group_len $group
$body_bytes $body_flight
6 QUIT\\r\\n"
check_eq "ten rcpts: MAIL, ten RCPT and DATA in one flight; 4 flights" "$expected" "$(flights)"
check_quit_not_awaited "ten rcpts"
check_wall_time "ten rcpts" 3
wait_for_store t21pipe 9
check_eq "ten rcpts: nine copies stored" 9 "$(stored_messages t21pipe | wc -l)"
bad=0
while read -r f; do cmp -s <(crlf "$msg") "$f" || bad=$((bad + 1)); done < <(stored_messages t21pipe)
check_eq "ten rcpts: every copy byte for byte" 0 "$bad"
check_eq "ten rcpts: the refused one not stored" "" "$(stored_messages t21pipe | grep -F reject550)"

# --- PIPELINING, every recipient refused: DATA answered 503, no body -------
exim_clear t21pipe
root=$(new_root)
proxy_start none "$PX:2525" "$MX:2525"
run_qmail_remote "$root" dest.test s@example.org reject550-a@dest.test reject550-b@dest.test <"$msg"
proxy_wait
check_qr_clean "all refused: exit 0, no stderr, framing"
check_eq "all refused: report letters" hhD "$(report_letters)"
group="MAIL FROM:<s@example.org> SIZE=$size\\r\\nRCPT TO:<reject550-a@dest.test>\\r\\nRCPT TO:<reject550-b@dest.test>\\r\\nDATA\\r\\n"
expected="23 EHLO testhost.example\\r\\n
$(printf '%b' "$group" | wc -c) $group
6 QUIT\\r\\n"
check_eq "all refused: no body sent, 3 flights" "$expected" "$(flights)"
check_eq "all refused: nothing stored" 0 "$(stored_messages t21pipe | wc -l)"

# --- no PIPELINING: lock-step, still delivered ----------------------------
root=$(new_root)
proxy_start off "$PX:2525" "$MX2:2525"
run_qmail_remote "$root" dest.test s@example.org x1@dest.test x2@dest.test x3@dest.test <"$msg"
proxy_wait
check_qr_clean "pipelining=off: exit 0, no stderr, framing"
check_eq "pipelining=off: report letters" rrrK "$(report_letters)"
m1="MAIL FROM:<s@example.org> SIZE=$size\\r\\n"
expected="23 EHLO testhost.example\\r\\n
$(printf '%b' "$m1" | wc -c) $m1
24 RCPT TO:<x1@dest.test>\\r\\n
24 RCPT TO:<x2@dest.test>\\r\\n
24 RCPT TO:<x3@dest.test>\\r\\n
6 DATA\\r\\n
$body_bytes $body_flight
6 QUIT\\r\\n"
check_eq "pipelining=off: one flight per command (8 flights)" "$expected" "$(flights)"
check_quit_not_awaited "pipelining=off"
# greeting + 7 round trips (EHLO MAIL RCPT*3 DATA body) = 15 D.
check_wall_time "pipelining=off" 7
wait_for_store t21nopipe 3
bad=0 n=0
while read -r f; do
  n=$((n + 1))
  cmp -s <(crlf "$msg") "$f" || bad=$((bad + 1))
done < <(stored_messages t21nopipe)
check_eq "pipelining=off: three copies stored" 3 "$n"
check_eq "pipelining=off: every copy byte for byte" 0 "$bad"
check_not_contains "pipelining=off: Exim logged no pipelining" " L " "$(exim_received t21nopipe)"

# --- refused group answered 354 anyway: ended with a lone dot -------------
# RFC 2920 §3.1 / SPEC §7: with every RCPT (or MAIL) refused, a 354 to the
# pipelined DATA still opens a message, which must be closed empty.
SC=$(alloc_ip)
for c in "rcpt=550 5.1.1 no such user" "mail=550 5.7.1 go away"; do
  slog=$T_TMP/script-${c%%=*}.log
  : >"$slog"
  python3 "$IT_DIR/smtp_script.py" --listen "$SC:2525" --log "$slog" --timeout 10 \
    --reply "${c%%=*}=${c#*=}\r\n" &
  spid=$!
  wait_for_ready "$slog"
  root=$(qmail_root_new)
  printf 'r1;%s;%s:2525;;\n' "$LOC" "$SC" >"$root/control/routes"
  printf '*;*;r1\n' >"$root/control/routemap"
  run_qmail_remote "$root" dest.test s@example.org a@dest.test b@dest.test <"$msg"
  wait_for_line 5 "$slog" '^1 CLOSE '
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  name="354 after refused ${c%%=*}"
  check_qr_clean "$name: exit 0, no stderr, framing"
  if [[ $c == rcpt* ]]; then
    check_eq "$name: report letters" hhD "$(report_letters)"
  else
    check_eq "$name: report letters" D "$(report_letters)"
    check_contains "$name: vanilla's text" "but sender was rejected." "$(report_text)"
  fi
  check_eq "$name: one pipelined group, then an empty message and QUIT" \
    "1 C MAIL FROM:<s@example.org>
1 C RCPT TO:<a@dest.test>
1 C RCPT TO:<b@dest.test>
1 C DATA
1 BODY 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
1 DOT
1 C QUIT" "$(grep -E '^1 (C [MRDQ]|BODY|DOT)' "$slog")"
done

summary
