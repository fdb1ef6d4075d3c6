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
PL=$(alloc_ip) LO=$(alloc_ip) P465=$(alloc_ip) CRAM=$(alloc_ip)
ETOK=$(alloc_ip) ECR=$(alloc_ip) EUP=$(alloc_ip) EBAD=$(alloc_ip) EMAIL=$(alloc_ip) ERCPT=$(alloc_ip)
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
script_start cramonly "$CRAM" --auth "CRAM-MD5" || started=0
# Servers that echo the credentials (see "no form of a secret" below).
ECHO=(--user "$USER" --password "$PASS" --auth PLAIN)
script_start etok "$ETOK" "${ECHO[@]}" --echo 'auth=535 5.7.8 bad credentials {sent}' || started=0
script_start ecr "$ECR" "${ECHO[@]}" --echo 'auth=535 5.7.8 you sent {crpass}' || started=0
script_start eup "$EUP" "${ECHO[@]}" --echo 'auth=535 5.7.8 password {PASS} is wrong' || started=0
script_start ebad "$EBAD" "${ECHO[@]}" --echo 'auth=5x5 {sent}' || started=0
script_start email "$EMAIL" "${ECHO[@]}" --echo 'auth=235 ok' \
  --echo 'mail=553 5.7.1 password {pass} not allowed for this sender' || started=0
script_start ercpt "$ERCPT" "${ECHO[@]}" --echo 'auth=235 ok' --echo 'rcpt=550 5.1.1 {PASS} unknown' ||
  started=0
setup_done "$started" "six Exims, nine scripted servers"

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
  final=$(report_final 2>/dev/null)
}
TLSRE='tls=TLSv1\.[23]:[A-Z0-9_-]+'

# --- each mechanism accepted -------------------------------------------
deliver "PLAIN over TLS" "p1;;$A:2525;$USER;$PASS;"
check_match "PLAIN over TLS: K, report says TLS and auth=PLAIN" \
  "^K .*route=p1 local=default remote=\[$A\]:2525 $TLSRE auth=PLAIN" "$final"
wait_for_store t31a 1
check_match "PLAIN over TLS: Exim logged X= and A=PLAIN:testuser" \
  " P=esmtpsa .*X=TLS1\.[23]:.* A=PLAIN:testuser " "$(exim_received t31a)"

deliver "CRAM-MD5 in cleartext" "c1;;$CLEAR:2525;$USER;$PASS;tls=may"
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
deliver "PLAIN/LOGIN offered without TLS" "n1;;$PL:2525&$A:2525;$USER;$PASS;tls=may"
check_match "PLAIN/LOGIN only, no TLS: next pair (A gets it, over TLS)" \
  "^K .*remote=\[$A\]:2525 $TLSRE auth=PLAIN" "$final"
check_eq "PLAIN/LOGIN only, no TLS: no AUTH command sent" '[]' "$(script_field plainlogin 1 auth)"
check_eq "PLAIN/LOGIN only, no TLS: nothing delivered there" false "$(script_field plainlogin 1 delivered)"

deliver "PLAIN/LOGIN offered without TLS, alone" "n2;;$PL:2525;$USER;$PASS;tls=may"
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

deliver "wrong CRAM-MD5 secret" "w2;;$CLEAR:2525;$USER;$BADPASS;tls=may"
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

# --- credentials imply TLS (SPEC §8) ------------------------------------
# USER/PASS and no tls=: encrypt to an IP literal. A server without
# STARTTLS gets no AUTH at all, not even a CRAM-MD5 answer (an offline
# dictionary attack after a STARTTLS strip).
exim_clear t31clear
deliver "credentials, no tls=, no STARTTLS" "d1;;$CLEAR:2525;$USER;$PASS;"
check_match "credentials, no tls=, IP literal without STARTTLS: Z" '^Z ' "$final"
check_contains "credentials, no tls=: the reason is the missing STARTTLS" \
  "STARTTLS required by tls=encrypt but not offered" "$final"
