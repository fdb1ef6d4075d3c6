#!/bin/bash
# DANE for MX deliveries, DNSSEC validated by qmail-remote itself (SPEC §13,
# §8 `dane`, §10 `dane=ok`; RFC 7672).
#
# A signed test hierarchy is built here with ldns-keygen and ldns-signzone:
# the zone dane.test. (NSEC), whose DS is the trust anchor
# (control/dnssec-anchors), delegating to child zones: unsigned. (no DS),
# expired. (signatures expired), badds. (a DS that matches no key of the
# child) and n3. (NSEC3). One NSD (nsd.sh) serves them all on 127.0.75.1:53,
# authoritatively: it sets no AD bit, so every "secure" below was decided by
# qmail-remote's own validation from the anchor down. NSD, not Unbound in
# front, because the DS queries at a child's apex must reach the parent zone,
# which one NSD serving both does (RFC 4035 §3.1.4.1); a forwarder would add
# nothing the client needs.
#
# The TLSA records name the certificates Exim gets from the test CA
# (exim.sh): 3 1 1 (the server's key), 2 1 0 (the CA's key in full).
set -u
source "$(dirname "$0")/lib.sh"
source "$IT_DIR/nsd.sh"
source "$IT_DIR/unbound.sh"
ip_block 75

NS=$(alloc_ip) E_OK=$(alloc_ip) E_BAD=$(alloc_ip) E_PLAIN=$(alloc_ip) E_TA=$(alloc_ip)
Z=dane.test
ROUTES=${QR_ROUTES_BIN:-$REPO_ROOT/qmail-routes} # tests/sanitize sets it

msg=$T_TMP/msg
printf 'Subject: dane\nX-Test: t_dane\n\nhello over DANE\n' >"$msg"

# --- certificates and their TLSA data --------------------------------------
started=1
exim_start t75ok "$E_OK" 25 tls=on cert=mx-ok.$Z resume=on || started=0
exim_start t75bad "$E_BAD" 25 tls=on cert=mx-bad.$Z || started=0
exim_start t75plain "$E_PLAIN" 25 tls=off || started=0
exim_start t75ta "$E_TA" 25 tls=on cert=mx-ta.$Z || started=0

# spki_sha256 CERT: the hex SHA-256 of the certificate's SubjectPublicKeyInfo.
spki_sha256() {
  openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
    sha256sum | cut -d' ' -f1
}
spki_hex() {
  openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | od -An -v -tx1 |
    tr -d ' \n'
}
OK_KEY=$(spki_sha256 "$(exim_cert mx-ok.$Z).crt")
CA_SPKI=$(spki_hex "$TEST_CA")
WRONG=$(printf 'not the key' | sha256sum | cut -d' ' -f1)

# --- the zones ---------------------------------------------------------------
zd=$T_TMP/zones
mkdir -p "$zd"
# shellcheck disable=SC2016 # $TTL is the zone file's, not the shell's
soa() { printf '$TTL 300\n%s. IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n%s. IN NS ns.%s.\n' \
  "$1" "$Z" "$Z" "$1" "$Z"; }
# keygen ZONE: a key (KSK flags, used alone) in $zd; prints its base name.
keygen() { (cd "$zd" && ldns-keygen -a ECDSAP256SHA256 -k "$1"); }

{
  soa "unsigned.$Z"
  echo "unsigned.$Z. IN MX 10 mx.unsigned.$Z."
  echo "mx.unsigned.$Z. IN A $E_OK"
} >"$zd/unsigned.$Z"

exp_key=$(keygen "expired.$Z")
{
  soa "expired.$Z"
  echo "expired.$Z. IN MX 10 mx.expired.$Z."
  echo "mx.expired.$Z. IN A $E_OK"
  echo "_25._tcp.mx.expired.$Z. IN TLSA 3 1 1 $OK_KEY"
} >"$zd/expired.$Z"

