#!/usr/bin/env bash
# qmail-routes (SPEC §11) as administrators run it: the built ./qmail-routes
# against a scratch QMAIL_ROOT. Expected outputs are worked out by hand from
# SPEC §3.1, §3.2, §11 and the seed's examples (seeds/001). Self-contained:
# prints "ok - ..." / "not ok - ..." and ends with "N passed, N failed".
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=${QR_ROUTES_BIN:-$REPO/qmail-routes}
# check --as qmailr looks at every directory from / down: the scratch root
# goes where other users can reach it, as the Exim tests' (paths.sh; CI
# clones into a 0700 directory).
# shellcheck source=tests/integration/paths.sh
source "$HERE/paths.sh"
TMPBASE=$(it_tmp_dir "$HERE")
mkdir -p "$TMPBASE" && chmod 755 "$TMPBASE"
ROOT=$(mktemp -d "$TMPBASE/t_routes_cli-XXXX")
chmod 755 "$ROOT" # qmailr must reach control/ (check says so otherwise)
CTL=$ROOT/control
mkdir "$CTL"
echo mail.example.org >"$CTL/me"
export QMAIL_ROOT=$ROOT

# check looks at the files as qmail-remote's user, qmailr (group qmail), and
# a new routes file gets group qmail: make both when this machine has none.
# They stay, as t_qmail.sh's do: removing them at the end would pull them
# from under another run (another checkout's t_routes_cli.sh or t_qmail.sh)
# that found them here and is using them. A failed add (the same add at the
# same moment elsewhere) looks again.
if ! getent group qmail >/dev/null; then
  groupadd --system qmail || getent group qmail >/dev/null
fi
if ! getent passwd qmailr >/dev/null; then
  useradd --system --gid qmail --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin qmailr || getent passwd qmailr >/dev/null
fi

PASSED=0
FAILED=0
cleanup() {
  chattr -i "$CTL" 2>/dev/null
  chmod 755 "$CTL" 2>/dev/null
  rm -rf "$ROOT"
}
trap cleanup EXIT

ok() {
  PASSED=$((PASSED + 1))
  echo "ok - $1"
}
not_ok() {
  FAILED=$((FAILED + 1))
  echo "not ok - $1"
  [[ -n ${2:-} ]] && printf '#   %s\n' "${2//$'\n'/$'\n'#   }"
}
# expect NAME EXPECTED ACTUAL
expect() {
  if [[ $2 == "$3" ]]; then ok "$1"; else not_ok "$1" "expected: $2"$'\n'"got:      $3"; fi
}
# run ARGS...: sets OUT, ERR, RC
run() {
  OUT=$("$BIN" "$@" 2>"$ROOT/.err")
  RC=$?
  ERR=$(<"$ROOT/.err")
}

if [[ ! -x $BIN ]]; then
  not_ok "qmail-routes is built" "$BIN is missing: make qmail-routes"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi

# --- add, list (seed 001's examples) -------------------------------------
run add -d tmail.io -rh main.smtp.tmail.io -p 1
expect "add exits 0" 0 "$RC"
run add --destination tmail.io --remoteHost alt1.smtp.tmail.io --priority 2
run add -d tmail.io --rh alt2.smtp.tmail.io -p 2 --rp 2525
expect "priorities 1, 2, 2: failover then round robin" \
  "to_tmail.io;;main.smtp.tmail.io&alt1.smtp.tmail.io|alt2.smtp.tmail.io:2525;;" "$(<"$CTL/routes")"
expect "one routemap line for the destination" "*;tmail.io;to_tmail.io" "$(<"$CTL/routemap")"

run add -u toorop@tmail.io -rh premium.tmail.io -rl login -rpwd s3cret
expect "sender route placed before the destination route" \
  $'toorop@tmail.io;*;from_toorop_at_tmail.io\n*;tmail.io;to_tmail.io' "$(<"$CTL/routemap")"

run list
expect "list in the seed's style" \
  "1 - Sender: toorop@tmail.io - Destination host: * - Priority: 1 - Local IPs: default - Remote host: premium.tmail.io:25 - Remote login: login - Route: from_toorop_at_tmail.io
