# shellcheck shell=bash
# Sourced by every tests/integration/t_*.sh. Bookkeeping, addresses, a
# scratch qmail root, running qmail-remote, and looking at what the Exim
# servers of exim.sh received. See doc/TESTING.md.
#
# Call ok/fail/check_* from the test script's own shell, not from a
# $(...) or a pipeline: the counters live in this shell.

# --- a network namespace of our own (netns.sh) ---------------------------
# shellcheck source=tests/integration/netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

# Debian's programs (make deps) come first: the tests start python3 (its
# standard library only) hundreds of times, and a version manager's shim
# found first in PATH (pyenv's) costs about half a second a start.
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$IT_DIR/../.." && pwd)
# shellcheck source=tests/integration/paths.sh
source "$IT_DIR/paths.sh"
IT_TMP=$(it_tmp_dir "$IT_DIR")
QR_BIN=${QR_BIN:-$REPO_ROOT/qmail-remote}
T_NAME=$(basename "${0%.sh}")
T_TMP=$IT_TMP/$T_NAME
T_PASSED=0
T_FAILED=0
QR_CALLS=0

# shellcheck source=tests/integration/exim.sh
source "$IT_DIR/exim.sh"

# Exim runs as Debian-exim: it must be able to enter tmp/.
mkdir -p "$IT_TMP" && chmod 755 "$IT_TMP"
rm -rf "$T_TMP" && mkdir -p "$T_TMP" && chmod 755 "$T_TMP"

# TLS tests check certificates against this CA ($TEST_CA).
exim_ca || echo "lib.sh: could not make the test CA" >&2

# Whatever happens to the script, no server outlives it.
_lib_cleanup() {
  exim_stop_all
  declare -F nginx_stop >/dev/null && nginx_stop
  if declare -F unbound_stop_all >/dev/null; then
    unbound_stop_all
  elif declare -F unbound_stop >/dev/null; then
    unbound_stop
  fi
  if declare -F nsd_stop >/dev/null; then nsd_stop; fi
} >/dev/null 2>&1
trap _lib_cleanup EXIT
trap 'exit 130' INT TERM

# --- bookkeeping -------------------------------------------------------

ok() {
  T_PASSED=$((T_PASSED + 1))
  printf 'ok   %s\n' "$1"
}

fail() {
  T_FAILED=$((T_FAILED + 1))
  printf 'FAIL %s: %s\n' "$1" "${2:-}"
}

