#!/bin/bash
# make demo: one real delivery, end to end, on loopback.
#
# Starts an Exim with STARTTLS and AUTH on 127.0.250.1:587, writes a
# temporary qmail root whose route has two local IPs in failover (the first,
# 192.0.2.1, is not on this machine, so binding it fails) and two remote
# endpoints (the first, 127.0.250.99, has no server), pipes a sample message
# through ./qmail-remote, and shows the report, the message as Exim stored it,
# and Exim's log line. Exim is stopped at the end, whatever happens.
set -u
cd "$(dirname "$0")/.." || exit 1
source tests/integration/lib.sh >/dev/null
ip_block 250

SERVER=127.0.250.1 DEAD=127.0.250.99 LOCAL=127.0.250.10 NOTHERE=192.0.2.1
exim_start demo "$SERVER" 587 tls=on auth=on >/dev/null || {
  echo "demo: could not start Exim on $SERVER:587" >&2
  exit 1
}

root=$(qmail_root_new)
cat >"$root/control/routes" <<ROUTES
# NAME;LOCAL_IPS;REMOTE_ADDRS;USER;PASS;OPTIONS
demo;$NOTHERE&$LOCAL;$DEAD:587&$SERVER:587;testuser;testpass-S3cret;tls=may
ROUTES
cat >"$root/control/routemap" <<ROUTEMAP
# SENDER;RECIPIENT;ROUTE
example.org;*;demo
ROUTEMAP
msg=$T_TMP/message
cat >"$msg" <<MSG
From: Alice <alice@example.org>
To: Bob <bob@dest.example>
Subject: qmail-remote demo

Hello Bob,
.
.This line starts with a dot, and the one above is a lone dot:
both arrive intact (dot-stuffed on the wire, unstuffed by Exim).
MSG

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
say "control/routes and control/routemap ($root/control)"
grep -v '^#' "$root/control/routes" "$root/control/routemap" | sed 's|^.*/control/|  |'
say "qmail-remote dest.example alice@example.org bob@dest.example < message"
run_qmail_remote "$root" dest.example alice@example.org bob@dest.example <"$msg"
say "The report qmail-send receives (letter, text; \\n is a line break):"
report_text | sed 's/^/  /'
wait_for_store demo 1 5 || true
say "The message as Exim stored it (CRLF line ends shown as ^M):"
stored=$(stored_messages demo | tail -n 1)
if [ -n "$stored" ]; then cat -v "$stored" | sed 's/^/  /'; else echo "  (nothing stored)"; fi
say "Exim's log: source address, TLS and AUTH as the server saw them"
exim_received demo | tail -n 1 | sed 's/^/  /'
status=0
[ "$(report_letters)" = rK ] || status=1
[ $status -eq 0 ] && say "Delivered: 192.0.2.1 could not be bound and $DEAD refused, so the walk went on." ||
  say "The demo delivery did not succeed; the report above says why."
exit $status
