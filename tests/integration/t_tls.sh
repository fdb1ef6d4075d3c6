#!/bin/bash
# STARTTLS through the real qmail-remote (SPEC §8, §4, §10): the policies
# may / encrypt / verify of a route's tls= option, the per-host overrides
# control/tlshosts/<FQDN>.pem and control/notlshosts/<FQDN>, the plaintext
# retry after a failed `may` handshake, and bytes injected after the 220 to
# STARTTLS (tests/integration/starttls_inject.py).
#
# Certificate names are checked against the host name a route names, so the
# verify cases use route remotes written as host names under "tls.example.",
# answered by a private Unbound (unbound.sh) on 127.0.0.30:5330, passed to
# qmail-remote as DNSCACHEIP. unbound.sh takes 127.0.0.x addresses only, so
# that one address is outside this file's block; every server is in it.
set -u
source "$(dirname "$0")/lib.sh"
source "$IT_DIR/unbound.sh"
ip_block 30

PASS=testpass-S3cret # not used by these routes; still never in a report
# shellcheck source=tests/integration/inject.sh
source "$IT_DIR/inject.sh"

msg=$T_TMP/msg
printf 'From: s@example.org\nTo: r@dest.test\nSubject: tls\n\nbody line\n.dot line\n' >"$msg"

# --- servers -------------------------------------------------------------
ON=$(alloc_ip) PLAIN=$(alloc_ip) SELF=$(alloc_ip) WRONG=$(alloc_ip)
INJ=$(alloc_ip) GARB=$(alloc_ip) CN=$(alloc_ip)
started=1
exim_start t30on "$ON" 2525 tls=on cert=good.tls.example auth=on || started=0
exim_start t30plain "$PLAIN" 2525 tls=off || started=0
exim_start t30self "$SELF" 2525 tls=selfsigned cert=self.tls.example auth=on || started=0
exim_start t30wrong "$WRONG" 2525 tls=wrongname || started=0
exim_start t30cn "$CN" 2525 tls=cnonly cert=cn.tls.example || started=0

# The scripted servers (inject.sh): one injecting after the 220, one
# sending garbage instead of a handshake.
script_start inject "$INJ" --starttls inject || started=0
script_start garbage "$GARB" --starttls garbage || started=0

zones=$T_TMP/zones.conf
{
  echo '  local-zone: "tls.example." static'
  echo "  local-data: \"good.tls.example. A $ON\""
  echo "  local-data: \"self.tls.example. A $SELF\""
  echo "  local-data: \"wrong.tls.example. A $WRONG\""
  echo "  local-data: \"plain.tls.example. A $PLAIN\""
  echo "  local-data: \"cn.tls.example. A $CN\""
} >"$zones"
unbound_start 127.0.0.30 5330 "$zones" || started=0
export DNSCACHEIP=127.0.0.30:5330
setup_done "$started" "four Exims, two scripted servers, Unbound"

# deliver NAME ROUTE_LINE [control file=content ...]: a fresh root with that
# one route for everything, then one qmail-remote run to r@dest.test.
# DELIVER_LOCK=FILE makes control/FILE mode 000 first (run it with
# QR_AS_USER set: root reads anything).
deliver() {
  local name=$1 line=$2 kv
  shift 2
  root=$(qmail_root_new)
  printf '%s\n' "$line" >"$root/control/routes"
  printf '*;*;%s\n' "${line%%;*}" >"$root/control/routemap"
  for kv in "$@"; do
    mkdir -p "$(dirname "$root/control/${kv%%=*}")"
    printf '%s' "${kv#*=}" >"$root/control/${kv%%=*}"
  done
  [[ -n ${DELIVER_LOCK:-} ]] && chmod 000 "$root/control/$DELIVER_LOCK"
  run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
  check_qr_clean "$name: exit 0, no stderr, framing"
  final=$(report_final 2>/dev/null)
}
ca=$(<"$TEST_CA")
TLSRE='tls=TLSv1\.[23]:[A-Z0-9_-]+ '

# --- may ------------------------------------------------------------------
deliver "may, offered" "m1;;$ON:2525;;;tls=may"
check_match "may, offered: K, report names version and cipher" \
  "^K .*route=m1 local=default remote=\[$ON\]:2525 ${TLSRE}auth=none" "$final"
wait_for_store t30on 1
check_match "may, offered: Exim logged the cipher (X=)" " P=esmtps .*X=TLS1\.[23]:" "$(exim_received t30on)"
check_file_eq "may, offered: stored bytes" <(crlf "$msg") "$(stored_messages t30on | tail -1)"