# Shows a value on one line, control bytes escaped, at most 300 chars.
_show() {
  local v
  printf -v v '%q' "$1"
  ((${#v} > 300)) && v="${v:0:300}..."
  printf '%s' "$v"
}

check_eq() {
  if [[ $2 == "$3" ]]; then ok "$1"; else
    fail "$1" "expected $(_show "$2"), got $(_show "$3")"
  fi
}

# check_contains NAME NEEDLE HAYSTACK: a fixed string, not a pattern.
check_contains() {
  if [[ $3 == *"$2"* ]]; then ok "$1"; else
    fail "$1" "$(_show "$2") not in $(_show "$3")"
  fi
}

check_not_contains() {
  if [[ $3 != *"$2"* ]]; then ok "$1"; else
    fail "$1" "$(_show "$2") found in $(_show "$3")"
  fi
}

# check_match NAME ERE TEXT
check_match() {
  if [[ $3 =~ $2 ]]; then ok "$1"; else
    fail "$1" "$(_show "$3") does not match /$2/"
  fi
}

# check_file_eq NAME EXPECTED_FILE ACTUAL_FILE: byte for byte.
check_file_eq() {
  local why
  if why=$(cmp -- "$2" "$3" 2>&1); then ok "$1"; else
    fail "$1" "$why"
  fi
}

# Prints the closing line run sums up; must be the test's last output.
summary() {
  printf '%s passed, %s failed\n' "$T_PASSED" "$T_FAILED"
  ((T_FAILED == 0))
}

# fail_and_stop NAME DETAIL: a failure after which nothing the script goes
# on to check could mean anything (its servers did not start, the files it
# edits are not there): counts it, prints the closing line, exits 1.
fail_and_stop() {
  fail "$1" "${2:-}"
  summary
  exit 1
}

# setup_done STARTED WHAT: `ok "setup: WHAT"` when STARTED is non-zero (the
# script's servers are up), else fail_and_stop.
setup_done() {
  if (($1)); then ok "setup: $2"; else fail_and_stop "setup" "${3:-see above}"; fi
}

# --- addresses ---------------------------------------------------------

# ip_block N (1..250): this test file's addresses are 127.0.N.1 ... 254.
# Every t_*.sh picks its own N, so files never share an address.
ip_block() {
  if [[ ! $1 =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 250)); then
    echo "ip_block: want 1..250, got $1" >&2
    return 2
  fi
  T_IP_BLOCK=$1
  echo 0 >"$T_TMP/.ip_next"
}

# Prints the next free address of the block; works inside $(...).
alloc_ip() {
  local n
  if [[ -z ${T_IP_BLOCK:-} ]]; then
    echo "alloc_ip: call ip_block N first" >&2
    return 2
  fi
  n=$(($(<"$T_TMP/.ip_next") + 1))
  if ((n > 254)); then
    echo "alloc_ip: block $T_IP_BLOCK is used up" >&2
    return 1
  fi
  echo "$n" >"$T_TMP/.ip_next"
  printf '127.0.%s.%s\n' "$T_IP_BLOCK" "$n"
}

# --- qmail-remote ------------------------------------------------------

# Prints the path of a new qmail root with control/me and short timeouts.
qmail_root_new() {
  local root
  root=$(mktemp -d "$T_TMP/qroot-XXXX") || return 1
  chmod 755 "$root"
  mkdir "$root/control"
  echo testhost.example >"$root/control/me"
  echo 5 >"$root/control/timeoutconnect"
  echo 10 >"$root/control/timeoutremote"
  printf '%s\n' "$root"
}

# route_root ROUTES [ROUTEMAP]: a new qmail root (as qmail_root_new) whose
# control/routes holds ROUTES and whose routemap sends everything to the
# first route, or holds ROUTEMAP. Both take printf %b escapes (\n between
# lines). Prints the root.
route_root() {
  local root
  root=$(qmail_root_new) || return 1
  printf '%b\n' "$1" >"$root/control/routes"
  if [[ -n ${2:-} ]]; then
    printf '%b' "$2" >"$root/control/routemap"
  else
    printf '*;*;%s\n' "${1%%;*}" >"$root/control/routemap"
  fi
  printf '%s\n' "$root"
}

# run_qmail_remote ROOT HOST SENDER RECIP... <message
# Runs ./qmail-remote with QMAIL_ROOT=ROOT (and DNSCACHEIP when set), in an
# otherwise empty environment, killed after QR_TIMEOUT (60) seconds. Sets:
#   QR_OUT  file with the exact stdout bytes (the report)
#   QR_ERR  file with stderr (must stay empty)
#   QR_RC   exit status (must be 0; 124 means it was killed)
#   QR_MS   wall time in milliseconds
# and parses the report once (report_parse), for report_text,
# report_letters, report_final and check_qr_clean.
run_qmail_remote() {
  local root=$1 t0 t1
  shift
  QR_CALLS=$((QR_CALLS + 1))
  QR_OUT=$T_TMP/qr-$QR_CALLS.out
  QR_ERR=$T_TMP/qr-$QR_CALLS.err
  local env=(PATH=/usr/bin:/bin "QMAIL_ROOT=$root")
  [[ -n ${DNSCACHEIP:-} ]] && env+=("DNSCACHEIP=$DNSCACHEIP")
  # Where OpenSSL finds the system CAs (t_sts.sh points them at the test CA).
  [[ -n ${SSL_CERT_DIR:-} ]] && env+=("SSL_CERT_DIR=$SSL_CERT_DIR")
  [[ -n ${SSL_CERT_FILE:-} ]] && env+=("SSL_CERT_FILE=$SSL_CERT_FILE")
  # A sanitizer build (make sanitize) reports to files: fd 2 is /dev/null.
  [[ -n ${ASAN_OPTIONS:-} ]] && env+=("ASAN_OPTIONS=$ASAN_OPTIONS")
  [[ -n ${UBSAN_OPTIONS:-} ]] && env+=("UBSAN_OPTIONS=$UBSAN_OPTIONS")
  # QR_AS_USER=nobody runs it as that user, as qmail-rspawn runs it as
  # qmailr: root reads every file, so EACCES cases need another user.
  local as=() bin=$QR_BIN
  if [[ -n ${QR_AS_USER:-} ]]; then
    as=(setpriv "--reuid=$QR_AS_USER" "--regid=$(id -g "$QR_AS_USER")" --clear-groups)
    # The checkout may sit in a directory only root can enter (CI clones
    # into a 0700 one): that user runs a copy from IT_TMP, which it can reach.
    bin=$IT_TMP/qmail-remote.as-user
    cp -f "$QR_BIN" "$bin.$$" && chmod 755 "$bin.$$" && mv -f "$bin.$$" "$bin"
  fi
  t0=${EPOCHREALTIME/./}
  env -i "${env[@]}" "${as[@]}" timeout -k 5 "${QR_TIMEOUT:-60}" "$bin" "$@" \
    >"$QR_OUT" 2>"$QR_ERR"
  QR_RC=$?
  t1=${EPOCHREALTIME/./}
  QR_MS=$(((t1 - t0) / 1000))
  report_parse "$QR_OUT"
  QR_PARSED=$QR_OUT QR_LETTERS=$R_LETTERS QR_TEXT=$R_TEXT QR_FINAL=$R_FINAL
  QR_PROBLEMS=$R_PROBLEMS
  return 0
}

# report_parse FILE: reads a report (SPEC section 1: letter, text, NUL,
# ...) as report.py does, in this shell, and sets
#   R_LETTERS   the letters, e.g. "rsK" (a byte outside printable ASCII
#               shown as \xNN, here and in R_TEXT)
#   R_TEXT      one line per report, "LETTER text": the text's LFs shown as
#               the two characters \n, other non-printable bytes as \xNN
#   R_FINAL     the K/Z/D line(s) of R_TEXT
#   R_PROBLEMS  what is wrong with the framing, one line each (empty: none)
# Returns 1 when R_PROBLEMS is not empty. No process is started:
# run_qmail_remote calls it once per run, and the report_* functions below
# only print what it found (t_harness.sh checks it against report.py).
report_parse() {
  local LC_ALL=C chunk letter text c code i ended=1 finals=0 last_final=-1 n=0
  local -a probs=() seen
  R_LETTERS="" R_TEXT="" R_FINAL="" R_PROBLEMS=""
  if [[ ! -r $1 ]]; then
    R_PROBLEMS="cannot read $1"
    return 1
  fi
  if [[ ! -s $1 ]]; then
    R_PROBLEMS="empty report"
    return 1
  fi
  while :; do
    if ! IFS= read -r -d '' chunk; then
      [[ -z $chunk ]] && break
      ended=0
    fi
    if [[ -z $chunk ]]; then
      probs+=("empty report (two NULs in a row)")
      continue
    fi
    letter=${chunk:0:1} text=${chunk:1}
    if [[ $letter != [rhsKZD] ]]; then
      _report_show "$letter"
      letter=$_SHOWN
      probs+=("bad letter '$letter'")
    fi
    if [[ $text == *[!\ -~$'\n']* ]]; then
      seen=()
      for ((i = 0; i < ${#text}; i++)); do
        c=${text:i:1}
        [[ $c == [\ -~$'\n'] ]] && continue
        printf -v code '%d' "'$c"
        seen[code]=1
      done
      c="${!seen[*]}"
      probs+=("$letter report has non-printable bytes [${c// /, }]")
    fi
    _report_show "$text"
    R_LETTERS+=$letter
    R_TEXT+=${R_TEXT:+$'\n'}"$letter $_SHOWN"
    if [[ $letter == [KZD] ]]; then
      finals=$((finals + 1)) last_final=$n
      R_FINAL+=${R_FINAL:+$'\n'}"$letter $_SHOWN"
    fi
    n=$((n + 1))
    ((ended)) || break
  done <"$1"
  if ((!ended)); then
    _report_show "${chunk:0:60}"
    probs=("last report does not end with NUL: '$_SHOWN'" "${probs[@]}")
  fi
  if ((finals != 1)); then
    probs+=("$finals message reports (K/Z/D), want exactly 1")
  elif ((last_final != n - 1)); then
    probs+=("message report is not the last one")
  fi
  ((${#probs[@]} == 0)) && return 0
  printf -v R_PROBLEMS '%s\n' "${probs[@]}"
  R_PROBLEMS=${R_PROBLEMS%$'\n'}
  return 1
}

# _report_show TEXT: sets _SHOWN to TEXT with LF as the two characters \n,
# other bytes outside printable ASCII as \xNN (report.py's show()). Call
# with LC_ALL=C, as report_parse does.
_report_show() {
  local t=$1 c i h
  if [[ $t != *[!\ -~$'\n']* ]]; then
    _SHOWN=${t//$'\n'/\\n}
    return
  fi
  _SHOWN=""
  for ((i = 0; i < ${#t}; i++)); do
    c=${t:i:1}
    if [[ $c == $'\n' ]]; then
      _SHOWN+='\n'
    elif [[ $c == [\ -~] ]]; then
      _SHOWN+=$c
    else
      printf -v h '\\x%02x' "'$c"
      _SHOWN+=$h
    fi
  done
}

# _report_of [FILE]: FILE parsed (default: the last run, parsed once).
_report_of() {
  if [[ -n ${1:-} && $1 != "${QR_PARSED:-}" ]]; then
    report_parse "$1"
    return
  fi
  R_LETTERS=$QR_LETTERS R_TEXT=$QR_TEXT R_FINAL=$QR_FINAL R_PROBLEMS=$QR_PROBLEMS
  [[ -z $R_PROBLEMS ]]
}

# The report of FILE (default: the last run), one line per report; exits 1
# when the framing is wrong, the problems on stderr (as report.py).
report_text() {
  local rc=0
  _report_of "${1:-}" || rc=1
  [[ -n $R_TEXT ]] && printf '%s\n' "$R_TEXT"
  [[ -n $R_PROBLEMS ]] && printf 'report: %s\n' "${R_PROBLEMS//$'\n'/$'\n'report: }" >&2
  return $rc
}

# Just the letters, e.g. "rrK".
report_letters() {
  local rc=0
  _report_of "${1:-}" || rc=1
  printf '%s\n' "$R_LETTERS"
  return $rc
}

# The message report (K/Z/D) only, as "LETTER text".
report_final() {
  local rc=0
  _report_of "${1:-}" || rc=1
  [[ -n $R_FINAL ]] && printf '%s\n' "$R_FINAL"
  return $rc
}

# check_qr_clean NAME: the last run exited 0, wrote nothing to stderr, and
# its report is well framed.
check_qr_clean() {
  local why=""
  ((QR_RC == 0)) || why+="exit status $QR_RC; "
  [[ -s $QR_ERR ]] && why+="stderr: $(_show "$(head -c 300 "$QR_ERR")"); "
  _report_of || why+="framing: ${R_PROBLEMS//$'\n'/ } "
  if [[ -z $why ]]; then ok "$1"; else fail "$1" "$why"; fi
}

# crlf FILE: the bytes an SMTP server stores for an LF message (LF -> CRLF).
crlf() {
  sed 's/$/\r/' -- "$1"
}

# --- what the servers saw ----------------------------------------------

# Stored messages of server NAME, one path a line, oldest first. Each file
# is one recipient's copy: STORE/<exim id>.<recipient>.
stored_messages() {
  local store
  store=$(exim_store "$1")
  find "$store" -maxdepth 1 -type f ! -name '.*' -printf '%T@ %p\n' 2>/dev/null |
    sort -n | cut -d' ' -f2-
}

# The envelope of one stored file: "sender <S>" and "recipient <R>".
stored_envelope() {
  local f=$1
  cat -- "${f%/store/*}/envelope/${f##*/}"
}

exim_log() {
  cat -- "$(exim_logfile "$1")" 2>/dev/null
}

# Only the reception lines: "<= sender H=(helo) [ip]:port I=[ip]:port P=...
# X=cipher A=authenticator:user S=size for rcpt...".
exim_received() {
  grep -F ' <= ' -- "$(exim_logfile "$1")" 2>/dev/null
}

# Empties NAME's store and log between two cases with one server.
exim_clear() {
  local dir
  dir=$(exim_dir "$1")
  find "$dir/store" "$dir/envelope" -mindepth 1 -delete 2>/dev/null
  : >"$dir/log/mainlog"
}

# wait_for_store NAME COUNT [TIMEOUT_SECONDS=5]: until NAME holds at least
# COUNT messages. Files appear whole (renamed into place).
wait_for_store() {
  local name=$1 want=$2 secs=${3:-5}
  wait_until "$secs" _store_has "$name" "$want" && return 0
  echo "wait_for_store $name: $(stored_messages "$name" | wc -l) of $want messages after ${secs}s" >&2
  return 1
}
_store_has() {
  (($(stored_messages "$1" | wc -l) >= $2))
}

# wait_for_ready LOG [SECONDS=5]: until a test server (smtp_script.py,
# hostile.py, delay_proxy.py) has written its first line, READY.
wait_for_ready() {
  wait_for_line "${2:-5}" "$1" '^READY'
}

# server_fence LOG IP PORT [SECONDS=5]: for the python test servers
# (smtp_script.py, hostile.py), which log "N CONNECT ip:port" as they
# accept, in order. Connects from this shell (from 127.0.0.1) and waits
# until LOG names that very connection, so every connection made to IP:PORT
# before it is in LOG too; then closes it. Sets FENCE to the "ip:port" it
# was logged with, for the caller to leave out. 1 when it cannot connect
# or the line does not come within SECONDS.
server_fence() {
  local log=$1 secs=${4:-5} fd ino addr inode lport="" rc=1
  FENCE=""
  exec {fd}<>"/dev/tcp/$2/$3" || return 1
  ino=$(readlink "/proc/$BASHPID/fd/$fd")
  ino=${ino//[^0-9]/}
  # The kernel's table of this namespace's sockets gives the local port.
  while read -r _ addr _ _ _ _ _ _ _ inode _; do
    [[ $inode == "$ino" ]] && lport=$((16#${addr#*:})) && break
  done </proc/net/tcp
  if [[ -n $lport ]]; then
    # shellcheck disable=SC2034 # for the caller
    FENCE=127.0.0.1:$lport
    wait_for_line "$secs" "$log" " CONNECT 127\.0\.0\.1:$lport\$"
    rc=$?
  fi
  exec {fd}>&-
  ((rc == 0)) || echo "server_fence $2:$3: no line for it in $log" >&2
  return $rc
}

# --- which of several servers got the message ------------------------
# A test names its Exims in the array SERVERS first.

count() { stored_messages "$1" | wc -l; }
# Which servers hold how many copies, e.g. "t41mx1=1 t41mx2=0 t41imp=0 t41relay=0".
counts() {
  local s out=""
  for s in "${SERVERS[@]}"; do out+="$s=$(count "$s") "; done
  printf '%s' "${out% }"
}
clear_all() { local s; for s in "${SERVERS[@]}"; do exim_clear "$s"; done; }
# expect_at NAME WHO: the store of WHO (and only WHO) got one copy; WHO
# "none": no store got any.
expect_at() {
  local want="" s
  [[ $2 == none ]] || wait_for_store "$2" 1 2>/dev/null
  for s in "${SERVERS[@]}"; do exim_settle "$s"; done # a copy sent elsewhere is stored
  for s in "${SERVERS[@]}"; do
    if [[ $s == "$2" ]]; then want+="$s=1 "; else want+="$s=0 "; fi
  done
  check_eq "$1" "${want% }" "$(counts)"
}
