#!/bin/bash
# MTA-STS (SPEC §14, RFC 8461) for MX deliveries under tls=dane, end to end:
# a real Unbound serves the _mta-sts TXT, MX and A records; a real nginx
# (nginx.sh) serves the policies over HTTPS on port 443 with certificates
# from the test CA (exim.sh's), which qmail-remote finds through
# SSL_CERT_DIR (and SSL_CERT_FILE in one case); real Exims on port 25 are
# the MX hosts. What happened is read from the reports, the Exims' stores
# and nginx's access log (one line per HTTPS request).
#
# Unbound listens on 127.0.0.70; everything else is in block 70.
set -u
source "$(dirname "$0")/lib.sh"
source "$IT_DIR/unbound.sh"
source "$IT_DIR/nginx.sh"
ip_block 70

MX1=$(alloc_ip) OTHER=$(alloc_ip) PLAIN=$(alloc_ip) WRONG=$(alloc_ip)
WEB=$(alloc_ip) SLOW=$(alloc_ip) DEAD=$(alloc_ip)
DNS_IP=127.0.0.70 DNS_PORT=5370
Z=t70.example

msg=$T_TMP/msg
printf 'Subject: sts\nX-Test: t_sts\n\nhello under MTA-STS\n' >"$msg"

# --- the policies, served by nginx -------------------------------------------
www=$T_TMP/www
# policy NAME TEXT: https://mta-sts.NAME.$Z/.well-known/mta-sts.txt serves TEXT.
policy() {
  mkdir -p "$www/$1/.well-known"
  printf '%b' "$2" >"$www/$1/.well-known/mta-sts.txt"
}
policy enf 'version: STSv1\nmode: enforce\nmx: mx1.t70.example\nmax_age: 86400\n'
policy wild 'version: STSv1\r\nmode: enforce\r\nmx: *.t70.example\r\nmax_age: 86400\r\n'
policy wrong 'version: STSv1\nmode: enforce\nmx: wrong.t70.example\nmax_age: 86400\n'
policy plain 'version: STSv1\nmode: enforce\nmx: plain.t70.example\nmax_age: 86400\n'
policy skip 'version: STSv1\nmode: enforce\nmx: mx1.t70.example\nmax_age: 86400\n'
policy test 'version: STSv1\nmode: testing\nmx: mx1.t70.example\nmax_age: 86400\n'
policy testok 'version: STSv1\nmode: testing\nmx: mx1.t70.example\nmax_age: 86400\n'
policy testwrong 'version: STSv1\nmode: testing\nmx: wrong.t70.example\nmax_age: 86400\n'
policy none 'version: STSv1\nmode: none\nmax_age: 86400\n'
policy garbage '\x01\x02<html>not a policy</html>\nmode enforce\n'
policy badcert 'version: STSv1\nmode: enforce\nmx: mx1.t70.example\nmax_age: 86400\n'
policy html 'version: STSv1\nmode: enforce\nmx: mx1.t70.example\nmax_age: 86400\n'
mv "$www/html/.well-known/mta-sts.txt" "$www/html/.well-known/mta-sts.html"
# A valid policy padded with unknown keys to 3000 bytes, sent at 100 bytes/s
# (nginx limit_rate): the 10 s fetch deadline ends it.
policy drip "version: STSv1\nmode: enforce\nmx: mx1.t70.example\nmax_age: 86400\n$(
  for i in $(seq 1 30); do printf 'x-pad: %090d\\n' 0; done)"
mkdir -p "$www/big/.well-known"
head -c 10485760 /dev/zero | tr '\0' 'a' >"$www/big/.well-known/mta-sts.txt"
chmod -R a+rX "$www"

