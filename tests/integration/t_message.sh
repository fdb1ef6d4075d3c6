#!/bin/bash
# The message on the wire (SPEC §1, §4, §6, §7): dots, CRLF and lone CR
# input, 8-bit bytes and BODY=8BITMIME, the empty message, a 10 MiB body
# (from a file and from a pipe), a 64 MiB body (file and pipe) with the
# peak RSS under 16 MiB (issue 13), the partial last line refused before any
# connection, several recipients. Every expected byte string is built here
# (python3 applies SPEC §6 to the input); Exim stores what it received with
# dots unstuffed, smtp_script.py keeps the wire bytes (dots stuffed).
set -u
source "$(dirname "$0")/lib.sh"
ip_block 20

MX=$(alloc_ip)     # Exim
SC=$(alloc_ip)     # smtp_script.py
LOC=$(alloc_ip)    # qmail-remote's source address (route r1)
exim_start t20m1 "$MX" 2525 || { fail "exim_start t20m1" "see above"; summary; exit; }

# script_start NAME ARGS...: smtp_script.py on $SC:2525, until killed or 20 s.
script_start() {
  local name=$1
  shift
  SCRIPT_LOG=$T_TMP/script-$name.log
  SCRIPT_SAVE=$T_TMP/script-$name.save
  rm -rf "$SCRIPT_SAVE" && mkdir -p "$SCRIPT_SAVE"
  : >"$SCRIPT_LOG"
  python3 "$IT_DIR/smtp_script.py" --listen "$SC:2525" --log "$SCRIPT_LOG" \
    --save "$SCRIPT_SAVE" --timeout 20 "$@" &
  SCRIPT_PID=$!
  wait_for_ready "$SCRIPT_LOG" && return 0
  echo "script_start $name: not ready" >&2
  return 1
}
script_stop() {
  kill "$SCRIPT_PID" 2>/dev/null
  wait "$SCRIPT_PID" 2>/dev/null
}

# A qmail root whose route r1 goes from $LOC to IP:PORT.
root_to() { route_root "r1;$LOC;$1;;"; }
ROOT=$(root_to "$MX:2525")
ROOT_SC=$(root_to "$SC:2525")

# stored_form IN OUT: SPEC §6 line ends (CRLF, LF and lone CR -> CRLF):
# what a server stores once it has removed the dot stuffing.
stored_form() {
  python3 -c '
import re, sys
d = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(re.sub(rb"\r\n|\r|\n", b"\r\n", d))' "$1" "$2"
}
# wire_form IN OUT: the same, then "." doubled at every line start.
wire_form() {
  python3 -c '
import re, sys
d = re.sub(rb"\r\n|\r|\n", b"\r\n", open(sys.argv[1], "rb").read())
d = re.sub(rb"(^|\r\n)\.", rb"\1..", d)
open(sys.argv[2], "wb").write(d)' "$1" "$2"
}

ROUTE_LINE="\\nroute=r1 local=$LOC remote=[$MX]:2525 tls=none auth=none\\n"

# deliver NAME MSG RCPT...: through Exim; checks the run, the report, the
# route line, the client's address in Exim's log and one stored copy per
# recipient equal to stored_form MSG.
deliver() {
  local name=$1 msg=$2 f n=0 bad=""
  shift 2
  exim_clear t20m1
  run_qmail_remote "$ROOT" dest.test s@example.org "$@" <"$msg"
  check_deliver "$name" "$msg" "$@"
}
check_deliver() {
  local name=$1 msg=$2 f n=0 bad="" letters=""
  shift 2
  check_qr_clean "$name: exit 0, no stderr, framing"
  for f in "$@"; do letters+=r; done
  check_eq "$name: report letters" "${letters}K" "$(report_letters)"
  check_contains "$name: route line" "$ROUTE_LINE" "$(report_text)"
  wait_for_store t20m1 $#
  check_contains "$name: Exim saw the route's local IP" " [$LOC]:" "$(exim_received t20m1)"
  stored_form "$msg" "$T_TMP/expected"
  for f in "$@"; do
    local copy
    copy=$(stored_messages t20m1 | grep -F -- ".$f")
    if [[ -z $copy ]]; then bad+=" $f:missing"; continue; fi
    n=$((n + 1))
    cmp -s "$T_TMP/expected" "$copy" || bad+=" $f:differs"
    [[ $(stored_envelope "$copy") == "sender <s@example.org>"$'\n'"recipient <$f>" ]] ||
      bad+=" $f:envelope"
  done
  check_eq "$name: copies stored ($#), each byte for byte" "$#:" "$n:$bad"
}

