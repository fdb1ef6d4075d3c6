#!/bin/bash
# The binary's contract with qmail before any server is involved (SPEC §1,
# §3, §4): wrong argv, broken control files, partial last lines. Each run:
# exit 0, nothing on stderr, a well-framed report.
set -u
source "$(dirname "$0")/lib.sh"
ip_block 10

msg=$T_TMP/msg
printf 'Subject: t\n\nbody\n' >"$msg"

# Wrong argv: vanilla's exact text (SPEC §1).
root=$(qmail_root_new)
for args in "" "dest.test" "dest.test s@example.org"; do
  # shellcheck disable=SC2086
  run_qmail_remote "$root" $args <"$msg"
  check_qr_clean "argv '$args': exit 0, no stderr, framing"
  check_eq "argv '$args': D usage text" \
    'D I (qmail-remote) was invoked improperly. (#5.3.5)\n' "$(report_text)"
done

# A broken control file is Z naming file and line (SPEC §3), never D.
broken() {  # NAME FILE CONTENT EXPECTED-SUBSTRING
  local root
  root=$(qmail_root_new)
  printf '%b' "$3" >"$root/control/$2"
  run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
  check_qr_clean "$1: exit 0, no stderr, framing"
  check_eq "$1: letter" Z "$(report_letters)"
  check_contains "$1: names file and line" "$4" "$(report_text)"
}
broken "routes bad separator" routes '# comment\n\nr1;;1.2.3.4/5.6.7.8;;\n' 'control/routes line 3:'
broken "routes bad field count" routes 'r1;;\n' 'control/routes line 1:'
broken "routes bad local IP" routes 'ok;;;;\nr1;1.2.3.999;;;\n' 'control/routes line 2:'
broken "routes unknown option" routes 'r1;;;;;colour=blue\n' 'control/routes line 1:'
broken "routemap unknown route" routemap '*;*;nosuch\n' 'control/routemap line 1:'
broken "smtproutes bad port" smtproutes 'dest.test:relay.test:99999\n' 'control/smtproutes line 1:'
broken "timeoutremote not a number" timeoutremote 'soon\n' 'control/timeoutremote'
broken "defaultoutgoingip bad" defaultoutgoingip 'not-an-ip\n' 'control/defaultoutgoingip'

# Files that are not regular files, or too large, are Z naming the file, at
# once (SPEC §3): a FIFO must not block, /dev/zero must not be read.
special() {  # NAME MAKE-COMMAND EXPECTED-SUBSTRING (MAKE-COMMAND gets the path)
  local root
  root=$(qmail_root_new)
  $2 "$root/control/routes"
  QR_TIMEOUT=10 run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
  check_qr_clean "$1: exit 0, no stderr, framing"
  check_eq "$1: letter" Z "$(report_letters)"
  check_contains "$1: names the file" "$3" "$(report_text)"
  if ((QR_MS < 3000)); then ok "$1: at once (${QR_MS} ms)"; else
    fail "$1: at once" "${QR_MS} ms"
  fi
}
make_fifo() { mkfifo "$1"; }
make_zero_link() { ln -s /dev/zero "$1"; }
make_dir() { mkdir "$1"; }
make_5mib() { head -c $((5 << 20)) /dev/zero | tr '\0' '#' >"$1"; }
make_dangling() { ln -s "$1.gone" "$1"; }
special "routes is a FIFO" make_fifo "control/routes: not a regular file"
special "routes is a directory" make_dir "control/routes: not a regular file"
special "routes is 5 MiB" make_5mib "control/routes: larger than the 4 MiB limit"
special "routes is a dangling symlink" make_dangling "control/routes: cannot read:"