servers=$T_TMP/servers.conf
cert_for() { exim_cert "$1"; }
{
  for name in enf wild wrong plain skip test testok testwrong none garbage big redirect html drip; do
    prefix=$(cert_for "mta-sts.$name.$Z") || exit 1
    root="$www/$name"
    echo "  server { listen $WEB:443 ssl; server_name mta-sts.$name.$Z;"
    echo "    ssl_certificate $prefix.crt; ssl_certificate_key $prefix.key;"
    case $name in
      redirect) echo "    location / { return 301 https://mta-sts.enf.$Z/.well-known/mta-sts.txt; }" ;;
      html) echo "    root $root; location / { default_type text/html; try_files /.well-known/mta-sts.html =404; }" ;;
      drip) echo "    root $root; limit_rate 100;" ;;
      *) echo "    root $root;" ;;
    esac
    echo "  }"
  done
  # A certificate for another name than mta-sts.badcert.
  prefix=$(cert_for "mta-sts.other.$Z") || exit 1
  echo "  server { listen $WEB:443 ssl; server_name mta-sts.badcert.$Z;"
  echo "    ssl_certificate $prefix.crt; ssl_certificate_key $prefix.key; root $www/badcert; }"
} >"$servers"

# --- the zone ------------------------------------------------------------
zones=$T_TMP/zones.conf
{
  echo "  local-zone: \"$Z.\" static"
  echo "  local-data: \"mx1.$Z. A $MX1\""
  echo "  local-data: \"other.$Z. A $OTHER\""
  echo "  local-data: \"plain.$Z. A $PLAIN\""
  echo "  local-data: \"wrong.$Z. A $WRONG\""
  # domain MX TXT-id [mta-sts address]
  while read -r d mx id web; do
    for m in ${mx//,/ }; do echo "  local-data: \"$d.$Z. MX ${m%%=*} ${m#*=}.$Z.\""; done
    [[ $id == - ]] || echo "  local-data: '_mta-sts.$d.$Z. TXT \"v=STSv1; id=$id;\"'"
    echo "  local-data: \"mta-sts.$d.$Z. A ${web:-$WEB}\""
  done <<ZONE
enf 10=mx1 1
wild 10=mx1 1
wrong 10=wrong 1
plain 10=plain 1
skip 10=other,20=mx1 1
test 10=plain 1
testok 10=mx1 1
testwrong 10=wrong 1
none 10=plain 1
garbage 10=plain 1
big 10=plain 1
redirect 10=plain 1
html 10=plain 1
badcert 10=plain 1
slow 10=plain 1 $SLOW
drip 10=plain 1
down 10=plain,20=mx1 2 $DEAD
nopolicy 10=plain -
ZONE
  # Two v=STSv1 records: no policy (RFC 8461 §3.1).
  echo "  local-data: \"twice.$Z. MX 10 plain.$Z.\""
  echo "  local-data: '_mta-sts.twice.$Z. TXT \"v=STSv1; id=1;\"'"
  echo "  local-data: '_mta-sts.twice.$Z. TXT \"v=STSv1; id=2;\"'"
  echo "  local-data: \"mta-sts.twice.$Z. A $WEB\""
} >"$zones"

# A policy server that accepts and says nothing (the TLS handshake waits).
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 443)); s.listen(16)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$SLOW" &
SLOW_PID=$!

started=1
exim_start t70mx1 "$MX1" 25 hostname=mx1.$Z tls=on cert=mx1.$Z || started=0
exim_start t70other "$OTHER" 25 hostname=other.$Z tls=on cert=other.$Z || started=0
exim_start t70plain "$PLAIN" 25 hostname=plain.$Z tls=off || started=0
exim_start t70wrong "$WRONG" 25 hostname=wrong.$Z tls=wrongname || started=0
unbound_start "$DNS_IP" "$DNS_PORT" "$zones" || started=0
nginx_start "$T_TMP/nginx" "$servers" || started=0
export DNSCACHEIP=$DNS_IP:$DNS_PORT
# The system CAs, as OpenSSL finds them: a hashed directory with the test CA.
certs=$T_TMP/certs
mkdir -p "$certs" && cp "$TEST_CA" "$certs/test-ca.pem" && openssl rehash "$certs" 2>/dev/null
export SSL_CERT_DIR=$certs
setup_done "$started" "four Exims, Unbound, nginx"
_stop_slow() { kill "$SLOW_PID" 2>/dev/null; wait "$SLOW_PID" 2>/dev/null; }
trap '_stop_slow; _lib_cleanup' EXIT