deliver "may, not offered" "m2;;$PLAIN:2525;;;"
check_match "may, not offered: K, tls=none" "^K .*remote=\[$PLAIN\]:2525 tls=none auth=none" "$final"
wait_for_store t30plain 1
check_match "may, not offered: Exim P=esmtp, no X=" ' P=esmtp ' "$(exim_received t30plain)"
check_not_contains "may, not offered: no X= in Exim's log" " X=" "$(exim_received t30plain)"

deliver "may, broken handshake" "m3;;$GARB:2525;;;tls=may"
check_match "may, broken handshake: K on the same pair, tls=failed-plaintext" \
  "^K .*remote=\[$GARB\]:2525 tls=failed-plaintext auth=none" "$final"
check_eq "may, broken handshake: two connections to the scripted server" 2 "$(script_conns garbage)"
check_eq "may, broken handshake: first connection sent STARTTLS" true "$(script_field garbage 1 starttls)"
check_eq "may, broken handshake: first connection began a handshake" true "$(script_field garbage 1 client_hello)"
check_eq "may, broken handshake: nothing delivered on the first" false "$(script_field garbage 1 delivered)"
check_eq "may, broken handshake: no STARTTLS on the retry" false "$(script_field garbage 2 starttls)"
check_eq "may, broken handshake: delivered on the retry" true "$(script_field garbage 2 delivered)"

# --- encrypt --------------------------------------------------------------
exim_clear t30on
exim_clear t30plain
deliver "encrypt, A&B" "e1;;$PLAIN:2525&$ON:2525;;;tls=encrypt"
check_match "encrypt, A&B: K from B with TLS" "^K .*remote=\[$ON\]:2525 ${TLSRE}" "$final"
wait_for_store t30on 1
check_eq "encrypt, A&B: A (no STARTTLS) received nothing" "" "$(exim_received t30plain)"
check_match "encrypt, A&B: B logged X=" " X=TLS1\.[23]:" "$(exim_received t30on)"

deliver "encrypt, none offer" "e2;;$PLAIN:2525;;;tls=encrypt"
check_match "encrypt, none offer: Z" '^Z ' "$final"
check_contains "encrypt, none offer: reason given" "STARTTLS required by tls=encrypt but not offered" "$final"
check_eq "encrypt, none offer: nothing received" "" "$(exim_received t30plain)"

exim_clear t30self
deliver "encrypt, self-signed" "e3;;$SELF:2525;;;tls=encrypt"
check_match "encrypt: no certificate check (self-signed accepted)" "^K .*${TLSRE}" "$final"

# --- verify ---------------------------------------------------------------
exim_clear t30on
exim_clear t30self
exim_clear t30wrong
deliver "verify, right CA via tlshosts" "v1;;good.tls.example:2525;;;tls=verify" \
  "tlshosts/good.tls.example.pem=$ca"
check_match "verify, right CA via tlshosts: K" \
  "^K .*remote=good\.tls\.example\[$ON\]:2525 ${TLSRE}" "$final"
wait_for_store t30on 1
check_contains "verify: SNI carries the host name" " SNI=good.tls.example" "$(exim_received t30on)"

deliver "verify, no tlshosts file" "v2;;good.tls.example:2525;;;tls=verify"
check_match "verify, test CA not among the system CAs: Z" '^Z ' "$final"
check_contains "verify, system CAs: certificate verify failed" "certificate verify failed" "$final"

deliver "verify, wrong CA" "v3;;self.tls.example:2525;;;tls=verify" \
  "tlshosts/self.tls.example.pem=$ca"
check_match "verify, wrong CA (self-signed): Z" '^Z ' "$final"
check_contains "verify, wrong CA: reason" "certificate verify failed" "$final"
check_eq "verify, wrong CA: nothing received" "" "$(exim_received t30self)"

deliver "verify, wrong name" "v4;;wrong.tls.example:2525;;;tls=verify" \
  "tlshosts/wrong.tls.example.pem=$ca"
check_match "verify, wrong name: Z" '^Z ' "$final"
check_contains "verify, wrong name: reason" "(expected wrong.tls.example)" "$final"
check_eq "verify, wrong name: nothing received" "" "$(exim_received t30wrong)"

exim_clear t30on
deliver "verify, A&B&C" "v5;;self.tls.example:2525&wrong.tls.example:2525&good.tls.example:2525;;;tls=verify" \
  "tlshosts/self.tls.example.pem=$ca" "tlshosts/wrong.tls.example.pem=$ca" "tlshosts/good.tls.example.pem=$ca"
