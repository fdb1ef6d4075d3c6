#!/bin/bash
# AUTH through the real qmail-remote (SPEC §9, §4, §10), and implicit TLS on
# port 465 (§8): PLAIN over TLS, CRAM-MD5 in cleartext, PLAIN in cleartext
# only with auth-cleartext=yes, a wrong password on every pair -> Z with no
# password in any report, credentials from smtproutes, a server without
# AUTH -> next pair.
#
# Exim (exim.sh) always offers PLAIN, LOGIN and CRAM-MD5 together, and our
# order is PLAIN, LOGIN, CRAM-MD5, so Exim can never see LOGIN from us: the
# LOGIN exchange, and "PLAIN/LOGIN are not sent in cleartext", are shown
# against tests/integration/starttls_inject.py offering only PLAIN/LOGIN
# without STARTTLS, which checks the credentials and records every line.
set -u
source "$(dirname "$0")/lib.sh"
ip_block 31

USER=testuser
PASS=testpass-S3cret
BADPASS=wrong-Pa55word
# shellcheck source=tests/integration/inject.sh
source "$IT_DIR/inject.sh"

msg=$T_TMP/msg
printf 'From: s@example.org\nTo: r@dest.test\nSubject: auth\n\nbody line\n' >"$msg"

# --- servers -------------------------------------------------------------
A=$(alloc_ip) B=$(alloc_ip) CLEAR=$(alloc_ip) NOAUTH=$(alloc_ip) SMTPS=$(alloc_ip)
PL=$(alloc_ip) LO=$(alloc_ip) P465=$(alloc_ip)
started=1
exim_start t31a "$A" 2525 tls=on auth=on || started=0
exim_start t31b "$B" 2525 tls=on auth=on || started=0
exim_start t31clear "$CLEAR" 2525 tls=off auth=on || started=0
exim_start t31noauth "$NOAUTH" 2525 tls=on auth=off || started=0
exim_start t31smtps "$SMTPS" 2525 tls=on auth=on tlsport=465 || started=0
exim_start t31p465 "$P465" 465 tls=off || started=0 # plaintext on port 465

# Scripted servers (inject.sh) offering only the mechanisms named.
script_start plainlogin "$PL" --user "$USER" --password "$PASS" --auth "PLAIN LOGIN" || started=0
script_start loginonly "$LO" --user "$USER" --password "$PASS" --auth "LOGIN" || started=0
if ((started)); then ok "setup: six Exims, two scripted servers"; else
  fail "setup" "see above"
  summary
  exit
fi

# deliver NAME ROUTE_LINE: a fresh root with that one route for everything
# (or, when ROUTE_LINE starts with "smtproutes:", that smtproutes line),
# then one qmail-remote run to r@dest.test.
deliver() {
  local name=$1 line=$2
  root=$(qmail_root_new)
  if [[ $line == smtproutes:* ]]; then
    printf '%s\n' "${line#smtproutes:}" >"$root/control/smtproutes"
  else
    printf '%s\n' "$line" >"$root/control/routes"
    printf '*;*;%s\n' "${line%%;*}" >"$root/control/routemap"
  fi
  run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
  check_qr_clean "$name: exit 0, no stderr, framing"
  final=$(python3 "$IT_DIR/report.py" --final "$QR_OUT" 2>/dev/null)
}
TLSRE='tls=TLSv1\.[23]:[A-Z0-9_-]+'

# --- each mechanism accepted -------------------------------------------
deliver "PLAIN over TLS" "p1;;$A:2525;$USER;$PASS;"
check_match "PLAIN over TLS: K, report says TLS and auth=PLAIN" \
  "^K .*route=p1 local=default remote=\[$A\]:2525 $TLSRE auth=PLAIN" "$final"
wait_for_store t31a 1
check_match "PLAIN over TLS: Exim logged X= and A=PLAIN:testuser" \
  " P=esmtpsa .*X=TLS1\.[23]:.* A=PLAIN:testuser " "$(exim_received t31a)"

deliver "CRAM-MD5 in cleartext" "c1;;$CLEAR:2525;$USER;$PASS;"
check_match "CRAM-MD5 in cleartext: K, tls=none auth=CRAM-MD5" \
  "^K .*remote=\[$CLEAR\]:2525 tls=none auth=CRAM-MD5" "$final"
