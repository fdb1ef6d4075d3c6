#!/bin/bash
# The walk over routes, local IPs and remote hosts (SPEC §3, §3.3, §4, §10),
# against real Exim servers on loopback. Which server got the message, from
# which source address, is read from the servers' own logs and stores.
set -u
source "$(dirname "$0")/lib.sh"
ip_block 11

A=$(alloc_ip) B=$(alloc_ip) C=$(alloc_ip) G=$(alloc_ip) DEAD=$(alloc_ip)
L1=$(alloc_ip) L2=$(alloc_ip) L3=$(alloc_ip) L4=$(alloc_ip)
NOTHERE=192.0.2.1 # TEST-NET-1: not on this machine, so bind fails
exim_start t11a "$A" 25
exim_start t11b "$B" 25
exim_start t11c "$C" 2525
exim_start t11g "$G" 25 greeting=421

msg=$T_TMP/msg
printf 'Subject: walk\nX-Test: 1\n\nhello\n' >"$msg"

# The source address Exim NAME logged for its last received message.
last_source() {
  exim_received "$1" | tail -n 1 | sed -n 's/.*H=[^[]*\[\([0-9.]*\)\]:.*/\1/p'
}
deliver() {  # ROOT [SENDER [RECIPS...]]
  local root=$1
  run_qmail_remote "$root" dest.test "${2:-s@example.org}" "${@:3}" <"$msg"
}
count() { stored_messages "$1" | wc -l; }
# Exim stores a message just after its 250 to the final dot: wait (at most
# 5 s) until servers A and B hold N copies between them.
wait_total() {
  wait_until 5 _total_ab "$1"
}
_total_ab() { (($(count t11a) + $(count t11b) >= $1)); }

# --- route2-like: one local IP, one relay; the report's route line (SPEC §10)
root=$(route_root "r;$L1;$A:25;;\n")
deliver "$root" s@example.org r@dest.test
check_qr_clean "single pair: clean"
check_eq "single pair: letters" rK "$(report_letters)"
check_contains "single pair: vanilla text" "K $A accepted message.\\nRemote host said: 250" \
  "$(report_text)"
check_contains "single pair: route line" \
  "route=r local=$L1 remote=[$A]:25 tls=none auth=none" "$(report_text)"
wait_for_store t11a 1
check_eq "single pair: source address" "$L1" "$(last_source t11a)"
check_eq "single pair: envelope" $'sender <s@example.org>\nrecipient <r@dest.test>' \
  "$(stored_envelope "$(stored_messages t11a | tail -n 1)")"

# --- failover after connection refused, and after a failed bind
root=$(route_root "r;$L1;$DEAD&$B;;\n")
deliver "$root" s@example.org r@dest.test
check_eq "failover after refused: letters" rK "$(report_letters)"
check_contains "failover after refused: B took it" "remote=[$B]:25" "$(report_text)"
# SPEC §10: the K lists the failed pair, so qmail-send's log shows the failover.
check_contains "failover after refused: the K names the refused attempt" \
  'Failed before this attempt:\n'"$DEAD:25 from $L1: connection refused" "$(report_text)"
root=$(route_root "r;$NOTHERE&$L2;$A;;\n")
deliver "$root" s@example.org r@dest.test
check_eq "failover after failed bind: letters" rK "$(report_letters)"
check_contains "failover after failed bind: second local IP" "local=$L2" "$(report_text)"
exim_settle t11a
check_eq "failover after failed bind: A saw L2" "$L2" "$(last_source t11a)"

# --- 421 greeting: next host (SPEC §4)
root=$(route_root "r;$L1;$G&$A;;\n")
deliver "$root" s@example.org r@dest.test
check_eq "421 greeting: next host" rK "$(report_letters)"
check_contains "421 greeting: A took it" "remote=[$A]:25" "$(report_text)"

# --- route5: local IPs in failover inside each remote (remote-major, SPEC §4).
# Everything fails, so the Z report lists the attempts in the order made.
root=$(route_root "r;$NOTHERE&$L3&$L4;$DEAD&$DEAD:2526;;\n")
deliver "$root" s@example.org r@dest.test
check_qr_clean "route5 all fail: clean"
check_eq "route5 all fail: Z" Z "$(report_letters)"
order=$(report_text | grep -o "$DEAD:[0-9]* from [0-9.]*" | tr '\n' ',')
check_eq "route5 all fail: attempts remote-major" \
  "$DEAD:25 from $NOTHERE,$DEAD:25 from $L3,$DEAD:25 from $L4,$DEAD:2526 from $NOTHERE,$DEAD:2526 from $L3,$DEAD:2526 from $L4," \
  "$order"
