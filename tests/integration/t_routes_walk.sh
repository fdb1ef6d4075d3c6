#!/bin/bash
# The seed's `routes add` examples (seeds/001, SPEC §11) as qmail-routes
# commands, then real deliveries through the files they wrote, to Exim
# servers on loopback: which server got the message shows that qmail-remote
# walks them as the seed describes (issue 5, item 1).
set -u
source "$(dirname "$0")/lib.sh"
ip_block 13

MAIN=$(alloc_ip) ALT1=$(alloc_ip) ALT2=$(alloc_ip) DEAD=$(alloc_ip) PREMIUM=$(alloc_ip)
L1=$(alloc_ip)
exim_start t13main "$MAIN" 25
exim_start t13alt1 "$ALT1" 25
exim_start t13alt2 "$ALT2" 2525 auth=on tls=on
exim_start t13prem "$PREMIUM" 25
SERVERS=(t13main t13alt1 t13alt2 t13prem)

msg=$T_TMP/msg
printf 'Subject: routes\n\nbody\n' >"$msg"

routes() {  # qmail-routes in the current root; fails the test on error
  if ! env QMAIL_ROOT="$root" "$REPO_ROOT/qmail-routes" "$@" >"$T_TMP/routes.out" 2>&1; then
    fail "qmail-routes $*" "$(cat "$T_TMP/routes.out")"
  fi
}
count() { stored_messages "$1" | wc -l; }
total_at() {  # N SERVER...: the servers hold at least N copies between them
  local n=$1 s sum=0
  shift
  for s; do sum=$((sum + $(count "$s"))); done
  ((sum >= n))
}
clear_all() { local s; for s in "${SERVERS[@]}"; do exim_clear "$s"; done; }
send() {  # SENDER RECIP
  run_qmail_remote "$root" "${2#*@}" "$1" "$2" <"$msg"
}
# got NAME SERVER: one more copy at SERVER (and nowhere else) since clear_all.
got() {
  local s want=""
  wait_for_store "$2" 1 2>/dev/null
  for s in "${SERVERS[@]}"; do exim_settle "$s"; done
  for s in "${SERVERS[@]}"; do
    if [[ $s == "$2" ]]; then want+="$s=1 "; else want+="$s=0 "; fi
  done
  local have=""
  for s in "${SERVERS[@]}"; do have+="$s=$(count "$s") "; done
  check_eq "$1" "$want" "$have"
}

# tmail routes add -d tmail.io -rh mail.tmail.io: mail to the destination
# goes to that relay.
root=$(qmail_root_new)
routes add -d tmail.io -rh "$MAIN"
clear_all
send s@example.org r@tmail.io
check_qr_clean "add -d -rh: clean"
got "add -d -rh: the relay got it" t13main
# other.io goes to its MX: asked of a DNS server that is not there (a port
# nothing listens on: refused at once), the MX rule answers Z naming
# route=mx, where the relay would have taken it.
DNSCACHEIP=127.0.0.1:9 send s@example.org r@other.io
check_contains "add -d -rh: other destinations still go to their MX" "route=mx" "$(report_text)"
check_eq "add -d -rh: other destinations: Z (no DNS)" Z "$(report_letters)"

# ... -rp 2525 -rl login -rpwd passwd: port and SMTP AUTH at the relay.
root=$(qmail_root_new)
routes add -d tmail.io -rh "$ALT2" -rp 2525 -rl testuser -rpwd testpass-S3cret
clear_all
send s@example.org r@tmail.io
check_qr_clean "add -rp -rl -rpwd: clean"
got "add -rp -rl -rpwd: the relay on 2525 got it" t13alt2
check_contains "add -rp -rl -rpwd: AUTH in the report" "auth=PLAIN" "$(report_text)"
check_contains "add -rp -rl -rpwd: Exim logged the AUTH" "A=PLAIN:testuser" \
  "$(exim_received t13alt2)"
check_not_contains "add -rp -rl -rpwd: no password in the report" "testpass-S3cret" \
  "$(report_text)"