SERVERS=(t70mx1 t70other t70plain t70wrong)
# expect_at (lib.sh), then every store emptied.
expect_only() {
  expect_at "$@"
  clear_all
}
# A qmail root whose one route is the MX under tls=dane; its queue/sts is
# the cache (made as INSTALL.md says).
dane_root() {
  local root
  root=$(route_root "dane;;;;;tls=dane") || return 1
  mkdir -p "$root/queue/sts" && chmod 755 "$root/queue" "$root/queue/sts"
  printf '%s\n' "$root"
}
deliver() {
  run_qmail_remote "$1" "$2" s@example.org "r@$2" <"$msg"
  final=$(report_final 2>/dev/null)
}
TLSRE='tls=TLSv1\.[23]:[A-Z0-9_-]+'
root=$(dane_root)

# --- enforce, valid certificate ----------------------------------------------
deliver "$root" "enf.$Z"
check_qr_clean "enforce: clean"
check_match "enforce, valid certificate: K with sts=enforce" \
  "^K .*route=dane local=default remote=mx1\.$Z\[$MX1\]:25 $TLSRE auth=none sts=enforce" "$final"
expect_only "enforce: mx1 got it" t70mx1
check_eq "enforce: one HTTPS request for the policy" 1 "$(nginx_requests "mta-sts.enf.$Z")"
check_match "enforce: the policy is cached in queue/sts" '^qmail-remote sts cache 1' \
  "$(head -1 "$root/queue/sts/enf.$Z" 2>&1)"

deliver "$root" "enf.$Z"
check_match "second delivery: K with sts=enforce" "^K .*$TLSRE auth=none sts=enforce" "$final"
check_eq "second delivery: no HTTPS request (the cache)" 1 "$(nginx_requests "mta-sts.enf.$Z")"
expect_only "second delivery: mx1 got it" t70mx1

# --- a new id refetches ----------------------------------------------------
# The cache says id 0; the TXT record says 1: fetched again, stored as 1.
sed -i 's/^id: 1$/id: 0/' "$root/queue/sts/enf.$Z"
deliver "$root" "enf.$Z"
check_match "changed id: K with sts=enforce" "^K .*sts=enforce" "$final"
check_eq "changed id: a second HTTPS request" 2 "$(nginx_requests "mta-sts.enf.$Z")"
check_eq "changed id: the cache holds the new id" "id: 1" "$(sed -n 2p "$root/queue/sts/enf.$Z")"
expect_only "changed id: mx1 got it" t70mx1

# --- a corrupt cache file: fetched again -------------------------------------
printf 'qmail-remote sts cache 1\nid: 1\nfetched: 1x\n\n\001garbage' >"$root/queue/sts/enf.$Z"
deliver "$root" "enf.$Z"
check_match "corrupt cache: K with sts=enforce" "^K .*sts=enforce" "$final"
check_eq "corrupt cache: fetched again" 3 "$(nginx_requests "mta-sts.enf.$Z")"
check_match "corrupt cache: rewritten" '^qmail-remote sts cache 1' "$(head -1 "$root/queue/sts/enf.$Z")"
expect_only "corrupt cache: mx1 got it" t70mx1

# --- SSL_CERT_FILE instead of SSL_CERT_DIR; the wildcard mx pattern ----------
root2=$(dane_root)
SSL_CERT_DIR="" SSL_CERT_FILE=$TEST_CA deliver "$root2" "wild.$Z"
check_match "SSL_CERT_FILE, mx: *.$Z: K with sts=enforce" \
  "^K .*remote=mx1\.$Z\[$MX1\]:25 $TLSRE auth=none sts=enforce" "$final"
expect_only "SSL_CERT_FILE: mx1 got it" t70mx1

# --- enforce: a wrong certificate, or no STARTTLS: Z, nothing in plaintext ---
deliver "$root" "wrong.$Z"
check_qr_clean "enforce, wrong certificate: clean"
check_match "enforce, wrong certificate: Z" '^Z ' "$final"
check_contains "enforce, wrong certificate: the reason" \
  "MTA-STS mode enforce: TLS handshake failed: certificate verify failed" "$final"