2 - Destination host: tmail.io - Priority: 1 - Local IPs: default - Remote host: main.smtp.tmail.io:25 - Route: to_tmail.io
3 - Destination host: tmail.io - Priority: 2 - Local IPs: default - Remote host: alt1.smtp.tmail.io:25 - Route: to_tmail.io
4 - Destination host: tmail.io - Priority: 2 - Local IPs: default - Remote host: alt2.smtp.tmail.io:2525 - Route: to_tmail.io" "$OUT"
[[ $OUT != *s3cret* ]] && ok "list never shows the password" || not_ok "list never shows the password"

run add -u a -f b -rh x.example
expect "-u with -f: usage error, exit 2" 2 "$RC"
[[ $ERR == *"-u and -f"* ]] && ok "-u with -f: says why" || not_ok "-u with -f: says why" "$ERR"

before=$(<"$CTL/routes")
run add -d tmail.io -rh other.example -l 192.0.2.7
expect "conflicting -l refused, exit 1" 1 "$RC"
expect "conflicting -l leaves routes as it was" "$before" "$(<"$CTL/routes")"

# --- explain --no-dns -----------------------------------------------------
run explain --no-dns tmail.io bob@example.com rcpt@tmail.io
expect "explain exits 0" 0 "$RC"
expect "explain: rule, route, tls, auth" \
  $'rule: routemap:2\nroute: to_tmail.io\ntls: may\nauth: no' "$(head -4 <<<"$OUT")"
expect "explain: main first, then the shuffled group" \
  "remote=main.smtp.tmail.io:25 local=default tls=may" "$(sed -n 5p <<<"$OUT")"
expect "explain: three pairs" 7 "$(wc -l <<<"$OUT")"
run explain --no-dns tmail.io toorop@tmail.io rcpt@tmail.io
expect "explain: AUTH named, password not" \
  $'rule: routemap:1\nroute: from_toorop_at_tmail.io\ntls: verify to host names, encrypt to IP literals (USER/PASS and no tls=, SPEC §8)\nauth: yes (user login)\nremote=premium.tmail.io:25 local=default tls=verify' "$OUT"
run explain --no-dns nowhere.example bob@example.com rcpt@nowhere.example
expect "explain: no rule is the MX" \
  $'rule: mx\nroute: mx\ntls: may\nauth: no\nremote=mx local=default tls=may' "$OUT"

# --- del ----------------------------------------------------------------
run del 3
expect "del 3 removes alt1 only" \
  "to_tmail.io;;main.smtp.tmail.io&alt2.smtp.tmail.io:2525;;" "$(sed -n 1p "$CTL/routes")"
run del 1
expect "del of the last entry drops the route" \
  "to_tmail.io;;main.smtp.tmail.io&alt2.smtp.tmail.io:2525;;" "$(<"$CTL/routes")"
expect "del of the last entry drops the routemap line" "*;tmail.io;to_tmail.io" "$(<"$CTL/routemap")"
run del 9
expect "del of an unknown ID: exit 1" 1 "$RC"

# --- check ----------------------------------------------------------------
run check
expect "check on clean files: exit 0, silent" "0:" "$RC:$OUT"
printf '# comment\nbad;1.1.1;;;\n' >>"$CTL/routes"
printf '*;x.example;nosuch\n' >>"$CTL/routemap"
echo 'x.example:relay:0' >"$CTL/smtproutes"
run check
expect "check: exit 1" 1 "$RC"
expect "check: every problem as control/FILE:LINE" \
  "control/smtproutes:1: bad port '0'
control/routes:3: bad IP address '1.1.1' in LOCAL_IPS
control/routemap:2: unknown route 'nosuch'" "$OUT"
printf 'to_tmail.io;;main.smtp.tmail.io&alt2.smtp.tmail.io:2525;;\n' >"$CTL/routes"
printf '*;tmail.io;to_tmail.io\n' >"$CTL/routemap"
rm "$CTL/smtproutes"

# --- a write that fails ---------------------------------------------------
# Root ignores directory permissions: make the directory immutable instead.
cp "$CTL/routes" "$ROOT/routes.before"
cp "$CTL/routemap" "$ROOT/routemap.before"
locked=""
if ((EUID != 0)); then
  chmod 555 "$CTL" && locked=chmod
elif chattr +i "$CTL" 2>/dev/null; then
  locked=chattr