wait_for_store t31clear 1
check_match "CRAM-MD5 in cleartext: Exim logged A=CRAM_MD5:testuser, no TLS" \
  " P=esmtpa .* A=CRAM_MD5:testuser " "$(exim_received t31clear)"
check_not_contains "CRAM-MD5 in cleartext: no failed authenticator in Exim's log" \
  "authenticator failed" "$(exim_log t31clear)"

exim_clear t31a
deliver "tls=none route, CRAM-MD5" "c2;;$A:2525;$USER;$PASS;tls=none"
check_match "tls=none route to a TLS server: cleartext CRAM-MD5" \
  "^K .*remote=\[$A\]:2525 tls=none auth=CRAM-MD5" "$final"
wait_for_store t31a 1
check_match "tls=none route: Exim logged A=CRAM_MD5, no X=" \
  " P=esmtpa .* A=CRAM_MD5:testuser " "$(exim_received t31a)"
check_not_contains "tls=none route: no X= in Exim's log" " X=" "$(exim_received t31a)"

exim_clear t31clear
deliver "PLAIN in cleartext, allowed" "c3;;$CLEAR:2525;$USER;$PASS;auth-cleartext=yes"
check_match "auth-cleartext=yes: PLAIN without TLS" \
  "^K .*remote=\[$CLEAR\]:2525 tls=none auth=PLAIN" "$final"
wait_for_store t31clear 1
check_match "auth-cleartext=yes: Exim logged A=PLAIN" " P=esmtpa .* A=PLAIN:testuser " \
  "$(exim_received t31clear)"

# LOGIN: a server offering only LOGIN (no STARTTLS), cleartext allowed.
deliver "LOGIN" "l1;;$LO:2525;$USER;$PASS;auth-cleartext=yes"
check_match "LOGIN: K, auth=LOGIN" "^K .*remote=\[$LO\]:2525 tls=none auth=LOGIN" "$final"
check_eq "LOGIN: the scripted server checked user and password" '"LOGIN"' \
  "$(script_field loginonly 1 auth_ok)"
check_eq "LOGIN: delivered after it" true "$(script_field loginonly 1 delivered)"

# --- PLAIN/LOGIN never in cleartext unless allowed ---------------------
deliver "PLAIN/LOGIN offered without TLS" "n1;;$PL:2525&$A:2525;$USER;$PASS;"
check_match "PLAIN/LOGIN only, no TLS: next pair (A gets it, over TLS)" \
  "^K .*remote=\[$A\]:2525 $TLSRE auth=PLAIN" "$final"
check_eq "PLAIN/LOGIN only, no TLS: no AUTH command sent" '[]' "$(script_field plainlogin 1 auth)"
check_eq "PLAIN/LOGIN only, no TLS: nothing delivered there" false "$(script_field plainlogin 1 delivered)"

deliver "PLAIN/LOGIN offered without TLS, alone" "n2;;$PL:2525;$USER;$PASS;"
check_match "PLAIN/LOGIN only, alone: Z" '^Z ' "$final"
check_contains "PLAIN/LOGIN only, alone: reason" \
  "no usable AUTH mechanism (offered: PLAIN LOGIN; no TLS)" "$final"
check_eq "PLAIN/LOGIN only, alone: no AUTH command sent" '[]' "$(script_field plainlogin 2 auth)"

deliver "no USER" "n3;;$PL:2525;;;"
check_match "route without USER: K, auth=none" "^K .*tls=none auth=none" "$final"
check_eq "route without USER: no AUTH command sent" '[]' "$(script_field plainlogin 3 auth)"

deliver "auth-cleartext=yes, PLAIN" "n4;;$PL:2525;$USER;$PASS;auth-cleartext=yes"
check_match "auth-cleartext=yes: PLAIN first of PLAIN LOGIN" "^K .*tls=none auth=PLAIN" "$final"
check_eq "auth-cleartext=yes: the scripted server accepted PLAIN" '"PLAIN"' \
  "$(script_field plainlogin 4 auth_ok)"

