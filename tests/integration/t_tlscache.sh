#!/bin/bash
# TLS sessions shared by processes (SPEC §15, §10; issue 17) against a real
# Exim (GnuTLS, which issues TLS 1.3 tickets): the second delivery to a
# server resumes (report tls=...:resumed, Exim's X=...* with
# +tls_resumption); a session made under `may` is never used for `verify`;
# corrupt, truncated, foreign, forged and expired entries, a missing,
# unwritable or unsafe directory all end in a full handshake and K; many
# deliveries at once all K,
# every cache file whole afterwards; a plaintext delivery never touches the
# cache (strace).
#
# The cache files are read and edited by tlscache_check.py, written from
# the format in lib/tls/session_cache.h, not from the C++ under test.
set -u
source "$(dirname "$0")/lib.sh"
source "$IT_DIR/unbound.sh"
ip_block 70

CHECK=(/usr/bin/python3 "$IT_DIR/tlscache_check.py")
msg=$T_TMP/msg
printf 'From: s@example.org\nTo: r@dest.test\nSubject: tlscache\n\nbody\n' >"$msg"

ON=$(alloc_ip) PLAIN=$(alloc_ip)
started=1
exim_start t70on "$ON" 2525 tls=on cert=good.tc.example resume=on accept_max=300 backlog=300 || started=0
exim_start t70plain "$PLAIN" 2525 tls=off || started=0
zones=$T_TMP/zones.conf
{
  echo '  local-zone: "tc.example." static'
  echo "  local-data: \"good.tc.example. A $ON\""
} >"$zones"
unbound_start 127.0.0.70 5330 "$zones" || started=0
export DNSCACHEIP=127.0.0.70:5330
setup_done "$started" "two Exims, Unbound"
ca=$(<"$TEST_CA")

# new_root: a qmail root with queue/tlscache (mode 700, as INSTALL.md
# says), routes for may and verify to the TLS Exim and one to the
# plaintext one. Prints the root. The CA file for verify comes later
# (add_ca): control/tlshosts/<host>.pem turns `may` into `verify` too.
new_root() {
  local root
  root=$(qmail_root_new) || return 1
  mkdir -p "$root/queue/tlscache"
  chmod 700 "$root/queue/tlscache"
  printf '%s\n' "may;;good.tc.example:2525;;;tls=may" "ver;;good.tc.example:2525;;;tls=verify" \
    "plain;;$PLAIN:2525;;;tls=may" >"$root/control/routes"
  printf '%s\n' 'may@example.org;*;may' 'ver@example.org;*;ver' 'plain@example.org;*;plain' \
    >"$root/control/routemap"
  printf '%s\n' "$root"
}
add_ca() {
  mkdir -p "$1/control/tlshosts"
  printf '%s' "$ca" >"$1/control/tlshosts/good.tc.example.pem"
}

# deliver NAME ROOT SENDER: one run to r@dest.test; the sender picks the
# route (routemap). Sets final.
deliver() {
  run_qmail_remote "$2" dest.test "$3" r@dest.test <"$msg"
  check_qr_clean "$1: exit 0, no stderr, framing"
  final=$(report_final 2>/dev/null)
}
FULL='tls=TLSv1\.3:TLS_[A-Z0-9_]+ auth='
RESUMED='tls=TLSv1\.3:TLS_[A-Z0-9_]+:resumed auth='

