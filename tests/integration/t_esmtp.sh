#!/bin/bash
# ESMTP extensions that change the outcome (SPEC §7): SIZE limits, SMTPUTF8
# for a non-ASCII envelope, and HELO when EHLO is refused.
set -u
source "$(dirname "$0")/lib.sh"
ip_block 14

SMALL=$(alloc_ip) UTF=$(alloc_ip) NOUTF=$(alloc_ip) OLD=$(alloc_ip) L1=$(alloc_ip)
exim_start t14small "$SMALL" 25 size=2000
exim_start t14utf "$UTF" 25 smtputf8=on
exim_start t14noutf "$NOUTF" 25 smtputf8=off
exim_start t14old "$OLD" 25 ehlo=reject

route_to() { route_root "r;$L1;$1;;"; }  # REMOTE_ADDRS -> a root routing there
count() { stored_messages "$1" | wc -l; }

# SIZE: a message over the server's announced limit is D (#5.3.4) and not sent.
small=$T_TMP/small big=$T_TMP/big
printf 'Subject: small\n\n%s\n' "$(head -c 500 /dev/zero | tr '\0' a)" >"$small"
printf 'Subject: big\n\n%s\n' "$(head -c 3000 /dev/zero | tr '\0' a)" >"$big"
root=$(route_to "$SMALL")
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$big"
check_qr_clean "SIZE over the limit: clean"
check_eq "SIZE over the limit: D" D "$(report_letters)"
check_contains "SIZE over the limit: #5.3.4 with both sizes" \
  "bytes and the server takes at most 2000. (#5.3.4)" "$(report_text)"
exim_settle t14small
check_eq "SIZE over the limit: nothing stored" 0 "$(count t14small)"
check_eq "SIZE over the limit: no MAIL sent" 0 "$(exim_log t14small | grep -c 'rejected MAIL\|<=')"
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$small"
check_eq "SIZE under the limit: delivered" rK "$(report_letters)"

# SMTPUTF8: a non-ASCII sender goes to a server that offers it...
msg=$T_TMP/msg
printf 'Subject: utf8\n\nbody\n' >"$msg"
sender=$'j\xc3\xb6rg@example.org'
root=$(route_to "$UTF")
run_qmail_remote "$root" dest.test "$sender" r@dest.test <"$msg"
check_qr_clean "SMTPUTF8 offered: clean"
check_eq "SMTPUTF8 offered: delivered" rK "$(report_letters)"
wait_for_store t14utf 1
check_eq "SMTPUTF8 offered: the envelope sender arrived intact" "sender <$sender>" \
  "$(stored_envelope "$(stored_messages t14utf | tail -n 1)" | head -n 1)"
# ...past one that does not (the walk goes on)...
root=$(route_to "$NOUTF&$UTF")
run_qmail_remote "$root" dest.test "$sender" r@dest.test <"$msg"
check_eq "SMTPUTF8 missing on the first: the second delivers" rK "$(report_letters)"
check_contains "SMTPUTF8 missing on the first: remote" "remote=[$UTF]:25" "$(report_text)"
# ...and when no server offers it, D (#5.6.7).
root=$(route_to "$NOUTF")
run_qmail_remote "$root" dest.test "$sender" r@dest.test <"$msg"
check_qr_clean "SMTPUTF8 nowhere: clean"
check_eq "SMTPUTF8 nowhere: D" D "$(report_letters)"
check_contains "SMTPUTF8 nowhere: #5.6.7" "(#5.6.7)" "$(report_text)"
check_eq "SMTPUTF8 nowhere: nothing stored" 0 "$(count t14noutf)"
# An ASCII envelope needs nothing from the server.
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
check_eq "ASCII envelope without SMTPUTF8: delivered" rK "$(report_letters)"

# EHLO refused with 5xx: HELO (SPEC §7), plain SMTP in Exim's log.
root=$(route_to "$OLD")
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
check_qr_clean "EHLO refused: clean"
check_eq "EHLO refused: delivered after HELO" rK "$(report_letters)"
wait_for_store t14old 1
check_contains "EHLO refused: Exim saw plain SMTP" "P=smtp " "$(exim_received t14old)"

summary
