#!/bin/bash
# Issue 13's wrong answers, end to end: the walk and explain share one
# outcome model (SPEC §4, §5, §7, §11).
#
# 1. A non-ASCII envelope, a first server without SMTPUTF8, then a relay
#    whose DNS fails for now: Z (the relay may offer SMTPUTF8 later), not
#    D (#5.6.7). With the relay reached and lacking it too: D.
# 2. qmail-routes explain for a null-MX destination on a route `mx&relay`
#    shows no pair after the null MX: the walk ends there with D.
#
# Unbound on 127.0.0.15 refuses every query under qrtest15. (REFUSED: our
# resolver takes it as a temporary failure, as SERVFAIL); everything else
# is in block 15.
set -u
source "$(dirname "$0")/lib.sh"
source "$IT_DIR/unbound.sh"
ip_block 15

NOUTF=$(alloc_ip) NOUTF2=$(alloc_ip) L1=$(alloc_ip)
DNS_IP=127.0.0.15 DNS_PORT=5315
Z=t15.example

zones=$T_TMP/zones.conf
{
  echo "  local-zone: \"$Z.\" static"
  echo "  local-data: \"relay3.$Z. A $NOUTF2\""
  echo "  local-data: \"null.$Z. MX 0 .\""
  echo '  local-zone: "qrtest15." always_refuse'
} >"$zones"

started=1
exim_start t15noutf "$NOUTF" 2525 smtputf8=off || started=0
exim_start t15noutf2 "$NOUTF2" 25 smtputf8=off || started=0
unbound_start "$DNS_IP" "$DNS_PORT" "$zones" || started=0
export DNSCACHEIP=$DNS_IP:$DNS_PORT
setup_done "$started" "two Exims without SMTPUTF8, Unbound on $DNSCACHEIP"

msg=$T_TMP/msg
printf 'Subject: utf8\n\nbody\n' >"$msg"
sender=$'j\xc3\xb6rg@example.org'
count() { stored_messages "$1" | wc -l; }

# --- 1. SMTPUTF8 nowhere reached, and a relay the DNS cannot find now --------
root=$(route_root "r;$L1;$NOUTF:2525&relay2.qrtest15;;;tls=none")
run_qmail_remote "$root" dest.test "$sender" r@dest.test <"$msg"
check_qr_clean "relay DNS fails for now: clean"
check_eq "relay DNS fails for now: Z, not D" Z "$(report_letters)"
check_contains "relay DNS fails for now: #4.4.1" "(#4.4.1)" "$(report_text)"
check_not_contains "relay DNS fails for now: no #5.6.7" "(#5.6.7)" "$(report_text)"
check_contains "relay DNS fails for now: the server without SMTPUTF8 listed" \
  "$NOUTF:2525 from $L1: the envelope is not ASCII" "$(report_text)"
check_contains "relay DNS fails for now: the relay listed" "relay2.qrtest15: " "$(report_text)"
check_eq "relay DNS fails for now: nothing stored" 0 "$(count t15noutf)"

# The same route with a relay that resolves and lacks SMTPUTF8 too: every
# host was reached and refused, so D (#5.6.7), without our local IP.
root=$(route_root "r;$L1;$NOUTF:2525&relay3.$Z;;;tls=none")
run_qmail_remote "$root" dest.test "$sender" r@dest.test <"$msg"
check_qr_clean "every host reached: clean"
check_eq "every host reached, none offers SMTPUTF8: D" D "$(report_letters)"
check_contains "every host reached: #5.6.7" "(#5.6.7)" "$(report_text)"
check_not_contains "every host reached: no local IP in the D" "$L1" "$(report_text)"

# --- 2. explain stops where the walk stops -----------------------------------
root=$(route_root "r;;mx&$NOUTF:2525;;;")
out=$(env -i PATH="$PATH" QMAIL_ROOT="$root" DNSCACHEIP="$DNSCACHEIP" \
  "$REPO_ROOT/qmail-routes" explain "null.$Z" s@example.org "r@null.$Z" 2>&1)
check_contains "explain null MX: says the walk ends with D" \
  "# the walk ends here: D null.$Z does not accept mail (null MX). (#5.1.10)" "$out"
check_not_contains "explain null MX: no pair after it" "remote=" "$out"
run_qmail_remote "$root" "null.$Z" s@example.org "r@null.$Z" <"$msg"
check_eq "null MX: the walk says D too" D "$(report_letters)"
check_contains "null MX: #5.1.10" "(#5.1.10)" "$(report_text)"
check_eq "null MX: the relay got nothing" 0 "$(count t15noutf)"

summary