check_contains "route5 all fail: vanilla text" \
  "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)" "$(report_text)"
check_contains "route5 all fail: bind failure named" "cannot bind $NOTHERE" "$(report_text)"
# ...and with a live second relay on port 2525, the third local IP delivers.
root=$(route_root "r;$NOTHERE&$L3&$L4;$DEAD&$C:2525;;\n")
deliver "$root" s@example.org r@dest.test
check_eq "route5: delivered" rK "$(report_letters)"
check_contains "route5: second remote, first bindable local" "local=$L3 remote=[$C]:2525" \
  "$(report_text)"

# --- round robin over remotes and local IPs; weights
root=$(route_root "r;$L1|$L2;$A|$B;;\n")
exim_clear t11a
exim_clear t11b
for _ in $(seq 30); do deliver "$root" s@example.org r@dest.test; done
wait_total 30
na=$(count t11a) nb=$(count t11b)
check_eq "round robin: 30 delivered" 30 "$((na + nb))"
((na > 0 && nb > 0)) && ok "round robin: both remotes used ($na/$nb)" ||
  fail "round robin: both remotes used" "a=$na b=$nb"
srcs=$( (exim_received t11a; exim_received t11b) | grep -oE "\[($L1|$L2)\]" | sort -u | tr -d '\n')
check_eq "round robin: both local IPs used" "[$L1][$L2]" "$srcs"

root=$(route_root "r;$L1;$A|$A|$B;;\n")
exim_clear t11a
exim_clear t11b
for _ in $(seq 90); do deliver "$root" s@example.org r@dest.test; done
wait_total 90
na=$(count t11a) nb=$(count t11b)
# A listed twice is first 2/3 of the time: 60 of 90 expected; binomial
# sd ~4.5, so 45..75 fails only by a >3 sd fluke.
((na + nb == 90 && na >= 45 && na <= 75)) && ok "weights: A about twice B ($na/$nb)" ||
  fail "weights: A about twice B" "a=$na b=$nb"

# --- routemap: each match form, first match wins (SPEC §3.2)
routes="rA;$L1;$A;;\nrB;$L1;$B;;\nrC;$L1;$C:2525;;\n"
map="vip@brand.test;*;rB\n<>;*;rC\nbrand.test;partner.test;rC\nbrand.test;*;rA\n.sub.test;*;rB\n*;partner.test;rB\n*;bob@far.test;rC\n*;*;rA\n"
root=$(route_root "$routes" "$map")
mapcase() {  # NAME SENDER RECIP EXPECTED-ROUTE EXPECTED-REMOTE
  run_qmail_remote "$root" "${3#*@}" "$2" "$3" <"$msg"
  check_contains "routemap $1" "route=$4 local=$L1 remote=[$5]" "$(report_text)"
}
mapcase "sender address" VIP@Brand.Test r@partner.test rB "$B"
mapcase "null sender" "" r@partner.test rC "$C"
# Exim refuses the double-bounce sender with 501: a D, whose report names
# only the remote (SPEC §10), which is rC's alone.
run_qmail_remote "$root" x.test "#@[]" r@x.test <"$msg"
check_contains "routemap double bounce: rC's server, D report" "D " "$(report_text)"
check_contains "routemap double bounce: rC's remote" "remote=[$C]:2525 tls=none" "$(report_text)"
mapcase "sender+recipient domain" x@brand.test r@partner.test rC "$C"
mapcase "sender domain" x@brand.test r@other.test rA "$A"
mapcase "sender subdomain" x@a.sub.test r@other.test rB "$B"
mapcase "sender parent is not a subdomain" x@sub.test r@other.test rA "$A"
mapcase "recipient domain" x@else.test r@partner.test rB "$B"
mapcase "recipient address" x@else.test bob@far.test rC "$C"
mapcase "wildcard" x@else.test r@other.test rA "$A"

# --- smtproutes (vanilla syntax) and defaultoutgoingip (SPEC §3.3)
root=$(qmail_root_new)
printf 'dest.test:%s\n.sub.test:[%s]:2525\n:%s\n' "$A" "$C" "$B" >"$root/control/smtproutes"
echo "$L4" >"$root/control/defaultoutgoingip"
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
check_contains "smtproutes exact" "route=smtproutes local=$L4 remote=[$A]:25" "$(report_text)"
exim_settle t11a
check_eq "defaultoutgoingip used for smtproutes" "$L4" "$(last_source t11a)"
run_qmail_remote "$root" x.sub.test s@example.org r@x.sub.test <"$msg"
check_contains "smtproutes suffix + port" "remote=[$C]:2525" "$(report_text)"
run_qmail_remote "$root" else.test s@example.org r@else.test <"$msg"
check_contains "smtproutes default" "remote=[$B]:25" "$(report_text)"
# routemap wins over smtproutes
printf 'r;;%s:2525;;\n' "$C" >"$root/control/routes"
echo '*;dest.test;r' >"$root/control/routemap"
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
check_contains "routemap before smtproutes; empty LOCAL takes defaultoutgoingip" \
  "route=r local=$L4 remote=[$C]:2525" "$(report_text)"