# --- dots --------------------------------------------------------------
m=$T_TMP/dots
printf 'From: s@example.org\nSubject: dots\n\n.\n..\n..x\n.x\n...\nend .\n. \n.\n' >"$m"
deliver "dots" "$m" r@dest.test
# The stored copy is also crlf's output: the dot lines came back unstuffed.
check_file_eq "dots: stored equals crlf input" <(crlf "$m") "$(stored_messages t20m1)"

# --- CRLF input: kept, not doubled ------------------------------------
m=$T_TMP/crlfin
printf 'From: s@example.org\r\nSubject: crlf\r\n\r\nline\r\n.\r\n\r\nlast\r\n' >"$m"
deliver "CRLF input" "$m" r@dest.test
check_file_eq "CRLF input: stored equals the input itself" "$m" "$(stored_messages t20m1)"
m=$T_TMP/mixed
printf 'From: s@example.org\nSubject: mixed\r\n\nlf\ncrlf\r\nlf\n' >"$m"
deliver "mixed LF/CRLF" "$m" r@dest.test
check_file_eq "mixed LF/CRLF: stored as all CRLF" \
  <(printf 'From: s@example.org\r\nSubject: mixed\r\n\r\nlf\r\ncrlf\r\nlf\r\n') "$(stored_messages t20m1)"

# --- lone CR: a line end ----------------------------------------------
m=$T_TMP/lonecr
printf 'From: s@example.org\nSubject: cr\n\nabc\rdef\nx\r.y\nz\r\r\nend\n' >"$m"
deliver "lone CR" "$m" r@dest.test
check_file_eq "lone CR: stored with CRLF where the CR was (fixed bytes)" \
  <(printf 'From: s@example.org\r\nSubject: cr\r\n\r\nabc\r\ndef\r\nx\r\n.y\r\nz\r\n\r\nend\r\n') \
  "$(stored_messages t20m1)"

# --- 8-bit bytes -------------------------------------------------------
m=$T_TMP/8bit
printf 'From: s@example.org\nSubject: 8bit\n\n\xe9t\xe9 \xff\x80\n\xc3\xa9\n' >"$m"
deliver "8-bit" "$m" r@dest.test
check_file_eq "8-bit: stored equals crlf input" <(crlf "$m") "$(stored_messages t20m1)"

# --- several recipients ------------------------------------------------
m=$T_TMP/several
printf 'From: s@example.org\nSubject: several\n\nhello\n' >"$m"
deliver "several rcpts" "$m" a@dest.test b@dest.test c@other.test d@dest.test
check_match "several rcpts: one reception for all four" \
  'for a@dest.test b@dest.test c@other.test d@dest.test$' "$(exim_received t20m1)"
check_eq "several rcpts: one reception" 1 "$(exim_received t20m1 | wc -l)"

# --- empty message -----------------------------------------------------
: >"$T_TMP/empty"
exim_clear t20m1
run_qmail_remote "$ROOT" dest.test s@example.org r@dest.test <"$T_TMP/empty"
check_qr_clean "empty: exit 0, no stderr, framing"
check_eq "empty: report letters" rK "$(report_letters)"
check_contains "empty: route line" "$ROUTE_LINE" "$(report_text)"
wait_for_store t20m1 1
# Exim's quirk (doc/TESTING.md): it always writes the empty line after the
# (here absent) headers, so an empty body is stored as one CRLF.
check_file_eq "empty: stored as Exim's lone CRLF" <(printf '\r\n') "$(stored_messages t20m1)"