# entry ROOT POLICY: the cache file whose key names that policy.
entry() {
  local f
  for f in "$1"/queue/tlscache/*; do
    [[ $("${CHECK[@]}" key "$f" 2>/dev/null) == *" policy=$2" ]] && printf '%s\n' "$f"
  done
}

# --- resume ---------------------------------------------------------------
R=$(new_root)
deliver "may, first" "$R" may@example.org
check_match "may, first: K, full handshake" "^K .*remote=good\.tc\.example\[$ON\]:2525 $FULL" "$final"
check_eq "may, first: one cache entry, whole" "ok" \
  "$("${CHECK[@]}" check "$R/queue/tlscache" | awk '{print $2}' | sort -u | tr '\n' ' ' | sed 's/ $//')"
check_eq "may, first: the entry is mode 600" 600 "$(stat -c %a "$(entry "$R" may)")"
check_eq "may, first: its key names the server, its name and the policy" \
  "peer=$ON:2525 name=good.tc.example verify=no ca= cert= ciphers= policy=may" \
  "$("${CHECK[@]}" key "$(entry "$R" may)")"
wait_for_store t70on 1
deliver "may, second" "$R" may@example.org
check_match "may, second: K, resumed" "^K .*remote=good\.tc\.example\[$ON\]:2525 $RESUMED" "$final"
wait_for_store t70on 2
check_match "may, second: Exim logged a resumed session (X=...*)" \
  ' X=TLS1\.3:[^ ]*\* ' "$(exim_received t70on | tail -1)"
check_match "may, first: Exim logged a full handshake (no *)" \
  ' X=TLS1\.3:[^ *]* ' "$(exim_received t70on | head -1)"

# SPEC §15: the may session is not offered to verify (same server, same
# name: only the policy differs).
add_ca "$R"
deliver "verify after may" "$R" ver@example.org
check_match "verify after may: K with a full handshake (the may session not used)" \
  "^K .*remote=good\.tc\.example\[$ON\]:2525 $FULL" "$final"
check_eq "verify after may: two entries now, one per policy" 2 \
  "$("${CHECK[@]}" check "$R/queue/tlscache" | grep -c ' ok ')"
deliver "verify, second" "$R" ver@example.org
check_match "verify, second: K, resumed under verify" "$RESUMED" "$final"
VER=$(entry "$R" verify) MAY=$(entry "$R" may)
# The cases below edit these files in place: without them (a case above
# failed) there is nothing to spoil, and no path to write beside.
[[ -f $VER && -f $MAY ]] ||
  fail_and_stop "the verify and may entries exist" "verify: '$VER', may: '$MAY'"
VERKEY=$("${CHECK[@]}" key "$VER")

# --- bad entries: a full handshake and K ---------------------------------
bad_entry() { # NAME: the verify entry was just spoiled
  deliver "$1" "$R" ver@example.org
  check_match "$1: K with a full handshake" "^K .*$FULL" "$final"
  check_eq "$1: the entry is whole again afterwards" "ok $VERKEY" \
    "$("${CHECK[@]}" check "$R/queue/tlscache" | grep "^${VER##*/} " | cut -d' ' -f2-)"
}
head -c 300 /dev/urandom >"$VER"
bad_entry "corrupt entry (random bytes)"
head -c "$(($(stat -c %s "$VER") / 2))" "$VER" >"$VER.half" && mv "$VER.half" "$VER"
bad_entry "truncated entry"
head -c "$(($(stat -c %s "$VER") - 1))" "$VER" >"$VER.cut" && mv "$VER.cut" "$VER"
bad_entry "entry one byte short"
cp "$MAY" "$VER"
bad_entry "foreign entry (the may session under the verify name)"
"${CHECK[@]}" expire "$VER"
bad_entry "expired entry"
: >"$VER"
bad_entry "empty entry"