badds_key=$(keygen "badds.$Z")
other_key=$(keygen "badds.$Z") # its DS goes to the parent; it signs nothing
{
  soa "badds.$Z"
  echo "badds.$Z. IN MX 10 mx.badds.$Z."
  echo "mx.badds.$Z. IN A $E_OK"
  echo "_25._tcp.mx.badds.$Z. IN TLSA 3 1 1 $OK_KEY"
} >"$zd/badds.$Z"

n3_key=$(keygen "n3.$Z")
{
  soa "n3.$Z"
  echo "n3.$Z. IN MX 10 mx.n3.$Z."
  echo "mx.n3.$Z. IN A $E_OK" # no TLSA: the NSEC3 proof says so
  # A DANE host inside the NSEC3 zone: its chain is secure, so the host
  # above has a secure "no TLSA", not an insecure one.
  echo "dane.n3.$Z. IN MX 10 mx-dane.n3.$Z."
  echo "mx-dane.n3.$Z. IN A $E_BAD"
  echo "_25._tcp.mx-dane.n3.$Z. IN TLSA 3 1 1 $WRONG"
  # An unsigned delegation under NSEC3 opt-out (as in com. and many TLDs):
  # no NSEC3 matches it, only an opt-out span covers it (RFC 5155 §6).
  echo "optout.n3.$Z. IN NS ns.$Z."
} >"$zd/n3.$Z"
{
  soa "optout.n3.$Z"
  echo "optout.n3.$Z. IN MX 10 mx.optout.n3.$Z."
  echo "mx.optout.n3.$Z. IN A $E_OK"
} >"$zd/optout.n3.$Z"

top_key=$(keygen "$Z")
{
  soa "$Z"
  echo "ns.$Z. IN A $NS"
  for child in unsigned expired badds n3; do echo "$child.$Z. IN NS ns.$Z."; done
  cat "$zd/$exp_key.ds" "$zd/$other_key.ds" "$zd/$n3_key.ds"
  # The vertical slice: TLSA 3 1 1 of Exim's key.
  echo "ok.$Z. IN MX 10 mx-ok.$Z."
  echo "mx-ok.$Z. IN A $E_OK"
  echo "_25._tcp.mx-ok.$Z. IN TLSA 3 1 1 $OK_KEY"
  # A TLSA record that matches nothing, then a good MX.
  echo "mism.$Z. IN MX 10 mx-bad.$Z."
  echo "mism.$Z. IN MX 20 mx-ok.$Z."
  echo "mismonly.$Z. IN MX 10 mx-bad.$Z."
  echo "mx-bad.$Z. IN A $E_BAD"
  echo "_25._tcp.mx-bad.$Z. IN TLSA 3 1 1 $WRONG"
  # A DANE host that does not offer STARTTLS (a stripping man in the middle).
  echo "strip.$Z. IN MX 10 mx-plain.$Z."
  echo "mx-plain.$Z. IN A $E_PLAIN"
  echo "_25._tcp.mx-plain.$Z. IN TLSA 3 1 1 $OK_KEY"
  # A record changed after signing (below).
  echo "tamper.$Z. IN MX 10 mx-tamper.$Z."
  echo "mx-tamper.$Z. IN A $E_BAD"
  echo "_25._tcp.mx-tamper.$Z. IN TLSA 3 1 1 $OK_KEY"
  # A signature stripped after signing, under an empty non-terminal
  # (sub.): unsigned data in a signed zone is bogus, not insecure.
  echo "strip-sig.$Z. IN MX 10 mx.deep.sub.$Z."
  echo "mx.deep.sub.$Z. IN A $E_OK"
  echo "_25._tcp.mx.deep.sub.$Z. IN TLSA 3 1 1 $OK_KEY"
  # DANE-TA(2): the test CA's key in full; the name must match (RFC 7672 §3.2).
  echo "ta.$Z. IN MX 10 mx-ta.$Z."
  echo "mx-ta.$Z. IN A $E_TA"
  echo "_25._tcp.mx-ta.$Z. IN TLSA 2 1 0 $CA_SPKI"
  echo "taname.$Z. IN MX 10 mx-taname.$Z."
  echo "mx-taname.$Z. IN A $E_TA"
  echo "_25._tcp.mx-taname.$Z. IN TLSA 2 1 0 $CA_SPKI"
  # A CNAME'd MX host: the TLSA records at the target (RFC 7672 §2.2.2).
  echo "cn.$Z. IN MX 10 alias.$Z."
  echo "alias.$Z. IN CNAME mx-ok.$Z."
  # Signed, no TLSA: NSEC proves it, delivered as `may`.
  echo "notlsa.$Z. IN MX 10 mx-notlsa.$Z."
  echo "mx-notlsa.$Z. IN A $E_OK"
} >"$zd/$Z"