# --- 10 MiB, from a file and from a pipe ------------------------------
big=$T_TMP/big
python3 - "$big" <<'EOF'
import sys
out = [b"From: s@example.org\nSubject: big\n\n"]
size, i = len(out[0]), 0
while size < 10 * 1024 * 1024:
    # Lines of every length 0..199, some starting with "." or "..",
    # some with 8-bit bytes.
    n = i % 200
    line = (b"." if i % 7 == 0 else b"") + (b"\xe9" if i % 11 == 0 else b"") + \
        bytes(33 + (i * 31 + k) % 94 for k in range(n)) + b"\n"
    out.append(line)
    size += len(line)
    i += 1
open(sys.argv[1], "wb").write(b"".join(out))
EOF
check_eq "big: the test message is at least 10 MiB" 1 "$(($(wc -c <"$big") >= 10485760))"
deliver "10 MiB file" "$big" r@dest.test
exim_clear t20m1
run_qmail_remote "$ROOT" dest.test s@example.org p@dest.test < <(cat "$big")
check_deliver "10 MiB pipe" "$big" p@dest.test

# --- 64 MiB, from a file and from a pipe: memory does not grow ----------
# Issue 13: the message is read in windows (a pipe through an unlinked
# temporary file), so the peak RSS stays far below the message's size.
# qmail-remote runs under /usr/bin/time -f %M (as in t_hostile.sh); the
# RSS check is skipped for a sanitizer build, whose shadow memory is not
# the program's own.
huge=$T_TMP/huge
python3 - "$big" "$huge" <<'EOF'
import random, sys
big = open(sys.argv[1], "rb").read()
rnd = random.Random(13)
pieces = [b".", b"..", b"\r", b"\n", b"\r\n", b"abc", b"\xe9", b"\r.", b"\n."]
tail = b"".join(rnd.choice(pieces) for _ in range(3 << 20))
open(sys.argv[2], "wb").write(big * 6 + tail + b"\n")
EOF
check_eq "64 MiB: the test message is at least 64 MiB" 1 "$(($(wc -c <"$huge") >= 67108864))"
RSS_LIMIT_KB=16384
rss_check=yes
if [[ ! -x /usr/bin/time ]]; then
  rss_check="no /usr/bin/time (apt-get install time)"
elif [[ -n ${ASAN_OPTIONS:-} ]] || ldd "$QR_BIN" 2>/dev/null | grep -q libasan; then
  rss_check="a sanitizer build"
fi
REAL_QR=$QR_BIN
RSS_FILE=$T_TMP/rss
if [[ $rss_check == yes ]]; then
  QR_BIN=$T_TMP/qr-rss
  printf '#!/bin/sh\nexec /usr/bin/time -f %%M -o %q %q "$@"\n' "$RSS_FILE" "$REAL_QR" >"$QR_BIN"
  chmod 755 "$QR_BIN"
else
  echo "# 64 MiB: peak RSS not checked: $rss_check"
fi
for how in file pipe; do
  exim_clear t20m1
  : >"$RSS_FILE"
  spools() { find /tmp -maxdepth 1 -name 'qmail-remote-??????' 2>/dev/null | sort; }
  spools_before=$(spools)
  if [[ $how == file ]]; then
    run_qmail_remote "$ROOT" dest.test s@example.org h@dest.test <"$huge"
  else
    run_qmail_remote "$ROOT" dest.test s@example.org h@dest.test < <(cat "$huge")
  fi
  wait_for_store t20m1 1 30
  check_deliver "64 MiB $how" "$huge" h@dest.test
  # The copy of a piped message is unlinked (O_TMPFILE, else at once):
  # no new /tmp/qmail-remote-XXXXXX (mkostemp's name) is left.
  check_eq "64 MiB $how: no temporary file left in /tmp" "" \
    "$(comm -13 <(echo "$spools_before") <(spools))"
  if [[ $rss_check == yes ]]; then
    rss=$(tail -n 1 "$RSS_FILE")
    if [[ $rss =~ ^[0-9]+$ ]] && ((rss < RSS_LIMIT_KB)); then
      ok "64 MiB $how: peak RSS ${rss} KiB < $RSS_LIMIT_KB"
    else
      fail "64 MiB $how: peak RSS" "'${rss}' KiB, limit $RSS_LIMIT_KB"
    fi
  fi