check_not_contains "enforce, wrong certificate: no plaintext retry" "failed-plaintext" "$final"
expect_only "enforce, wrong certificate: nothing received" none

deliver "$root" "plain.$Z"
check_match "enforce, no STARTTLS: Z" '^Z ' "$final"
check_contains "enforce, no STARTTLS: the reason" \
  "MTA-STS mode enforce: STARTTLS required by tls=verify but not offered" "$final"
exim_settle t70plain
check_contains "enforce, no STARTTLS: the server saw EHLO, no MAIL" "no MAIL in SMTP connection" \
  "$(exim_log t70plain)"
expect_only "enforce, no STARTTLS: nothing received" none

# --- enforce: an MX host the patterns do not name is skipped ----------------
deliver "$root" "skip.$Z"
check_match "MX not in the policy: K from mx1 (preference 20)" \
  "^K .*remote=mx1\.$Z\[$MX1\]:25 $TLSRE auth=none sts=enforce" "$final"
check_contains "MX not in the policy: the attempt list says why" \
  "$OTHER:25 (other.$Z): skipped: matches no mx: pattern of the MTA-STS policy (mode enforce) of skip.$Z" \
  "$final"
check_eq "MX not in the policy: no connection to it" "" \
  "$(grep -F 'SMTP connection from' "$(exim_logfile t70other)" | grep -v '127.0.0.1')"
expect_only "MX not in the policy: mx1 got it" t70mx1

# --- testing mode: delivered as without a policy, noted ---------------------
deliver "$root" "test.$Z"
check_match "testing: K in plaintext, marked sts=testing" \
  "^K .*remote=plain\.$Z\[$PLAIN\]:25 tls=none auth=none sts=testing" "$final"
check_contains "testing: what enforce would have refused" \
  "MTA-STS mode testing: enforce would have refused: plain.$Z matches no mx: pattern of test.$Z's policy; no TLS" \
  "$final"
expect_only "testing: delivered" t70plain

deliver "$root" "testok.$Z"
check_match "testing, valid certificate: K over TLS, sts=testing" \
  "^K .*remote=mx1\.$Z\[$MX1\]:25 $TLSRE auth=none sts=testing" "$final"
check_not_contains "testing, valid certificate: nothing enforce would refuse" "would have refused" "$final"
expect_only "testing, valid certificate: delivered" t70mx1

deliver "$root" "testwrong.$Z"
check_match "testing, wrong certificate: K over TLS all the same" \
  "^K .*remote=wrong\.$Z\[$WRONG\]:25 $TLSRE auth=none sts=testing" "$final"
check_contains "testing, wrong certificate: noted" \
  "MTA-STS mode testing: enforce would have refused: certificate: hostname mismatch" "$final"
expect_only "testing, wrong certificate: delivered" t70wrong

# --- mode none: no policy --------------------------------------------------
deliver "$root" "none.$Z"
check_match "mode none: K in plaintext, no sts= mark" \
  "^K .*remote=plain\.$Z\[$PLAIN\]:25 tls=none auth=none\\\\n" "$final"
expect_only "mode none: delivered" t70plain

# --- the policy server down, a valid cache: the cache is used ---------------
# Cached as id 1 (the TXT says 2: a refetch, which fails at the dead address).
now=$(date +%s)
printf 'qmail-remote sts cache 1\nid: 1\nfetched: %s\n\nversion: STSv1\nmode: enforce\nmx: mx1.%s\nmax_age: 86400\n' \
  "$now" "$Z" >"$root/queue/sts/down.$Z"
deliver "$root" "down.$Z"
check_match "server down, cache valid: the cached enforce policy skips plain, K from mx1" \
  "^K .*remote=mx1\.$Z\[$MX1\]:25 $TLSRE auth=none sts=enforce" "$final"
expect_only "server down, cache valid: mx1 got it" t70mx1
check_eq "server down: the cache is kept" "id: 1" "$(sed -n 2p "$root/queue/sts/down.$Z")"