# A symlink to /dev/zero: refused before a byte is read, so memory stays
# small (peak RSS from /usr/bin/time; not under ASan, whose shadow memory
# would swamp the figure).
if [[ -x /usr/bin/time && -z ${ASAN_OPTIONS:-} ]]; then
  real_qr=$QR_BIN
  QR_BIN=$T_TMP/qr-rss
  printf '#!/bin/sh\nexec /usr/bin/time -f %%M -o %q %q "$@"\n' "$T_TMP/rss" "$real_qr" >"$QR_BIN"
  chmod 755 "$QR_BIN"
  special "routes -> /dev/zero" make_zero_link "control/routes: not a regular file"
  rss=$(tail -n 1 "$T_TMP/rss" 2>/dev/null)
  if [[ $rss =~ ^[0-9]+$ ]] && ((rss < 32768)); then ok "routes -> /dev/zero: peak RSS ${rss} KiB"
  else fail "routes -> /dev/zero: small memory" "peak RSS '$rss' KiB, limit 32768"; fi
  QR_BIN=$real_qr
else
  special "routes -> /dev/zero" make_zero_link "control/routes: not a regular file"
fi

# Unreadable is not missing (SPEC §3: EACCES never is), for a file and for a
# directory that cannot be searched. Root reads anything, so qmail-remote
# runs as nobody here.
real_qr=$QR_BIN
QR_BIN=$T_TMP/qr-nobody
printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups -- %q "$@"\n' \
  "$real_qr" >"$QR_BIN"
chmod 755 "$QR_BIN"
root=$(qmail_root_new)
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
# A control directory nobody can read: the wrapper works, and the run got
# as far as routing (a Z that names no control file).
check_qr_clean "as nobody, readable files: clean"
check_not_contains "as nobody, readable files: no control error" "control/" "$(report_text)"
echo 'r1;;;;' >"$root/control/routes"
chmod 000 "$root/control/routes"
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
check_qr_clean "routes mode 000 as nobody: clean"
check_eq "routes mode 000 as nobody: letter" Z "$(report_letters)"
check_contains "routes mode 000 as nobody: named" \
  "control/routes: cannot read: Permission denied" "$(report_text)"
root=$(qmail_root_new)
chmod 700 "$root/control"
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
check_qr_clean "control/ mode 700 as nobody: clean"
check_eq "control/ mode 700 as nobody: letter" Z "$(report_letters)"
check_contains "control/ mode 700 as nobody: named" \
  "control/helohost: cannot read: Permission denied" "$(report_text)"
QR_BIN=$real_qr

# routemap junk is Z naming the line and the byte, never echoing it (SPEC
# §3.2's grammar).
junk_map() {  # NAME ROUTEMAP(printf %b) EXPECTED-SUBSTRING
  local root
  root=$(qmail_root_new)
  echo 'r1;;;;' >"$root/control/routes"
  printf '%b' "$2" >"$root/control/routemap"
  run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
  check_qr_clean "$1: clean"
  check_eq "$1: letter" Z "$(report_letters)"
  check_contains "$1: names line and byte" "$3" "$(report_text)"
}
junk_map "routemap control bytes" '*;*;r1\n\x01\x1b[2J;*;r1\n' \
  'control/routemap line 2: bad SENDER: byte 0x01 at position 1'
junk_map "routemap binary junk" '*;*;r1\n*;dest.test\xff\xfe;r1\n' \
  'control/routemap line 2: bad RECIPIENT: byte 0xff at position 10'
junk_map "routemap space" '# c\n*;dest .test;r1\n' \
  "control/routemap line 2: bad RECIPIENT: ' ' at position 5"

# me and helohost both missing: Z naming them.
root=$(qmail_root_new)
rm "$root/control/me"
run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$msg"
check_qr_clean "no me/helohost: clean"
check_eq "no me/helohost: letter" Z "$(report_letters)"
check_contains "no me/helohost: named" "control/me" "$(report_text)"

# A partial last line is D before any connection (SPEC §4): the route points
# at a listener that would record a connection.
listen_ip=$(alloc_ip)
root=$(qmail_root_new)
printf 'r1;;%s:2525;;\n' "$listen_ip" >"$root/control/routes"
echo '*;*;r1' >"$root/control/routemap"
python3 - "$listen_ip" "$T_TMP/accepted" "$T_TMP/listening" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 2525)); s.listen(5); s.settimeout(30)
open(sys.argv[3], "w").close()
try:
    c, _ = s.accept(); open(sys.argv[2], "w").write("connected\n")