check_match "verify, wrong CA then wrong name then right: K from the third" \
  "^K .*remote=good\.tls\.example\[$ON\]:2525 ${TLSRE}" "$final"
check_eq "verify, A&B&C: wrong-CA server received nothing" "" "$(exim_received t30self)"
check_eq "verify, A&B&C: wrong-name server received nothing" "" "$(exim_received t30wrong)"

deliver "tlshosts under tls=may" "v6;;self.tls.example:2525;;;tls=may" \
  "tlshosts/self.tls.example.pem=$ca"
check_match "tlshosts/<FQDN>.pem makes may a verify: Z, no plaintext retry" '^Z ' "$final"
check_eq "tlshosts under tls=may: nothing received" "" "$(exim_received t30self)"

exim_clear t30on
deliver "notlshosts" "v7;;good.tls.example:2525;;;tls=may" "notlshosts/good.tls.example="
check_match "notlshosts/<FQDN>: K without TLS, tls=none" \
  "^K .*remote=good\.tls\.example\[$ON\]:2525 tls=none auth=none" "$final"
wait_for_store t30on 1
check_not_contains "notlshosts: Exim logged no X=" " X=" "$(exim_received t30on)"

# qmail-tls names an IP-literal relay by its address: notlshosts/<IP>.
exim_clear t30on
deliver "notlshosts/<IP>" "v8;;$ON:2525;;;tls=may" "notlshosts/$ON="
check_match "notlshosts/<IP>: K without TLS, tls=none" \
  "^K .*remote=\[$ON\]:2525 tls=none auth=none" "$final"
wait_for_store t30on 1
check_not_contains "notlshosts/<IP>: Exim logged no X=" " X=" "$(exim_received t30on)"
# ...and tlshosts/<IP>.pem requires a verified certificate for that address:
# the test CA's certificate names good.tls.example, not the IP, so it fails.
deliver "tlshosts/<IP>.pem" "v9;;$ON:2525;;;tls=may" "tlshosts/$ON.pem=$ca"
check_match "tlshosts/<IP>.pem: verify against the IP fails, Z" '^Z ' "$final"
check_contains "tlshosts/<IP>.pem: the reason is the certificate" "certificate verify failed" \
  "$final"

# --- TLS fails closed (SPEC §3, §8; issue 11) ------------------------------
# notlshosts/ only turns `may` off: it never lowers encrypt or verify.
exim_clear t30on
deliver "notlshosts under encrypt" "f1;;good.tls.example:2525;;;tls=encrypt" \
  "notlshosts/good.tls.example="
check_match "notlshosts under encrypt: still TLS" "^K .*${TLSRE}" "$final"
wait_for_store t30on 1
check_match "notlshosts under encrypt: Exim logged X=" " X=TLS1\.[23]:" "$(exim_received t30on)"
deliver "notlshosts under verify" "f2;;self.tls.example:2525;;;tls=verify" \
  "notlshosts/self.tls.example="
check_match "notlshosts under verify: still verified, the self-signed server refused: Z" '^Z ' \
  "$final"
check_eq "notlshosts under verify: nothing received in plaintext" "" "$(exim_received t30self)"

# File names and host names compare case-insensitively, without a trailing dot.
exim_clear t30on
deliver "tlshosts in mixed case" "f3;;good.tls.example:2525;;;tls=may" \
  "tlshosts/Good.TLS.Example.pem=$ca"
check_match "tlshosts/Good.TLS.Example.pem applies to good.tls.example: verified K" \
  "^K .*remote=good\.tls\.example\[$ON\]:2525 ${TLSRE}" "$final"
deliver "tlshosts and a wrong CA, mixed case" "f4;;self.tls.example:2525;;;tls=may" \
  "tlshosts/SELF.tls.example.pem=$ca"
check_match "tlshosts/SELF...pem makes may a verify for self.tls.example: Z" '^Z ' "$final"
check_contains "tlshosts in mixed case: the certificate was checked" "certificate verify failed" \
  "$final"

# A local TLS configuration error is Z naming the file, never plaintext.
exim_clear t30on
deliver "bad tlsclientciphers under may" "f5;;$ON:2525;;;tls=may" "tlsclientciphers=NOSUCHCIPHER"
check_match "bad tlsclientciphers under may: Z, not K tls=failed-plaintext" '^Z ' "$final"
check_contains "bad tlsclientciphers: names the file" "control/tlsclientciphers" "$final"
check_eq "bad tlsclientciphers: nothing received" "" "$(exim_received t30on)"
deliver "broken clientcert.pem under may" "f6;;$ON:2525;;;tls=may" "clientcert.pem=not a PEM file"
check_match "broken clientcert.pem under may: Z" '^Z ' "$final"
check_contains "broken clientcert.pem: names the file" "control/clientcert.pem" "$final"
check_eq "broken clientcert.pem: nothing received" "" "$(exim_received t30on)"