check_not_contains "credentials, no tls=: no AUTH reached Exim" "authenticator" "$(exim_log t31clear)"
deliver "credentials, no tls=, CRAM-MD5 only, no STARTTLS" "d2;;$CRAM:2525;$USER;$PASS;"
check_match "CRAM-MD5 only, no STARTTLS: Z" '^Z ' "$final"
check_eq "CRAM-MD5 only, no STARTTLS: no AUTH command sent" '[]' "$(script_field cramonly 1 auth)"
check_eq "CRAM-MD5 only, no STARTTLS: nothing delivered" false "$(script_field cramonly 1 delivered)"

# --- no form of a secret in any report (SPEC §1, §10) -------------------
# Scripted servers (starttls_inject.py --echo) that send back what they
# got, in every form issue 11 found: the PLAIN token alone, the password
# split by CRs, in upper case, inside a malformed reply line, and after a
# successful AUTH in the reply to MAIL (a D report: a bounce to the sender)
# and to RCPT. Each route allows PLAIN in cleartext, so no TLS is needed.
echo_case() { # NAME SERVER CONN
  deliver "$1" "x$3;;$2:2525;$USER;$PASS;auth-cleartext=yes"
  check_not_contains "$1: no password in the report, in any case" "${PASS,,}" "$(tr -d '\0' <"$QR_OUT" | tr A-Z a-z)"
}
W='[withheld: it may repeat the credentials]'
echo_case "535 echoing the PLAIN token" "$ETOK" 1
check_match "535 echoing the PLAIN token: Z" '^Z ' "$final"
check_contains "535 echoing the PLAIN token: code kept, text withheld" \
  "AUTH PLAIN refused: 535 $W" "$final"
check_not_contains "535 echoing the PLAIN token: no token" "$(printf '\0%s\0%s' "$USER" "$PASS" | base64)" \
  "$final"
echo_case "535 with the password split by CRs" "$ECR" 2
check_contains "password split by CRs: withheld" "AUTH PLAIN refused: 535 $W" "$final"
check_not_contains "password split by CRs: not in the report" "$PASS" "$final"
echo_case "535 with the password in upper case" "$EUP" 3
check_contains "password in upper case: withheld" "AUTH PLAIN refused: 535 $W" "$final"
check_not_contains "password in upper case: not in the report" "${PASS^^}" "$final"
echo_case "malformed reply carrying the token" "$EBAD" 4
check_contains "malformed reply: the protocol error is named, its excerpt withheld" \
  "protocol error: $W" "$final"
echo_case "553 to MAIL echoing the password" "$EMAIL" 5
check_match "553 to MAIL: D" '^D ' "$final"
check_contains "553 to MAIL: vanilla's text, code kept, the rest withheld" \
  'but sender was rejected.\nRemote host said: 553 '"$W" "$final"
check_not_contains "553 to MAIL: no password" "$PASS" "$final"
check_contains "D report: remote= and tls= only (SPEC §10)" "remote=[$EMAIL]:2525 tls=none" "$final"
check_not_contains "D report: no route name" "route=" "$final"
check_not_contains "D report: no local IP" "local=" "$final"
check_not_contains "D report: no AUTH mechanism" "auth=" "$final"
echo_case "550 to RCPT echoing the password" "$ERCPT" 6
check_match "550 to RCPT: h, then D" '^hD$' "$(report_letters)"
check_contains "550 to RCPT: the bounce text withholds it" \
  'does not like recipient.\nRemote host said: 550 '"$W" "$(report_text)"

# --- no report holds a password ------------------------------------------
leak=""
for f in "$T_TMP"/qr-*.out; do
  for p in "$PASS" "$BADPASS"; do
    for needle in "$p" "$(printf '%s' "$p" | base64)" "$(printf '\0%s\0%s' "$USER" "$p" | base64)"; do
      # In any letter case (SPEC §1).
      grep -qaiF -- "$needle" "$f" && leak+="${f##*/}:$needle "
    done
  done
done
check_eq "no report contains a password or its base64 forms ($(ls "$T_TMP"/qr-*.out | wc -l) reports)" "" "$leak"
summary