signed=1
(
  cd "$zd" &&
    ldns-signzone "$Z" "$top_key" &&
    ldns-signzone -e 20200101000000 -i 20190101000000 "expired.$Z" "$exp_key" &&
    ldns-signzone "badds.$Z" "$badds_key" &&
    ldns-signzone -n -p -s abcd -t 1 "n3.$Z" "$n3_key"
) || signed=0
# The tampered record: another address after signing; its RRSIG stays.
sed -i "s/^\(mx-tamper\.$Z\.[[:space:]].*[[:space:]]A[[:space:]]*\)$E_BAD\$/\1$E_OK/" "$zd/$Z.signed"
grep -q "^mx-tamper\.$Z\..*A[[:space:]]*$E_OK\$" "$zd/$Z.signed" || signed=0
# The stripped signature: mx.deep.sub's A loses its RRSIG.
sed -i -E "/^mx\.deep\.sub\.$Z\.[[:space:]].*RRSIG[[:space:]]+A[[:space:]]/d" "$zd/$Z.signed"
grep -qE "^mx\.deep\.sub\.$Z\.[[:space:]].*RRSIG[[:space:]]+A[[:space:]]" "$zd/$Z.signed" && signed=0
cp "$zd/$top_key.ds" "$T_TMP/anchors"

nsd_start "$NS" "$zd" "$Z" "unsigned.$Z" "expired.$Z" "badds.$Z" "n3.$Z" "optout.n3.$Z" ||
  started=0
export DNSCACHEIP=$NS
setup_done "$((started && signed))" "signed zones, NSD, four Exims" "see above (signed=$signed)"

# deliver_in ROOT NAME DOMAIN: one run to r@DOMAIN in ROOT, checked for a
# clean exit; its report's final line in $final.
deliver_in() {
  run_qmail_remote "$1" "$3" s@example.org "r@$3" <"$msg"
  check_qr_clean "$2: exit 0, no stderr, framing"
  final=$(report_final 2>/dev/null)
}

# deliver NAME DOMAIN [control file=content ...]: a fresh root with the
# anchors (unless ANCHORS=no) and no routes (so MX, policy `dane` by
# default), then one run to r@DOMAIN.
deliver() {
  local name=$1 domain=$2 kv
  shift 2
  root=$(qmail_root_new)
  [[ ${ANCHORS:-yes} == yes ]] && cp "$T_TMP/anchors" "$root/control/dnssec-anchors"
  for kv in "$@"; do printf '%s\n' "${kv#*=}" >"$root/control/${kv%%=*}"; done
  deliver_in "$root" "$name" "$domain"
}
TLSRE='tls=TLSv1\.[23]:[A-Z0-9_-]+'

# --- the vertical slice -------------------------------------------------------
deliver "3 1 1" "ok.$Z"
check_match "3 1 1: K, dane=ok on the route line" \
  "^K .*route=mx local=default remote=mx-ok\.$Z\[$E_OK\]:25 $TLSRE auth=none dane=ok" "$final"