fi
if [[ -n $locked ]]; then
  run add -d new.example -rh relay.example
  expect "write into a read-only directory: exit 1 ($locked)" 1 "$RC"
  [[ $ERR == *control/routes* ]] && ok "the error names the file" || not_ok "the error names the file" "$ERR"
  chattr -i "$CTL" 2>/dev/null
  chmod 755 "$CTL"
  cmp -s "$CTL/routes" "$ROOT/routes.before" && cmp -s "$CTL/routemap" "$ROOT/routemap.before" &&
    ok "the old files are intact" || not_ok "the old files are intact"
  left=$(find "$CTL" -name '.*' -type f | wc -l)
  expect "no temporary file left" 0 "$left"
else
  # tests/unit/admin_test.cc injects a failing writer instead.
  ok "# SKIP cannot make the control directory read-only here"
fi

# --- the annotated samples are valid ---------------------------------------
# Copied with INSTALL.md's modes: samples/routes holds the seed's example
# passwords, and git keeps it 0644, which check rightly refuses.
SAMPLES=$ROOT/samples
mkdir "$SAMPLES" && cp -r "$REPO/control-samples" "$SAMPLES/control"
# INSTALL.md §3: the TLS session cache (else check adds a note about it).
install -d -m 0700 -o qmailr -g qmail "$SAMPLES/queue/tlscache"
OUT=$(QMAIL_ROOT=$SAMPLES "$BIN" check)
[[ $OUT == "control/routes: holds a password or key and every user can read it (0644 "* ]] &&
  ok "control-samples/routes as git keeps it (0644): check says it holds passwords" ||
  not_ok "control-samples/routes as git keeps it (0644): check says it holds passwords" "$OUT"
chgrp qmail "$SAMPLES/control/routes" && chmod 0640 "$SAMPLES/control/routes"
OUT=$(QMAIL_ROOT=$SAMPLES "$BIN" check 2>"$ROOT/check.err")
expect "control-samples/ passes check (routes root:qmail 0640)" "0:" "$?:$OUT"
# The seed's route2 has credentials and no tls=: a note (SPEC §8), not a problem.
expect "control-samples/: the note names route2, whose policy SPEC §8 changed" \
  "control/routes:$(grep -n '^route2;' "$SAMPLES/control/routes" | cut -d: -f1): note: route route2" \
  "$(cut -d' ' -f1-4 "$ROOT/check.err")"
OUT=$(QMAIL_ROOT=$SAMPLES "$BIN" explain --no-dns example.net a@example.org b@example.net)
expect "control-samples/: route3 for example.net, MX then 3.3.3.3:587 from 1.1.1.1" \
  $'rule: routemap:30\nroute: route3\ntls: may\nauth: no\nremote=mx local=1.1.1.1 tls=may\nremote=[3.3.3.3]:587 local=1.1.1.1 tls=may' "$OUT"

# --- add without -d: the default rule (issue 14) ---------------------------
printf 'to_tmail.io;;main.smtp.tmail.io;;\n' >"$CTL/routes"
printf '*;tmail.io;to_tmail.io\n' >"$CTL/routemap"
run add -rh smarthost.example
expect "add without -d, -u or -f: exit 0" 0 "$RC"
run add -d '*' -rh backup.example -p 2
run add -u toorop@tmail.io -rh premium.tmail.io
expect "the default rule *;* is one route, its routemap line stays last" \
  $'toorop@tmail.io;*;from_toorop_at_tmail.io\n*;tmail.io;to_tmail.io\n*;*;default' "$(<"$CTL/routemap")"
expect "-d '*' joins the default route" "default;;smarthost.example&backup.example;;" \
  "$(sed -n 2p "$CTL/routes")"

# --- route options: add, set, list (SPEC §3.1 OPTIONS) ----------------------
run add -d opt.example -rh relay.opt.example -rp 587 -rl u -rpwd pw --tls verify --helo ptr
expect "add with --tls and --helo: exit 0" 0 "$RC"
expect "add writes the options in the sixth field" \
  "to_opt.example;;relay.opt.example:587;u;pw;tls=verify,helo=ptr" "$(grep '^to_opt' "$CTL/routes")"