# -u toorop@tmail.io -rh premium: that sender's mail, whatever the
# destination, goes to premium; others' mail does not.
root=$(qmail_root_new)
routes add -rh "$PREMIUM" -u toorop@tmail.io
routes add -d tmail.io -rh "$MAIN"
clear_all
send toorop@tmail.io r@anywhere.io
got "add -u address: that sender to premium" t13prem
clear_all
send toorop@tmail.io r@tmail.io
got "add -u address: sender rule before destination rule" t13prem
clear_all
send other@tmail.io r@tmail.io
got "add -u address: another sender takes the destination rule" t13main
# -f: a whole sender domain.
routes add -rh "$ALT1" -f tmail.io -l "$L1"
clear_all
send someone@tmail.io r@anywhere.io
got "add -f domain: that domain's senders to alt1" t13alt1
check_contains "add -f domain -l: from the local IP" "local=$L1" "$(report_text)"

# Failover by priority: -p 1, 2, 3; main and alt1 dead here (DEAD and a
# closed port), so the third gets it.
root=$(qmail_root_new)
routes add -d tmail.io -rh "$DEAD" -p 1
routes add -d tmail.io -rh "$MAIN" -rp 26 -p 2
routes add -d tmail.io -rh "$ALT1" -p 3
clear_all
send s@example.org r@tmail.io
check_qr_clean "priorities 1/2/3: clean"
got "priorities 1/2/3: the third after two failures" t13alt1
# With the first alive it always takes the mail.
root=$(qmail_root_new)
routes add -d tmail.io -rh "$MAIN" -p 1
routes add -d tmail.io -rh "$ALT1" -p 2
clear_all
for _ in 1 2 3 4 5; do send s@example.org r@tmail.io; done
for s in "${SERVERS[@]}"; do exim_settle "$s"; done
check_eq "priorities: the first alive takes all" "5 0" "$(count t13main) $(count t13alt1)"

# Weighted round robin: big, big, small (the seed's example).
root=$(qmail_root_new)
routes add -d tmail.io -rh "$MAIN"
routes add -d tmail.io -rh "$MAIN"
routes add -d tmail.io -rh "$ALT1"
clear_all
for _ in $(seq 60); do send s@example.org r@tmail.io; done
wait_until 5 total_at 60 t13main t13alt1
nm=$(count t13main) na=$(count t13alt1)
# 40 of 60 expected for the doubled host; sd ~3.7: 28..52 is > 3 sd.
((nm + na == 60 && nm >= 28 && nm <= 52)) && ok "weights: big about twice small ($nm/$na)" ||
  fail "weights: big about twice small" "big=$nm small=$na"

# Mixed: main (p1, dead here) then alt1 or alt2 (p2) in round robin.
root=$(qmail_root_new)
routes add -d tmail.io -rh "$DEAD" -p 1
routes add -d tmail.io -rh "$ALT1" -p 2
routes add -d tmail.io -rh "$PREMIUM" -p 2
clear_all
for _ in $(seq 20); do send s@example.org r@tmail.io; done
wait_until 5 total_at 20 t13alt1 t13prem
n1=$(count t13alt1) n2=$(count t13prem)
((n1 + n2 == 20 && n1 > 0 && n2 > 0)) && ok "mixed priorities: both p2 hosts used ($n1/$n2)" ||
  fail "mixed priorities: both p2 hosts used" "alt1=$n1 premium=$n2"

# del: the deleted entry is no longer used.
routes list
id=$(grep -F "Remote host: $DEAD:" "$T_TMP/routes.out" | cut -d' ' -f1)
routes del "$id"
clear_all
send s@example.org r@tmail.io
check_eq "del: delivered" rK "$(report_letters)"
routes explain --no-dns tmail.io s@example.org r@tmail.io
check_contains "del: explain still shows the others" "$ALT1" "$(cat "$T_TMP/routes.out")"
check_not_contains "del: explain no longer tries the deleted host" "$DEAD" \
  "$(cat "$T_TMP/routes.out")"

summary