wait_for_store t75ok 1
check_match "3 1 1: Exim logged TLS" " X=TLS1\.[23]:" "$(exim_received t75ok)"

ANCHORS=no deliver "no anchors file" "ok.$Z"
check_match "no anchors file: K as may (no DANE)" "^K .*remote=mx-ok\.$Z\[$E_OK\]:25 $TLSRE auth=none" "$final"
check_not_contains "no anchors file: no dane=ok" "dane=ok" "$final"

deliver "routes tls=may" "ok.$Z" "routes=r;;;;;tls=may" "routemap=*;*;r"
check_not_contains "tls=may with anchors: no DANE" "dane=ok" "$final"
check_match "tls=may with anchors: K" "^K " "$final"

# --- mismatch: next MX; none left: Z ------------------------------------------
exim_clear t75bad
deliver "mismatch, then a good MX" "mism.$Z"
check_match "mismatch: K from the second MX with dane=ok" "^K .*remote=mx-ok\.$Z\[$E_OK\]:25 .*dane=ok" "$final"
check_contains "mismatch: the first MX's failure is listed" "mx-bad.$Z" "$final"
check_contains "mismatch: says no TLSA record matched" "DANE" "$final"
check_eq "mismatch: the mismatching server received nothing" "" "$(exim_received t75bad)"

deliver "mismatch only" "mismonly.$Z"
check_match "mismatch only: Z" "^Z " "$final"
check_eq "mismatch only: nothing received" "" "$(exim_received t75bad)"

# --- STARTTLS stripped ---------------------------------------------------------
deliver "no STARTTLS at a DANE host" "strip.$Z"
check_match "strip: Z" "^Z " "$final"
check_contains "strip: says TLS was required" "STARTTLS required by tls=dane but not offered" "$final"
check_eq "strip: no plaintext delivery" "" "$(exim_received t75plain)"

# --- bogus ----------------------------------------------------------------------
exim_clear t75ok
for case in "strip-sig.$Z:stripped RRSIG" "tamper.$Z:tampered A record" "expired.$Z:expired RRSIG" "badds.$Z:DS matching no key"; do
  deliver "bogus (${case#*:})" "${case%%:*}"
  check_match "bogus (${case#*:}): Z" "^Z " "$final"
  check_contains "bogus (${case#*:}): says DNSSEC" "DNSSEC" "$final"
done
check_eq "bogus: nothing delivered anywhere" "" "$(exim_received t75ok)$(exim_received t75bad)"
deliver "bogus (expired RRSIG) reason" "expired.$Z"
check_contains "expired: the reason names the expiry" "expired" "$final"

# --- insecure and secure-without-TLSA: `may` ----------------------------------
deliver "unsigned zone" "unsigned.$Z"
check_match "unsigned zone: K as may" "^K .*remote=mx\.unsigned\.$Z\[$E_OK\]:25 $TLSRE auth=none" "$final"
check_not_contains "unsigned zone: no dane=ok" "dane=ok" "$final"

deliver "NSEC: no TLSA" "notlsa.$Z"
check_match "NSEC no TLSA: K as may" "^K .*remote=mx-notlsa\.$Z\[$E_OK\]:25 $TLSRE auth=none" "$final"
check_not_contains "NSEC no TLSA: no dane=ok" "dane=ok" "$final"

deliver "NSEC3: no TLSA" "n3.$Z"
check_match "NSEC3 no TLSA: K as may" "^K .*remote=mx\.n3\.$Z\[$E_OK\]:25 $TLSRE auth=none" "$final"
check_not_contains "NSEC3 no TLSA: no dane=ok" "dane=ok" "$final"

deliver "unsigned delegation under NSEC3 opt-out" "optout.n3.$Z"
check_match "NSEC3 opt-out, unsigned child: K as may" \
  "^K .*remote=mx\.optout\.n3\.$Z\[$E_OK\]:25 $TLSRE auth=none" "$final"