done
QR_BIN=$REAL_QR
rm -f "$huge"

# --- through the scripted server: the wire bytes and the MAIL line ------
script_start wire --ehlo PIPELINING,8BITMIME,SIZE
run_qmail_remote "$ROOT_SC" dest.test s@example.org r@dest.test <"$T_TMP/8bit"
check_qr_clean "wire 8-bit: exit 0, no stderr, framing"
check_eq "wire 8-bit: report letters" rK "$(report_letters)"
size8=$(($(wc -c <"$T_TMP/8bit") + $(tr -cd '\n' <"$T_TMP/8bit" | wc -c)))
check_eq "wire 8-bit: MAIL with SIZE and BODY=8BITMIME (8BITMIME offered)" \
  "1 C MAIL FROM:<s@example.org> SIZE=$size8 BODY=8BITMIME" "$(grep -m1 ' C MAIL' "$SCRIPT_LOG")"
run_qmail_remote "$ROOT_SC" dest.test s@example.org r@dest.test <"$T_TMP/lonecr"
check_qr_clean "wire 7-bit: exit 0, no stderr, framing"
check_match "wire 7-bit: no BODY= for a 7-bit message" \
  '^2 C MAIL FROM:<s@example.org> SIZE=[0-9]+$' "$(grep '^2 C MAIL' "$SCRIPT_LOG")"
wire_form "$T_TMP/lonecr" "$T_TMP/lonecr.wire"
check_file_eq "wire lone CR: bytes on the wire (CRLF, dots stuffed)" "$T_TMP/lonecr.wire" "$SCRIPT_SAVE/msg-2"
run_qmail_remote "$ROOT_SC" dest.test s@example.org r@dest.test <"$T_TMP/dots"
wire_form "$T_TMP/dots" "$T_TMP/dots.wire"
check_file_eq "wire dots: bytes on the wire (dots stuffed)" "$T_TMP/dots.wire" "$SCRIPT_SAVE/msg-3"
run_qmail_remote "$ROOT_SC" dest.test s@example.org r@dest.test <"$T_TMP/empty"
check_eq "wire empty: report letters" rK "$(report_letters)"
check_contains "wire empty: an empty body, then the dot" "4 BODY 0 " "$(cat "$SCRIPT_LOG")"
# 2 MiB of random pieces (".", "..", CR, LF, CRLF, text, 8-bit): line ends
# and dots fall on every kind of boundary of the body's write chunks.
mix=$T_TMP/mix
python3 - "$mix" <<'EOF2'
import random, sys
rnd = random.Random(20)
pieces = [b".", b"..", b"\r", b"\n", b"\r\n", b"abc", b"\xe9", b"\r.", b"\n."]
out, n = [], 0
while n < 2 * 1024 * 1024:
    p = rnd.choice(pieces)
    out.append(p)
    n += len(p)