# A may session rewritten to carry the verify key (only someone who can
# write the qmailr-owned directory can do this): may sessions are stored
# without the server's certificate, so under verify it is not even offered
# (no certificate to check the name against): a full handshake, K, and the
# entry replaced by a verified one.
"${CHECK[@]}" rekey "$MAY" "$VERKEY" >/dev/null
deliver "forged entry" "$R" ver@example.org
check_match "forged entry (may session, verify key): K with a full handshake" "^K .*$FULL" "$final"
check_eq "forged entry: replaced by a whole verify entry" "ok $VERKEY" \
  "$("${CHECK[@]}" check "$R/queue/tlscache" | grep "^${VER##*/} " | cut -d' ' -f2-)"
deliver "forged entry, next" "$R" ver@example.org
check_match "forged entry, next: resumed on the verified session" "$RESUMED" "$final"

# --- the directory ----------------------------------------------------------
R2=$(new_root)
rm -rf "$R2/queue/tlscache"
deliver "no tlscache directory" "$R2" may@example.org
check_match "no tlscache directory: K" "^K .*$FULL" "$final"
deliver "no tlscache directory, again" "$R2" may@example.org
check_match "no tlscache directory, again: K, not resumed" "^K .*$FULL" "$final"

R3=$(new_root) # root's 0700 directory: nobody cannot write it
QR_AS_USER=nobody deliver "unwritable tlscache (as nobody)" "$R3" may@example.org
check_match "unwritable tlscache: K" "^K .*$FULL" "$final"
check_eq "unwritable tlscache: nothing written" "" "$(ls -A "$R3/queue/tlscache")"

R4=$(new_root) # group-writable: someone else could plant a session
chmod 770 "$R4/queue/tlscache"
deliver "group-writable tlscache" "$R4" may@example.org
check_match "group-writable tlscache: K" "^K .*$FULL" "$final"
check_eq "group-writable tlscache: not used" "" "$(ls -A "$R4/queue/tlscache")"

# SPEC §15: a plaintext delivery does no cache I/O at all, not even a stat.
R5=$(new_root)
trace=$T_TMP/plain.strace
strace -f -qq -e trace=%file,%desc -o "$trace" env -i QMAIL_ROOT="$R5" \
  "$QR_BIN" dest.test plain@example.org r@dest.test <"$msg" >"$T_TMP/plain.out" 2>&1
report_parse "$T_TMP/plain.out"
check_match "plaintext delivery: K, tls=none" "^K .*tls=none" "$R_FINAL"
check_eq "plaintext delivery: no system call names tlscache" "" "$(grep queue/tlscache "$trace")"
check_contains "plaintext delivery: the trace did see the control files" "/control/routes" \
  "$(cat "$trace")"

# --- many at once -------------------------------------------------------------
N=${TLSCACHE_PARALLEL:-100}
R6=$(new_root)
exim_clear t70on
pids=()
for ((i = 1; i <= N; i++)); do
  env -i PATH=/usr/bin:/bin QMAIL_ROOT="$R6" DNSCACHEIP="$DNSCACHEIP" \
    timeout -k 5 60 "$QR_BIN" dest.test may@example.org r@dest.test \
    <"$msg" >"$T_TMP/par-$i.out" 2>"$T_TMP/par-$i.err" &
  pids+=($!)
done
wait "${pids[@]}"
k=0 errs=0
for ((i = 1; i <= N; i++)); do
  report_parse "$T_TMP/par-$i.out"
  [[ $R_FINAL == K* ]] && k=$((k + 1))
  [[ -s $T_TMP/par-$i.err ]] && errs=$((errs + 1))
done
check_eq "$N deliveries at once: all K" "$N" "$k"
check_eq "$N deliveries at once: no stderr" 0 "$errs"
check_eq "$N deliveries at once: one entry, whole, no temporary left" \
  "ok peer=$ON:2525 name=good.tc.example verify=no ca= cert= ciphers= policy=may" \
  "$("${CHECK[@]}" check "$R6/queue/tlscache" | cut -d' ' -f2- | sort -u)"
deliver "after the crowd" "$R6" may@example.org
check_match "after the crowd: resumed" "$RESUMED" "$final"

# --- the code a delivery runs, together (link/README.md) ---------------------
# The static qmail-remote is linked with link/hot-text.ld: its first output
# section holds OpenSSL's TLS client, glibc's and our own delivery code, so a
# STARTTLS delivery maps about 2 MiB of the binary's text instead of 4
# (peak RSS, bench/RESULTS.md). A sanitizer build is dynamic: no layout.
if readelf -lW "$QR_BIN" | grep -q INTERP; then
  echo "  (skipped: $QR_BIN is linked dynamically, the layout is the static build's)"
else
  sections=$(readelf -SW "$QR_BIN")
  # "[ 7] .text.delivery PROGBITS ADDRESS OFFSET SIZE ...": hexadecimal.
  hex=$(sed -n 's/^.*\] \.text\.delivery  *[A-Z]*  *[0-9a-f]*  *[0-9a-f]*  *\([0-9a-f]*\) .*$/\1/p' <<<"$sections")
  check_match "layout: qmail-remote has a .text.delivery section" '^[0-9a-f]+$' "${hex:-none}"
  size=$((16#${hex:-0}))
  if ((size > 1048576)); then
    ok "layout: .text.delivery holds more than 1 MiB ($size bytes)"
  else
    fail "layout: .text.delivery holds $size bytes: link/hot-text.ld matched too little"
  fi
  first=$(grep -o ' \.text[^ ]*' <<<"$sections" | head -1)
  check_eq "layout: it comes before the rest of .text" " .text.delivery" "$first"
  map=$REPO_ROOT/build/qmail-remote.map
  for obj in libssl-lib-statem_clnt.o libcrypto-lib-curve25519.o libcrypto-lib-evp_fetch.o tls.o; do
    where=$(awk -v o="($obj)" '/^\.[a-z]/ { out = $1 } index($0, o) && $1 ~ /^\.text/ { print out; exit }' "$map")
    check_eq "layout: $obj is in .text.delivery" ".text.delivery" "$where"
  done
fi

summary