except socket.timeout:
    pass
PY
listener=$!
wait_until 5 test -e "$T_TMP/listening"
[[ -e $T_TMP/listening ]] || fail "listener" "not listening after 5 s"

# helohost with CR, space or NUL would put a second command on the wire
# after EHLO (SPEC §3): Z naming the file and line 1, before connecting.
for case in 'a.example\rRSET' 'a.example RSET' 'a.exa\0mple'; do
  bad_helo=$(route_root "r1;;$listen_ip:2525;;")
  printf '%b\n' "$case" >"$bad_helo/control/helohost"
  run_qmail_remote "$bad_helo" dest.test s@example.org r@dest.test <"$msg"
  check_qr_clean "helohost '$case': clean"
  check_eq "helohost '$case': letter" Z "$(report_letters)"
  check_contains "helohost '$case': named" \
    "control/helohost line 1: contains a space or control character" "$(report_text)"
done

# A ';' inside a password splits the routes line; the report names the line
# and never shows any part of the credentials (SPEC §1).
for line in "r1;;$listen_ip:2525;alice;S3c;r3tPa55" \
  "r1;;$listen_ip:2525;alice;S3c;r3tPa55;tls=verify" \
  "r1;;$listen_ip:2525;alice;S3c;tls=r3tPa55"; do
  leak=$(route_root "$line")
  run_qmail_remote "$leak" dest.test s@example.org r@dest.test <"$msg"
  check_qr_clean "password with ';' ($line): clean"
  check_eq "password with ';' ($line): letter" Z "$(report_letters)"
  check_contains "password with ';' ($line): names the line" "control/routes line 1:" \
    "$(report_text)"
  for secret in alice S3c r3tPa55 r3t Pa55; do
    if grep -aqF -- "$secret" "$QR_OUT"; then
      fail "password with ';' ($line): no '$secret'" "$(report_text)"
    else ok "password with ';' ($line): no '$secret'"; fi
  done
done
for case in 'no LF at all' 'ends in CR\r' 'Subject: x\n\nlast line'; do
  printf '%b' "$case" >"$T_TMP/partial"
  run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$T_TMP/partial"
  check_qr_clean "partial '$case': clean"
  check_eq "partial '$case': D #5.6.2" \
    'D SMTP cannot transfer messages with partial final lines. (#5.6.2)\n' "$(report_text)"
done
# A domain cannot be quoted: one that would end the path or add ESMTP
# parameters is D (#5.1.3) before connecting (SPEC §6).
for addr in 'x@dest.test> NOTIFY=NEVER' 'x@dest.test NOTIFY=NEVER'; do
  run_qmail_remote "$root" dest.test s@example.org "$addr" <"$msg"
  check_qr_clean "domain '$addr': clean"
  check_match "domain '$addr': D (#5.1.3)" '^D Address has a domain .*\(#5\.1\.3\)' \
    "$(report_text)"
  run_qmail_remote "$root" dest.test "$addr" r@dest.test <"$msg"
  check_match "sender domain '$addr': D (#5.1.3)" '^D .*\(#5\.1\.3\)' "$(report_text)"
done
# Through a pipe too (SPEC §1: fd 0 may be a pipe).
env -i PATH=/usr/bin:/bin QMAIL_ROOT="$root" "$QR_BIN" dest.test s@example.org r@dest.test \
  < <(printf 'x') >"$T_TMP/pipe.out" 2>"$T_TMP/pipe.err"
check_eq "partial via pipe: D" D "$(report_letters "$T_TMP/pipe.out")"
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
check_eq "helohost, password, domain and partial cases: no connection was made" "" "$(cat "$T_TMP/accepted" 2>/dev/null)"

# CR or LF inside an address is never sent (SPEC §6).
run_qmail_remote "$root" dest.test "s@example.org" $'r@dest.test\r\nRCPT TO:<x@y>' <"$msg"
check_qr_clean "CRLF in recipient: clean"
check_eq "CRLF in recipient: D" D "$(report_letters)"

summary