open(sys.argv[1], "wb").write(b"Subject: mix\n\n" + b"".join(out) + b"\n")
EOF2
run_qmail_remote "$ROOT_SC" dest.test s@example.org r@dest.test <"$mix"
check_qr_clean "wire 2 MiB mix: exit 0, no stderr, framing"
check_eq "wire 2 MiB mix: report letters" rK "$(report_letters)"
wire_form "$mix" "$T_TMP/mix.wire"
check_file_eq "wire 2 MiB mix: bytes on the wire" "$T_TMP/mix.wire" "$SCRIPT_SAVE/msg-5"
check_eq "wire lone CR: no bare CR or LF on the wire" 0 "$(python3 -c '
import sys
d = open(sys.argv[1], "rb").read().replace(b"\r\n", b"")
print(d.count(b"\r") + d.count(b"\n"))' "$SCRIPT_SAVE/msg-2")"
script_stop
script_start no8bit --ehlo PIPELINING
run_qmail_remote "$ROOT_SC" dest.test s@example.org r@dest.test <"$T_TMP/8bit"
check_qr_clean "wire no 8BITMIME: exit 0, no stderr, framing"
check_eq "wire no 8BITMIME: MAIL without BODY= or SIZE=" \
  "1 C MAIL FROM:<s@example.org>" "$(grep -m1 ' C MAIL' "$SCRIPT_LOG")"
script_stop

# --- addresses: quoted local parts (SPEC §6) ----------------------------
# A local part that is not a dot-atom goes as a quoted string, so no
# address adds ESMTP parameters or ends the path early. Exim shows what it
# took: the recipients it logged and stored, and no DSN parameter (Exim
# here offers no DSN: a NOTIFY= would be refused with 555).
exim_clear t20m1
printf 'Subject: quoted\n\nbody\n' >"$T_TMP/quoted"
run_qmail_remote "$ROOT" dest.test "a b@example.org" "john smith@dest.test" \
  "x> NOTIFY=NEVER y@dest.test" "a@b@dest.test" <"$T_TMP/quoted"
check_qr_clean "quoted: exit 0, no stderr, framing"
check_eq "quoted: report letters" rrrK "$(report_letters)"
if wait_for_store t20m1 3; then
  envs=$(for f in $(stored_messages t20m1); do stored_envelope "$f"; done | sort -u)
  # Exim hands its pipe the recipient's local part unquoted (and in lower
  # case), the sender as it came.
  check_eq "quoted: the envelopes Exim stored" "recipient <a@b@dest.test>
recipient <john smith@dest.test>
recipient <x> notify=never y@dest.test>
sender <\"a b\"@example.org>" "$envs"
else
  fail "quoted: Exim stored the three copies" "see above"
fi
check_contains "quoted: Exim logged the quoted recipients" \
  'for "john smith"@dest.test "x> NOTIFY=NEVER y"@dest.test "a@b"@dest.test' \
  "$(exim_received t20m1)"
check_not_contains "quoted: Exim refused nothing" " rejected " "$(exim_log t20m1)"
check_not_contains "quoted: no NOTIFY parameter reached Exim" "NOTIFY" \
  "$(exim_log t20m1 | grep -vF '"x> NOTIFY=NEVER y"@dest.test')"

# --- partial last line: D before any connection ------------------------
script_start partial
: >"$(exim_logfile t20m1)"
for variant in exim script; do
  root=$ROOT
  [[ $variant == script ]] && root=$ROOT_SC
  for kind in text cr; do
    m=$T_TMP/partial-$kind
    if [[ $kind == text ]]; then
      printf 'Subject: partial\n\nno newline at the end' >"$m"
    else
      printf 'Subject: partial\n\nends in a lone CR\r' >"$m"
    fi
    run_qmail_remote "$root" dest.test s@example.org r@dest.test <"$m"
    check_qr_clean "partial ($kind, $variant): exit 0, no stderr, framing"
    check_eq "partial ($kind, $variant): report" \
      "D SMTP cannot transfer messages with partial final lines. (#5.6.2)\\n" "$(report_text)"
  done
done
exim_settle t20m1
server_fence "$SCRIPT_LOG" "$SC" 2525
check_not_contains "partial: Exim saw no connection" "[$LOC]" "$(exim_log t20m1)"
check_not_contains "partial: the scripted server saw no connection" "CONNECT" \
  "$(grep -vF " CONNECT $FENCE" "$SCRIPT_LOG")"
script_stop

summary