check_not_contains "NSEC3 opt-out, unsigned child: no dane=ok" "dane=ok" "$final"

exim_clear t75bad
deliver "NSEC3 zone, mismatching TLSA" "dane.n3.$Z"
check_match "NSEC3 zone, mismatching TLSA: Z (the zone is secure)" "^Z .*no matching DANE TLSA" "$final"
check_eq "NSEC3 zone, mismatching TLSA: nothing received" "" "$(exim_received t75bad)"

# --- DANE-TA and CNAME ----------------------------------------------------------
deliver "DANE-TA 2 1 0" "ta.$Z"
check_match "DANE-TA: K, dane=ok" "^K .*remote=mx-ta\.$Z\[$E_TA\]:25 $TLSRE auth=none dane=ok" "$final"
exim_clear t75ta
deliver "DANE-TA, wrong name" "taname.$Z"
check_match "DANE-TA, wrong name: Z" "^Z " "$final"
check_eq "DANE-TA, wrong name: nothing received" "" "$(exim_received t75ta)"

deliver "CNAME'd MX host" "cn.$Z"
check_match "CNAME'd MX host: K, dane=ok" "^K .*remote=alias\.$Z\[$E_OK\]:25 $TLSRE auth=none dane=ok" "$final"

# --- a relay named by host name (SPEC §13), and an IP literal -------------------
deliver "relay, tls=dane" "elsewhere.example" "routes=r;;mx-ok.$Z;;;tls=dane" "routemap=*;*;r"
check_match "relay, tls=dane: K, dane=ok" "^K .*route=r local=default remote=mx-ok\.$Z\[$E_OK\]:25 $TLSRE auth=none dane=ok" "$final"
exim_clear t75bad
deliver "relay, tls=dane, mismatch" "elsewhere.example" "routes=r;;mx-bad.$Z;;;tls=dane" "routemap=*;*;r"
check_match "relay, tls=dane, mismatch: Z" "^Z .*no matching DANE TLSA records" "$final"
check_eq "relay, tls=dane, mismatch: nothing received" "" "$(exim_received t75bad)"
deliver "IP literal, tls=dane" "elsewhere.example" "routes=r;;$E_OK;;;tls=dane" "routemap=*;*;r"
check_match "IP literal, tls=dane: K as may (no name for TLSA)" "^K .*remote=\[$E_OK\]:25 $TLSRE auth=none" "$final"
check_not_contains "IP literal, tls=dane: no dane=ok" "dane=ok" "$final"

# --- DANE and the TLS session cache (SPEC §13, §15) ----------------------------
# One root with queue/tlscache: a session made under `may` is never offered
# under `dane` (the policy and the TLSA records are in the key); a session
# made under DANE is resumed by the next DANE delivery, which OpenSSL does
# not verify again, and still reports dane=ok.
sroot=$(qmail_root_new)
mkdir -p "$sroot/queue/tlscache" && chmod 700 "$sroot/queue/tlscache"
RESUMED=':resumed auth='
deliver_in "$sroot" "cache, may first" "ok.$Z"
check_match "cache, may first: K without DANE" "^K .*remote=mx-ok\.$Z\[$E_OK\]:25 $TLSRE auth=none" "$final"
deliver_in "$sroot" "cache, may again" "ok.$Z"
check_contains "cache, may again: resumed (the server issues tickets)" "$RESUMED" "$final"
cp "$T_TMP/anchors" "$sroot/control/dnssec-anchors"
deliver_in "$sroot" "cache, dane after may" "ok.$Z"
check_match "cache, dane after may: K, dane=ok" "^K .*$TLSRE auth=none dane=ok" "$final"
check_not_contains "cache, dane after may: the may session is not offered" "$RESUMED" "$final"
deliver_in "$sroot" "cache, dane again" "ok.$Z"
check_match "cache, dane again: K, resumed, dane=ok" "^K .*$TLSRE$RESUMED""none dane=ok" "$final"