run list
line=$(grep 'Destination host: opt.example' <<<"$OUT")
id=${line%% *}
expect "list shows the options" \
  "$id - Destination host: opt.example - Priority: 1 - Local IPs: default - Remote host: relay.opt.example:587 - Remote login: u - Options: tls=verify,helo=ptr - Route: to_opt.example" \
  "$line"
run add -d opt.example -rh relay2.opt.example -rl u -rpwd pw --tls may
expect "add with other options for the same route: refused, exit 1" 1 "$RC"
[[ $ERR == *"qmail-routes set ID --tls may"* ]] && ok "the refusal names set" ||
  not_ok "the refusal names set" "$ERR"
run set "$id" --tls encrypt --auth-cleartext yes --helo default
expect "set: exit 0" 0 "$RC"
expect "set says what changed" \
  "route to_opt.example (entry $id): options tls=encrypt,auth-cleartext=yes (were tls=verify,helo=ptr)" "$OUT"
expect "set rewrites the route's options only" \
  "to_opt.example;;relay.opt.example:587;u;pw;tls=encrypt,auth-cleartext=yes" "$(grep '^to_opt' "$CTL/routes")"
run set "$id" --tls maybe
expect "set with a bad value: exit 1" 1 "$RC"
[[ $ERR == *"bad value 'maybe' for option 'tls'"* ]] && ok "set: the parser's words" ||
  not_ok "set: the parser's words" "$ERR"
run explain --no-dns opt.example a@example.org b@opt.example
expect "explain shows the policy set" "tls: encrypt" "$(sed -n 3p <<<"$OUT")"

# --- modes of the routes file (issue 11) ------------------------------------
FRESH=$ROOT/fresh
mkdir -p "$FRESH/control" && chmod 755 "$FRESH"
echo mail.example.org >"$FRESH/control/me"
QMAIL_ROOT=$FRESH "$BIN" add -d tmail.io -rh relay.example -rl u -rpwd pw >/dev/null
expect "a new routes file: 0640 root:qmail" "640 root:qmail" "$(stat -c '%a %U:%G' "$FRESH/control/routes")"
expect "a new routemap file: 0644" "644" "$(stat -c '%a' "$FRESH/control/routemap")"
chmod 0600 "$FRESH/control/routes"
chgrp root "$FRESH/control/routes"
ERR=$(QMAIL_ROOT=$FRESH "$BIN" add -d other.example -rh relay.example -rl u -rpwd pw 2>&1 >/dev/null)
expect "an existing 0600 routes file stays 0600 root:root" "600 root:root" \
  "$(stat -c '%a %U:%G' "$FRESH/control/routes")"
expect "add warns that qmailr cannot read it, with the fix" \
  "qmail-routes: warning: control/routes: qmailr cannot read it (0600 root:root): chgrp qmail $FRESH/control/routes && chmod 0640 $FRESH/control/routes" "$ERR"

# --- check as qmail-remote's user (issue 14) --------------------------------
WHO=$ROOT/who
mkdir -p "$WHO/control" && chmod 755 "$WHO"
echo mail.example.org >"$WHO/control/me"
printf 'r;;127.0.0.1:9;;\n' >"$WHO/control/routes"
printf '*;*;r\n' >"$WHO/control/routemap"
chmod 0600 "$WHO/control/routes"
R=$WHO/control/routes
OUT=$(QMAIL_ROOT=$WHO "$BIN" check)
RC=$?
expect "check (as qmailr): routes 0600 root is a problem, with the fix" \
  "1:control/routes: qmailr cannot read it (0600 root:root): chgrp qmail $R && chmod 0640 $R" "$RC:$OUT"
# What qmail-remote itself does as qmailr: Z, naming the file.
# A copy qmailr can reach: the checkout may be in a 0700 directory (CI).
cp -f "$REPO/qmail-remote" "$TMPBASE/qmail-remote.qmailr" && chmod 755 "$TMPBASE/qmail-remote.qmailr"
report=$(printf 'x\n' | runuser -u qmailr -- env QMAIL_ROOT="$WHO" "$TMPBASE/qmail-remote.qmailr" \
  a.example s@example.org r@a.example | tr '\0' '\n')
[[ $report == *"control/routes"* && $report == Z* ]] &&
  ok "qmail-remote as qmailr: Z naming control/routes (what check found)" ||
  not_ok "qmail-remote as qmailr: Z naming control/routes (what check found)" "$report"