# --- what the server answers (SPEC §4)
root=$(route_root "r;$L1;$A;;\n")
deliver "$root" s@example.org ok@dest.test reject550@dest.test defer451@dest.test full552@dest.test
check_qr_clean "rcpt mix: clean"
check_eq "rcpt mix: r h s s then K" rhssK "$(report_letters)"
check_contains "rcpt mix: vanilla rcpt text" "h $A does not like recipient.\\nRemote host said: 550" \
  "$(report_text)"
deliver "$root" s@example.org reject550@dest.test reject550b@dest.test
check_eq "all rcpts 5xx: D" hhD "$(report_letters)"
deliver "$root" s@example.org reject550@dest.test defer451@dest.test
check_eq "rcpts 5xx and 4xx: Z" hsZ "$(report_letters)"
deliver "$root" badsender550@example.org r@dest.test
check_eq "sender 550: D" D "$(report_letters)"
check_contains "sender 550: vanilla text" "Connected to $A but sender was rejected." \
  "$(report_text)"
deliver "$root" badsender451@example.org r@dest.test
check_eq "sender 451: Z" Z "$(report_letters)"
deliver "$root" s@example.org predata554@dest.test
check_eq "DATA 554: D" rD "$(report_letters)"
check_contains "DATA 554: text" "$A failed on DATA command." "$(report_text)"
deliver "$root" s@example.org predata451@dest.test
check_eq "DATA 451: Z" rZ "$(report_letters)"
printf 'Subject: x\nX-Test-Reject: 554\n\nbody\n' >"$T_TMP/rej554"
printf 'Subject: x\nX-Test-Reject: 451\n\nbody\n' >"$T_TMP/rej451"
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$T_TMP/rej554"
check_eq "final dot 554: D" rD "$(report_letters)"
check_contains "final dot 554: text" "$A failed after I sent the message." "$(report_text)"
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$T_TMP/rej451"
check_eq "final dot 451: Z" rZ "$(report_letters)"
# A 5xx from the first host is final: the second is not tried (SPEC §4).
root=$(route_root "r;$L1;$A&$B;;\n")
exim_clear t11b
deliver "$root" badsender550@example.org r@dest.test
check_eq "5xx is final: D" D "$(report_letters)"
check_eq "5xx is final: B never contacted" 0 "$(exim_log t11b | grep -c "$L1")"

# --- IPv6 (SPEC §3.1 [IPv6]:port, §4 family matching), with the scripted
# server on ::1 (Exim's harness takes 127.x only).
V6PORT=2611
v6log=$T_TMP/v6.log
: >"$v6log"
python3 "$IT_DIR/smtp_script.py" --listen "[::1]:$V6PORT" --log "$v6log" --timeout 30 &
v6pid=$!
wait_for_ready "$v6log"
root=$(route_root "r;::1;[::1]:$V6PORT;;\n")
deliver "$root" s@example.org r@dest.test
check_qr_clean "IPv6: clean"
check_eq "IPv6: delivered" rK "$(report_letters)"
check_contains "IPv6: route line" "local=::1 remote=[::1]:$V6PORT" "$(report_text)"
check_contains "IPv6: the server saw the message" "DOT" "$(cat "$v6log")"
# IPv4-only local IPs: the IPv6 remote is skipped, the IPv4 one delivers.
root=$(route_root "r;$L1;[::1]:$V6PORT&$A;;\n")
n_before=$(grep -c '^CONNECT' "$v6log")
deliver "$root" s@example.org r@dest.test
check_contains "IPv4 locals: IPv6 remote skipped, IPv4 delivers" "local=$L1 remote=[$A]:25" \
  "$(report_text)"
check_eq "IPv4 locals: no IPv6 connection" "$n_before" "$(grep -c '^CONNECT' "$v6log")"
root=$(route_root "r;$L1;[::1]:$V6PORT;;\n")
deliver "$root" s@example.org r@dest.test
check_eq "IPv4 locals, IPv6 remote only: Z" Z "$(report_letters)"
check_contains "IPv4 locals, IPv6 remote only: says why" \
  "[::1]:$V6PORT: no local IP of its address family in this route" "$(report_text)"
kill "$v6pid" 2>/dev/null
wait "$v6pid" 2>/dev/null

summary