# --- DANE and MTA-STS both published (SPEC §8, §14; RFC 8461 §2) ----------------
# A cached MTA-STS enforce policy whose mx: names another host, for a
# destination with DANE (ok.) and for one without (unsigned.): DANE wins
# where it applies (the policy would have skipped the host), and the same
# policy is honoured where it does not (the host is skipped: Z).
stsroot=$(qmail_root_new)
cp "$T_TMP/anchors" "$stsroot/control/dnssec-anchors"
mkdir -p "$stsroot/queue/sts"
for d in "ok.$Z" "unsigned.$Z"; do
  printf 'qmail-remote sts cache 1\nid: 1\nfetched: %s\n\nversion: STSv1\nmode: enforce\nmx: elsewhere.example\nmax_age: 86400\n' \
    "$(date +%s)" >"$stsroot/queue/sts/$d"
done
deliver_in "$stsroot" "DANE and MTA-STS" "ok.$Z"
check_match "DANE and MTA-STS: DANE used, K with dane=ok" "^K .*remote=mx-ok\.$Z\[$E_OK\]:25 $TLSRE auth=none dane=ok" "$final"
check_not_contains "DANE and MTA-STS: no sts= mark" "sts=" "$final"
deliver_in "$stsroot" "MTA-STS without DANE" "unsigned.$Z"
check_match "MTA-STS without DANE: the policy skips the host, Z" \
  "^Z .*mx\.unsigned\.$Z\): skipped: matches no mx: pattern of the MTA-STS policy" "$final"

# --- qmail-routes explain and check (SPEC §11, §13) ------------------------------
# explain ROOT DOMAIN: what qmail-remote would try for r@DOMAIN.
explain() {
  env QMAIL_ROOT="$1" DNSCACHEIP="$DNSCACHEIP" "$ROUTES" explain "$2" \
    s@example.org "r@$2" 2>&1
}
root=$(qmail_root_new)
cp "$T_TMP/anchors" "$root/control/dnssec-anchors"
out=$(explain "$root" "mism.$Z")
check_contains "explain: secure host and its TLSA record" \
  "# mx-ok.$Z: DNSSEC secure, TLSA 3 1 1 $OK_KEY" "$out"
check_contains "explain: pair under dane" "remote=mx-ok.${Z}[$E_OK]:25 local=default tls=dane" "$out"
check_contains "explain: the mismatching host is DANE too" "remote=mx-bad.${Z}[$E_BAD]:25 local=default tls=dane" "$out"
out=$(explain "$root" "unsigned.$Z")
check_contains "explain: insecure host, may" "# mx.unsigned.$Z: DNSSEC insecure (MX records of unsigned.$Z: unsigned.$Z. is an unsigned delegation)" "$out"
check_contains "explain: insecure pair is may" "remote=mx.unsigned.${Z}[$E_OK]:25 local=default tls=may" "$out"
out=$(explain "$root" "n3.$Z")
check_contains "explain: NSEC3, secure without TLSA" "# mx.n3.$Z: DNSSEC secure, no TLSA records" "$out"
out=$(explain "$root" "tamper.$Z")
check_contains "explain: bogus host not used" "mx-tamper.${Z}[$E_OK]:25: DNSSEC: mx-tamper.$Z is bogus" "$out"
check_not_contains "explain: no pair for the bogus host" "remote=mx-tamper" "$out"
out=$(env QMAIL_ROOT="$root" DNSCACHEIP="$DNSCACHEIP" "$ROUTES" check 2>&1)
check_contains "check: the resolver passes DNSSEC" "control/dnssec-anchors: note: the DNS server passes DNSSEC records" "$out"
printf '%s\n' "; a comment" "$Z. IN A 127.0.0.1" >"$root/control/dnssec-anchors"
out=$(env QMAIL_ROOT="$root" DNSCACHEIP="$DNSCACHEIP" "$ROUTES" check 2>&1)
check_contains "check: a bad anchors line is named" "control/dnssec-anchors:2: a A record, not DS or DNSKEY" "$out"