# --- bad policy servers: no policy, delivered as `may`, in bounded time ----
# Each domain's only MX is the plaintext server: without a policy the
# message goes there in plaintext; with one it could not.
bad() {
  local name=$1 what=$2 max_ms=${3:-5000}
  deliver "$root" "$name.$Z"
  check_qr_clean "$what: clean"
  check_match "$what: no policy, K as may" \
    "^K .*remote=plain\.$Z\[$PLAIN\]:25 tls=none auth=none\\\\n" "$final"
  if ((QR_MS < max_ms)); then ok "$what: within ${max_ms} ms ($QR_MS)"; else
    fail "$what: within ${max_ms} ms" "took $QR_MS ms"
  fi
  check_eq "$what: nothing cached" "" "$(ls "$root/queue/sts/" | grep -x "$name.$Z")"
  expect_only "$what: delivered" t70plain
}
bad redirect "redirect (301)"
check_eq "redirect: not followed (one request, to the redirecting name)" \
  "1 3" "$(nginx_requests "mta-sts.redirect.$Z") $(nginx_requests "mta-sts.enf.$Z")"
bad big "10 MB policy"
bad garbage "garbage policy"
bad html "text/html policy"
bad badcert "certificate for another name"
check_eq "certificate for another name: no request reached nginx" 0 \
  "$(nginx_requests "mta-sts.badcert.$Z")"
bad slow "silent policy server" 14000
bad drip "policy sent at 100 bytes/s" 14000
bad twice "two v=STSv1 TXT records"
check_eq "two v=STSv1 TXT records: nothing fetched" 0 "$(nginx_requests "mta-sts.twice.$Z")"
bad nopolicy "no TXT record"

# --- an unwritable cache: the policy is fetched and used all the same -------
root3=$(dane_root)
chmod 555 "$root3/queue/sts"
QR_AS_USER=nobody deliver "$root3" "enf.$Z"
check_qr_clean "unwritable cache: clean"
check_match "unwritable cache: K with sts=enforce" "^K .*sts=enforce" "$final"
check_eq "unwritable cache: nothing stored" "" "$(ls -A "$root3/queue/sts")"
expect_only "unwritable cache: mx1 got it" t70mx1

# --- qmail-routes explain and sts (SPEC §11, §14) ---------------------------
ROUTES=${QR_ROUTES_BIN:-$REPO_ROOT/qmail-routes}
# routes ROOT ARGS...: qmail-routes in ROOT; sets OUT and RC.
routes() {
  local root=$1
  shift
  OUT=$(env -i PATH=/usr/bin:/bin "QMAIL_ROOT=$root" "DNSCACHEIP=$DNSCACHEIP" \
    "SSL_CERT_DIR=$SSL_CERT_DIR" "$ROUTES" "$@" 2>&1)
  RC=$?
}
requests_before=$(nginx_requests "mta-sts.enf.$Z")
routes "$root" explain "enf.$Z" s@example.org "r@enf.$Z"
check_contains "explain: the cached policy" \
  "# MTA-STS policy of enf.$Z (cached, id 1): mode enforce, max_age 86400, mx: mx1.$Z" "$OUT"
check_contains "explain: the pair, verified under sts=enforce" \
  "remote=mx1.$Z[$MX1]:25 local=default tls=verify sts=enforce" "$OUT"
# tls=dane without dnssec-anchors: the root key, which this Unbound (local
# data only) cannot answer for: DANE unavailable, not bogus, so MTA-STS
# decides (SPEC §13, §14).
check_contains "explain: DANE unavailable at the trust anchor, so MTA-STS" \
  "# mx1.$Z: DNSSEC unavailable (MX records of enf.$Z: the DNS server gave no DNSKEY answer for the trust anchor" "$OUT"
routes "$root" explain "skip.$Z" s@example.org "r@skip.$Z"
check_contains "explain: the host the policy refuses" \
  "# other.$Z[$OTHER]:25: skipped: matches no mx: pattern of the MTA-STS policy (mode enforce) of skip.$Z" "$OUT"
check_contains "explain: the host it allows" "remote=mx1.$Z[$MX1]:25 local=default tls=verify sts=enforce" "$OUT"
routes "$root" explain "test.$Z" s@example.org "r@test.$Z"
check_contains "explain: testing mode" \
  "remote=plain.$Z[$PLAIN]:25 local=default tls=may sts=testing (enforce would refuse: plain.$Z matches no mx: pattern of test.$Z's policy)" "$OUT"