# Files that exist but cannot be read, as qmail-remote runs (qmailr; here
# nobody): EACCES is never "no file" (SPEC §3).
unreadable() { # NAME ROUTE FILE_OR_DIR [control file=content ...]: Z naming FILE
  local name=$1 what=$3
  DELIVER_LOCK=$what QR_AS_USER=nobody deliver "$name" "$2" "${@:4}"
  check_match "$name: Z" '^Z ' "$final"
  check_contains "$name: names control/$what" "control/$what: cannot read: Permission denied" \
    "$final"
}
exim_clear t30on
unreadable "unsearchable tlshosts/ (mode 000)" "f7;;good.tls.example:2525;;;tls=may" tlshosts \
  "tlshosts/good.tls.example.pem=$ca"
unreadable "unreadable tlsclientciphers" "f8;;$ON:2525;;;tls=may" tlsclientciphers \
  "tlsclientciphers=HIGH"
unreadable "unreadable clientcert.pem" "f9;;$ON:2525;;;tls=may" clientcert.pem \
  "clientcert.pem=PEM"
check_eq "unreadable TLS files: nothing received" "" "$(exim_received t30on)"

# RFC 9525: the name is checked against subjectAltName only, never the CN.
deliver "CN-only certificate" "f10;;cn.tls.example:2525;;;tls=verify" \
  "tlshosts/cn.tls.example.pem=$ca"
check_match "CN-only certificate under verify: Z" '^Z ' "$final"
check_contains "CN-only certificate: hostname mismatch" \
  "hostname mismatch (expected cn.tls.example)" "$final"
check_eq "CN-only certificate: nothing received" "" "$(exim_received t30cn)"

# Credentials imply verify for a named relay (SPEC §8): a man in the
# middle with a self-signed certificate gets no AUTH.
deliver "credentials, no tls=, self-signed server" \
  "f11;;self.tls.example:2525;testuser;$PASS;"
check_match "credentials to a named relay, self-signed: Z" '^Z ' "$final"
check_contains "credentials to a named relay: verify was the policy" "certificate verify failed" \
  "$final"
check_not_contains "credentials, self-signed: no AUTH reached the server" "authenticator" \
  "$(exim_log t30self)"
check_eq "credentials, self-signed: nothing received" "" "$(exim_received t30self)"
deliver "credentials, no tls=, verified relay" "f12;;good.tls.example:2525;testuser;$PASS;" \
  "tlshosts/good.tls.example.pem=$ca"
check_match "credentials to a verified relay: K with TLS and PLAIN" \
  "^K .*remote=good\.tls\.example\[$ON\]:2525 ${TLSRE}auth=PLAIN" "$final"

# --- bytes injected after the 220 to STARTTLS ----------------------------
exim_clear t30on
deliver "injection" "i1;;$INJ:2525&$ON:2525;;;tls=may"
check_match "injection: the walk goes on, K from the Exim" "^K .*remote=\[$ON\]:2525 ${TLSRE}" "$final"
check_eq "injection: one connection to the scripted server (no plaintext retry)" 1 "$(script_conns inject)"
check_eq "injection: STARTTLS was sent" true "$(script_field inject 1 starttls)"
check_eq "injection: no byte after the 220 (no handshake, no MAIL)" '"b'"''"'"' "$(script_field inject 1 after_220)"
check_eq "injection: no MAIL after the 220" false "$(script_field inject 1 mail_after_starttls)"
check_eq "injection: nothing delivered there" false "$(script_field inject 1 delivered)"
wait_for_store t30on 1

deliver "injection, alone" "i2;;$INJ:2525;;;tls=may"
check_match "injection, alone: Z" '^Z ' "$final"
check_contains "injection, alone: reason" "bytes received after the 220 to STARTTLS" "$final"

# --- no report holds a password ------------------------------------------
leak=""
for f in "$T_TMP"/qr-*.out; do
  for needle in "$PASS" "$(printf '%s' "$PASS" | base64)" \
    "$(printf '\0testuser\0%s' "$PASS" | base64)"; do
    grep -qaF -- "$needle" "$f" && leak+="$f "
  done
done
check_eq "no report contains the password or its base64 forms" "" "$leak"
summary