# --- refused and missing AUTH -------------------------------------------
exim_clear t31a
exim_clear t31b
deliver "wrong password" "w1;;$A:2525&$B:2525;$USER;$BADPASS;"
check_match "wrong password: Z after both pairs" '^Z ' "$final"
check_contains "wrong password: first pair named" "$A:2525 from default: AUTH PLAIN refused: 535" "$final"
check_contains "wrong password: second pair named" "$B:2525 from default: AUTH PLAIN refused: 535" "$final"
check_match "wrong password: Exim A saw the failure" 'authenticator failed' "$(exim_log t31a)"
check_match "wrong password: Exim B saw the failure" 'authenticator failed' "$(exim_log t31b)"
check_eq "wrong password: nothing received" "" "$(exim_received t31a)$(exim_received t31b)"

deliver "wrong CRAM-MD5 secret" "w2;;$CLEAR:2525;$USER;$BADPASS;"
check_match "wrong CRAM-MD5 secret: Z" '^Z ' "$final"
check_contains "wrong CRAM-MD5 secret: reason" "AUTH CRAM-MD5 refused: 535" "$final"

exim_clear t31a
deliver "no AUTH offered" "w3;;$NOAUTH:2525&$A:2525;$USER;$PASS;"
check_match "no AUTH offered: next pair gets it" "^K .*remote=\[$A\]:2525 $TLSRE auth=PLAIN" "$final"
check_eq "no AUTH offered: that server received nothing" "" "$(exim_received t31noauth)"

deliver "no AUTH offered, alone" "w4;;$NOAUTH:2525;$USER;$PASS;"
check_match "no AUTH offered, alone: Z" '^Z ' "$final"
check_contains "no AUTH offered, alone: reason" "AUTH required by the route but not offered" "$final"

exim_clear t31a
deliver "smtproutes credentials" "smtproutes:dest.test:$A:2525|$USER|$PASS"
check_match "smtproutes credentials: AUTH PLAIN over TLS" \
  "^K .*route=smtproutes local=default remote=\[$A\]:2525 $TLSRE auth=PLAIN" "$final"
wait_for_store t31a 1
check_contains "smtproutes credentials: Exim logged A=PLAIN" " A=PLAIN:testuser " "$(exim_received t31a)"

# --- implicit TLS on port 465 --------------------------------------------
deliver "port 465" "s1;;$SMTPS:465;$USER;$PASS;"
check_match "port 465: K with TLS and PLAIN" "^K .*remote=\[$SMTPS\]:465 $TLSRE auth=PLAIN" "$final"
wait_for_store t31smtps 1
check_match "port 465: Exim logged I=[...]:465 with X= and A=PLAIN" \
  " I=\[$SMTPS\]:465 P=esmtpsa .*X=TLS1\.[23]:.* A=PLAIN:testuser " "$(exim_received t31smtps)"

exim_clear t31smtps
deliver "port 465, tls=none route" "s2;;$SMTPS:465;;;tls=none"
check_match "port 465 under tls=none: still TLS from the first byte" \
  "^K .*remote=\[$SMTPS\]:465 $TLSRE auth=none" "$final"
wait_for_store t31smtps 1
check_match "port 465 under tls=none: Exim logged X=" " I=\[$SMTPS\]:465 .*X=TLS1\.[23]:" \
  "$(exim_received t31smtps)"

exim_clear t31smtps
deliver "port 465 on a plaintext listener" "s3;;$P465:465&$SMTPS:465;;;"
check_match "port 465 speaking plaintext: no plaintext fallback, next pair" \
  "^K .*remote=\[$SMTPS\]:465 $TLSRE auth=none" "$final"
check_eq "port 465 speaking plaintext: nothing received there" "" "$(exim_received t31p465)"

# --- no report holds a password ------------------------------------------
leak=""
for f in "$T_TMP"/qr-*.out; do
  for p in "$PASS" "$BADPASS"; do
    for needle in "$p" "$(printf '%s' "$p" | base64)" "$(printf '\0%s\0%s' "$USER" "$p" | base64)"; do
      grep -qaF -- "$needle" "$f" && leak+="${f##*/}:$needle "
    done
  done
done
check_eq "no report contains a password or its base64 forms ($(ls "$T_TMP"/qr-*.out | wc -l) reports)" "" "$leak"
summary