root4=$(dane_root)
routes "$root4" explain "enf.$Z" s@example.org "r@enf.$Z"
check_contains "explain, nothing cached: says so, as may" \
  "# MTA-STS: no policy for enf.$Z: fetch failed: not cached, and explain does not fetch" "$OUT"
check_contains "explain, nothing cached: the pair as may" "remote=mx1.$Z[$MX1]:25 local=default tls=may" "$OUT"
check_eq "explain: never an HTTPS request" "$requests_before" "$(nginx_requests "mta-sts.enf.$Z")"

routes "$root" sts "enf.$Z"
check_eq "sts DOMAIN: exit 0" 0 "$RC"
check_contains "sts DOMAIN: the TXT id" "TXT _mta-sts.enf.$Z: id 1" "$OUT"
check_contains "sts DOMAIN: the cached policy" $'id: 1\n' "$OUT"
check_contains "sts DOMAIN: mode and mx" $'mode: enforce\nmax_age: 86400\nmx: mx1.t70.example' "$OUT"
routes "$root4" sts "enf.$Z"
check_eq "sts DOMAIN, not cached: exit 1" 1 "$RC"
check_contains "sts DOMAIN, not cached: says so" "enf.$Z: not cached" "$OUT"
routes "$root4" sts --refresh "enf.$Z"
check_eq "sts --refresh: exit 0" 0 "$RC"
check_contains "sts --refresh: fetched" "refresh: fetched" "$OUT"
check_eq "sts --refresh: one HTTPS request" $((requests_before + 1)) "$(nginx_requests "mta-sts.enf.$Z")"
check_match "sts --refresh: stored" '^qmail-remote sts cache 1' "$(head -1 "$root4/queue/sts/enf.$Z")"
routes "$root4" sts "bad/name"
check_eq "sts with a bad DOMAIN: usage error" 2 "$RC"

# qmail-routes check notes a tls=dane route whose cache qmailr cannot use.
routes "$root3" check --as nobody
check_contains "check: queue/sts not writable by the user" \
  "queue/sts: note: nobody cannot write $root3/queue/sts: MTA-STS policies are fetched at every delivery" "$OUT"
nodir=$(route_root "dane;;;;;tls=dane")
routes "$nodir" check --as nobody
check_contains "check: queue/sts missing" \
  "queue/sts: note: routes use tls=dane but $nodir/queue/sts: No such file or directory" "$OUT"
chmod 777 "$root3/queue/sts"
routes "$root3" check --as nobody
check_not_contains "check: a writable queue/sts, no note" "queue/sts" "$OUT"
chmod 555 "$root3/queue/sts"

# --- the TXT record's id changes in DNS: fetched again ------------------------
sed "s/_mta-sts.enf.$Z. TXT \"v=STSv1; id=1;\"/_mta-sts.enf.$Z. TXT \"v=STSv1; id=5;\"/" \
  "$zones" >"$zones.new"
unbound_stop
if unbound_start "$DNS_IP" "$DNS_PORT" "$zones.new"; then ok "Unbound restarted with id=5"; else
  fail "Unbound restarted with id=5" "see above"
fi
requests_before=$(nginx_requests "mta-sts.enf.$Z")
deliver "$root" "enf.$Z"
check_match "id 1 -> 5 in DNS: K with sts=enforce" "^K .*sts=enforce" "$final"
check_eq "id 1 -> 5 in DNS: fetched again" $((requests_before + 1)) "$(nginx_requests "mta-sts.enf.$Z")"
check_eq "id 1 -> 5 in DNS: the cache holds id 5" "id: 5" "$(sed -n 2p "$root/queue/sts/enf.$Z")"
expect_only "id 1 -> 5 in DNS: mx1 got it" t70mx1
deliver "$root" "enf.$Z"
check_eq "id 5 again: no request" $((requests_before + 1)) "$(nginx_requests "mta-sts.enf.$Z")"
expect_only "id 5 again: mx1 got it" t70mx1

summary