OUT=$(QMAIL_ROOT=$WHO "$BIN" check --as nobody)
nogroup=$(id -gn nobody)
expect "check --as nobody: the fix gives nobody's group" \
  "control/routes: nobody cannot read it (0600 root:root): chgrp $nogroup $R && chmod 0640 $R" "$OUT"
fix=$(QMAIL_ROOT=$WHO "$BIN" check | sed 's/^.*): //')
eval "$fix"
# SPEC §15: no queue/tlscache is a note (not a problem), with the command
# that makes it; one that qmailr does not own is noted too.
ERR=$(QMAIL_ROOT=$WHO "$BIN" check 2>&1 >/dev/null)
expect "no queue/tlscache: a note with the command that makes it" \
  "queue/tlscache: note: $WHO/queue/tlscache: No such file or directory: TLS sessions are not kept, so every STARTTLS delivery makes a full handshake (SPEC §15); to keep them: install -d -m 0700 -o qmailr -g qmail $WHO/queue/tlscache" \
  "$ERR"
mkdir -p -m 0755 "$WHO/queue/tlscache"
ERR=$(QMAIL_ROOT=$WHO "$BIN" check 2>&1 >/dev/null)
[[ $ERR == "queue/tlscache: note: $WHO/queue/tlscache is not owned by qmailr, so qmail-remote does not use it"* ]] &&
  ok "queue/tlscache owned by root: noted, not used" ||
  not_ok "queue/tlscache owned by root: noted, not used" "$ERR"
install -d -m 0700 -o qmailr -g qmail "$WHO/queue/tlscache"
OUT=$(QMAIL_ROOT=$WHO "$BIN" check 2>&1)
expect "after the printed fix, check is clean" "0:" "$?:$OUT"
runuser -u qmailr -- cat "$R" >/dev/null 2>&1 && ok "and qmailr can read routes" ||
  not_ok "and qmailr can read routes"
# A copy qmailr can reach: the checkout may be in a 0700 directory (CI).
cp -f "$REPO/qmail-remote" "$TMPBASE/qmail-remote.qmailr" && chmod 755 "$TMPBASE/qmail-remote.qmailr"
report=$(printf 'x\n' | runuser -u qmailr -- env QMAIL_ROOT="$WHO" "$TMPBASE/qmail-remote.qmailr" \
  a.example s@example.org r@a.example | tr '\0' '\n')
[[ $report != *"control/routes"* ]] && ok "qmail-remote as qmailr reads routes now" ||
  not_ok "qmail-remote as qmailr reads routes now" "$report"
chmod 0700 "$WHO"
OUT=$(QMAIL_ROOT=$WHO "$BIN" check)
expect "a directory on the way qmailr cannot search" \
  "$WHO: qmailr cannot search it (0700 root:root): chmod 0755 $WHO" "$OUT"
chmod 0755 "$WHO"
printf 'r;;127.0.0.1:9;u;s3cret\n' >"$R"
chmod 0644 "$R"
OUT=$(QMAIL_ROOT=$WHO "$BIN" check)
expect "a password every user can read" \
  "control/routes: holds a password or key and every user can read it (0644 root:qmail): chmod 0640 $R" "$OUT"
OUT=$(QMAIL_ROOT=$WHO "$BIN" check --as no-such-user-qr 2>"$ROOT/.err")
RC=$?
ERR=$(<"$ROOT/.err")
[[ $RC == 1 && $ERR == *"note: there is no user no-such-user-qr here"* ]] &&
  ok "--as a user that does not exist: a note, the rest still checked" ||
  not_ok "--as a user that does not exist: a note, the rest still checked" "$RC $ERR"

# --- help -----------------------------------------------------------------
run --help
[[ $RC == 0 && $OUT == "usage: qmail-routes COMMAND"* ]] && ok "--help" || not_ok "--help" "$OUT"
for c in check explain list add set del; do
  run "$c" --help
  [[ $RC == 0 && $OUT == "usage: qmail-routes $c"* ]] && ok "$c --help" || not_ok "$c --help" "$OUT"
done
run frobnicate
expect "unknown command: exit 2" 2 "$RC"

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
