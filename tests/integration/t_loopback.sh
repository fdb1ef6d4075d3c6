#!/bin/bash
# Nothing qmail-remote does reaches an address outside loopback (issue 3,
# item 7): representative deliveries — MX through DNS, STARTTLS with AUTH,
# failover past an unbindable local IP and a dead relay — run under strace,
# and every destination of connect(), sendto() and sendmsg() must be in
# 127.0.0.0/8 or ::1. (bind() to 192.0.2.1 is expected: it fails locally.)
set -u
source "$(dirname "$0")/lib.sh"
source "$IT_DIR/unbound.sh"
ip_block 12

MX=$(alloc_ip) DEAD=$(alloc_ip) L1=$(alloc_ip)
DNS_IP=127.0.0.12 DNS_PORT=5312
exim_start t12mx "$MX" 25 tls=on auth=on
{
  echo '  local-zone: "loop12.example." static'
  echo "  local-data: \"loop12.example. MX 10 mx1.loop12.example.\""
  echo "  local-data: \"mx1.loop12.example. A $MX\""
  echo "  local-data-ptr: \"$L1 ptr12.loop12.example\""
} >"$T_TMP/zone.conf"
unbound_start "$DNS_IP" "$DNS_PORT" "$T_TMP/zone.conf" || fail "unbound" "did not start"
export DNSCACHEIP="$DNS_IP:$DNS_PORT"

# QR_BIN becomes a wrapper that traces the real binary into $TRACE.
REAL_BIN=$QR_BIN
TRACE=$T_TMP/trace
cat >"$T_TMP/traced" <<WRAP
#!/bin/sh
exec strace -f -qq -o "$TRACE" -e trace=connect,sendto,sendmsg "$REAL_BIN" "\$@"
WRAP
chmod 755 "$T_TMP/traced"
QR_BIN=$T_TMP/traced

msg=$T_TMP/msg
printf 'Subject: loopback\n\nbody\n' >"$msg"

# Destinations in the trace that are not loopback, one per line.
outside() {
  grep -oE 'inet_addr\("[0-9.]+"\)|inet_pton\(AF_INET6, "[^"]+"' "$TRACE" |
    sed -E 's/.*"([^"]+)".*/\1/' | grep -vE '^(127\.|::1$)' | sort -u
}
destinations() {
  grep -oE 'inet_addr\("[0-9.]+"\)|inet_pton\(AF_INET6, "[^"]+"' "$TRACE" | wc -l
}

case_run() {  # NAME ROOT HOST
  run_qmail_remote "$2" "$3" s@example.org "r@$3" <"$msg"
  check_qr_clean "$1: clean"
  check_eq "$1: delivered" rK "$(report_letters)"
  (($(destinations) > 0)) && ok "$1: the trace saw its connections" ||
    fail "$1: the trace saw its connections" "no destination in $(head -c 300 "$TRACE")"
  check_eq "$1: nothing outside loopback" "" "$(outside)"
}

root=$(qmail_root_new)
case_run "MX via DNS, STARTTLS" "$root" loop12.example

root=$(qmail_root_new)
printf 'r;192.0.2.1&%s;%s&%s;testuser;testpass-S3cret;tls=encrypt\n' "$L1" "$DEAD" "$MX" \
  >"$root/control/routes"
echo '*;*;r' >"$root/control/routemap"
case_run "failover route, TLS and AUTH" "$root" dest12.example
check_contains "failover route: AUTH used" "auth=PLAIN" "$(report_text)"

# helo=ptr: the EHLO name is the PTR of the local IP in use (SPEC §3.1);
# helo=NAME: that name.
QR_BIN=$REAL_BIN
for opt in "helo=ptr:ptr12.loop12.example" "helo=brand12.example:brand12.example"; do
  root=$(qmail_root_new)
  printf 'r;%s;%s;;;%s\n' "$L1" "$MX" "${opt%%:*}" >"$root/control/routes"
  echo '*;*;r' >"$root/control/routemap"
  exim_clear t12mx
  run_qmail_remote "$root" dest12.example s@example.org r@dest12.example <"$msg"
  check_eq "${opt%%:*}: delivered" rK "$(report_letters)"
  wait_for_store t12mx 1
  check_contains "${opt%%:*}: Exim saw EHLO ${opt#*:}" "H=(${opt#*:}) [$L1]" \
    "$(exim_received t12mx)"
done

summary