# --- other resolvers --------------------------------------------------------------
# Unbound as a cache in front of NSD (not validating, no AD bit used): the
# DNSSEC records pass through it, so DANE works as with NSD itself.
ub=$T_TMP/unbound-stub.conf
# Unbound answers test. itself (RFC 6761) unless told not to.
# log-queries: which queries qmail-remote asked.
printf '  log-queries: yes\n  local-zone: "test." nodefault\nstub-zone:\n  name: "%s."\n  stub-addr: %s@53\n' \
  "$Z" "$NS" >"$ub"
if unbound_start 127.0.0.75 5375 "$ub"; then
  DNSCACHEIP=127.0.0.75:5375 deliver "through Unbound: 3 1 1" "ok.$Z"
  check_match "through Unbound: K, dane=ok" "^K .*remote=mx-ok\.$Z\[$E_OK\]:25 .*dane=ok" "$final"
  # SPEC §13: no anchors, no DNSSEC work: only MX, A and AAAA are asked.
  : >"$UNBOUND_DIR/unbound.log"
  ANCHORS=no DNSCACHEIP=127.0.0.75:5375 deliver "through Unbound, no anchors" "ok.$Z"
  check_match "through Unbound, no anchors: K" "^K " "$final"
  asked=$(grep -oE '[^ ]+ [A-Z0-9]+ IN$' "$UNBOUND_DIR/unbound.log" | sort | tr '\n' ' ')
  check_eq "through Unbound, no anchors: queries" "mx-ok.$Z. A IN mx-ok.$Z. AAAA IN ok.$Z. MX IN " "$asked"
  DNSCACHEIP=127.0.0.75:5375 deliver "through Unbound: tampered" "tamper.$Z"
  check_match "through Unbound: tampered: Z" "^Z .*DNSSEC" "$final"
  unbound_stop
else
  fail "Unbound in front of NSD" "did not start"
fi

# A resolver that returns no DNSSEC records (as djbdns's dnscache): DANE is
# unavailable and the delivery is `may` (SPEC §13).
plain=$T_TMP/unbound-plain.conf
{
  echo "  local-zone: \"$Z.\" static"
  echo "  local-data: \"ok.$Z. MX 10 mx-ok.$Z.\""
  echo "  local-data: \"mx-ok.$Z. A $E_OK\""
} >"$plain"
if unbound_start 127.0.0.75 5375 "$plain"; then
  DNSCACHEIP=127.0.0.75:5375 deliver "resolver without DNSSEC" "ok.$Z"
  check_match "resolver without DNSSEC: K as may" "^K .*remote=mx-ok\.$Z\[$E_OK\]:25 $TLSRE auth=none" "$final"
  check_not_contains "resolver without DNSSEC: no dane=ok" "dane=ok" "$final"
  root=$(qmail_root_new)
  cp "$T_TMP/anchors" "$root/control/dnssec-anchors"
  out=$(env QMAIL_ROOT="$root" DNSCACHEIP=127.0.0.75:5375 "$ROUTES" check 2>&1)
  check_contains "resolver without DNSSEC: check says DANE is unavailable" \
    "control/dnssec-anchors: note: DANE is unavailable" "$out"
  out=$(DNSCACHEIP=127.0.0.75:5375 explain "$root" "ok.$Z")
  check_contains "resolver without DNSSEC: explain says unavailable" \
    "# mx-ok.$Z: DNSSEC unavailable (MX records of ok.$Z: the DNS server returned no signed DNSKEY" "$out"
  check_contains "resolver without DNSSEC: explain shows may" "remote=mx-ok.${Z}[$E_OK]:25 local=default tls=may" "$out"
  unbound_stop
else
  fail "Unbound without DNSSEC" "did not start"
fi

summary
