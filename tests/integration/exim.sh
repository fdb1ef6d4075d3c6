# shellcheck shell=bash
# Real Exim servers on loopback for the integration tests. Sourced by lib.sh
# (and by run, to stop leftovers); needs root (Exim binds, -C is trusted).
#
#   exim_start NAME IP PORT [key=value ...]   start, wait for the banner
#   exim_stop NAME                            stop one (by its PID)
#   exim_stop_all                             stop every one this shell started
#   exim_stop_stale                           stop every one under tmp/ whose script has ended
#   exim_settle NAME [SECONDS]                until every connection made so far has ended
#   exim_dir NAME / exim_store NAME / exim_logfile NAME
#   exim_ca                                   make the test CA (exports TEST_CA)
#
# Options (see doc/TESTING.md): tls=off|on|wrongname|selfsigned|cnonly, cert=HOST,
# tlsport=PORT, auth=off|on|required, pipelining=on|off, size=BYTES,
# greeting=220|421|554, ehlo=ok|reject, chunking=on|off, smtputf8=on|off,
# hostname=NAME, delay_STAGE=SECONDS (connect helo mail rcpt predata data),
# accept_max=N (smtp_accept_max), backlog=N (smtp_connect_backlog),
# deferflag=on (451 to every RCPT while the file exim_deferflag NAME exists),
# resume=on (tls_resumption_hosts = *: TLS session tickets, which Exim 4.96
# does not issue by default; its log marks a resumed session X=...*).
#
# Every server applies the same fixed rules: recipients whose local part
# starts with reject550 / defer451 / full552 get that code at RCPT,
# predata554 / predata451 get it at the DATA command; senders starting with
# badsender550 / badsender451 get it at MAIL; a header "X-Test-Reject: 554"
# (or 451) gets that code after the final dot. Everything else is accepted
# for any domain and stored, one file per recipient, byte for byte as it
# came over the wire (CRLF line ends, dots unstuffed, nothing added).

# shellcheck source=tests/integration/poll.sh
source "$(dirname "${BASH_SOURCE[0]}")/poll.sh"

EXIM_BIN=${EXIM_BIN:-/usr/sbin/exim4}
EXIM_USER=Debian-exim
EXIM_TRUSTED_LIST=/etc/exim4/trusted_configs
: "${IT_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
: "${IT_TMP:=$IT_DIR/tmp}"
EXIM_STARTED=()

exim_dir() { printf '%s/exim-%s\n' "$IT_TMP" "$1"; }
exim_store() { printf '%s/exim-%s/store\n' "$IT_TMP" "$1"; }
exim_logfile() { printf '%s/exim-%s/log/mainlog\n' "$IT_TMP" "$1"; }
# With deferflag=on: while this file exists, the server "is broken" (451 to
# every RCPT); remove it and the server is fixed, with no restart.
exim_deferflag() { printf '%s/exim-%s/defer451\n' "$IT_TMP" "$1"; }

# Exim runs as Debian-exim after accepting a connection: every directory
# on the way to its files must be searchable by it.
_exim_mkdir() {
  mkdir -p "$1" && chmod 755 "$1"
}

# The test CA and its certificates, made once per tmp/ with openssl.
# EC keys: fast to make, and GnuTLS (Exim) and OpenSSL both take them.
exim_ca() {
  local ca="$IT_TMP/ca"
  if [[ ! -s $ca/ca.crt ]]; then
    local work
    _exim_mkdir "$IT_TMP"
    work=$(mktemp -d "$IT_TMP/ca.XXXXXX") || return 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$work/ca.key" -out "$work/ca.crt" -days 3650 \
      -subj "/CN=qmail-remote test CA" \
      -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1 || {
      echo "exim_ca: openssl could not make the CA" >&2
      rm -rf "$work"
      return 1
    }
    chmod 755 "$work"
    # A concurrent maker may have won: keep whichever is in place.
    mv -T "$work" "$ca" 2>/dev/null || rm -rf "$work"
  fi
  export TEST_CA="$ca/ca.crt"
}

# exim_cert HOST: prints the path prefix of a certificate for HOST signed by
# the test CA (PREFIX.crt, PREFIX.key); "selfsigned:HOST" makes a
# self-signed one instead, "cnonly:HOST" one that names HOST in its subject
# CN only, with no subjectAltName (RFC 6125 §6.4.4 territory).
exim_cert() {
  local name=$1 ca="$IT_TMP/ca" self="" cnonly=""
  if [[ $name == selfsigned:* ]]; then
    self=1
    name=${name#selfsigned:}
  elif [[ $name == cnonly:* ]]; then
    cnonly=1
    name=${name#cnonly:}
  fi
  local prefix="$ca/${self:+self-}${cnonly:+cnonly-}$name"
  exim_ca || return 1
  if [[ ! -s $prefix.crt ]]; then
    local ext="subjectAltName=DNS:$name"
    [[ -n $cnonly ]] && ext="subjectKeyIdentifier=hash"
    if [[ -n $self ]]; then
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$prefix.key.tmp" -out "$prefix.crt.tmp" -days 3650 \
        -subj "/CN=$name" -addext "$ext" >/dev/null 2>&1 || return 1
    else
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$prefix.key.tmp" -out "$prefix.csr" -subj "/CN=$name" \
        >/dev/null 2>&1 || return 1
      openssl x509 -req -in "$prefix.csr" -CA "$ca/ca.crt" \
        -CAkey "$ca/ca.key" -CAcreateserial -days 3650 \
        -extfile <(printf '%s\n' "$ext" 'extendedKeyUsage=serverAuth') \
        -out "$prefix.crt.tmp" >/dev/null 2>&1 || return 1
    fi
    # Test keys only: Exim reads them as Debian-exim.
    chmod 644 "$prefix.key.tmp" "$prefix.crt.tmp"
    mv "$prefix.key.tmp" "$prefix.key"
    mv "$prefix.crt.tmp" "$prefix.crt"
  fi
  printf '%s\n' "$prefix"
}

# Exim keeps root for a -C file only when the file is listed here.
_exim_trust() {
  local conf=$1
  if [[ ! -e $EXIM_TRUSTED_LIST ]]; then
    install -m 644 /dev/null "$EXIM_TRUSTED_LIST" || return 1
  fi
  grep -qxF -- "$conf" "$EXIM_TRUSTED_LIST" ||
    printf '%s\n' "$conf" >>"$EXIM_TRUSTED_LIST"
}

# exim_start NAME IP PORT [key=value ...]
exim_start() {
  local name=$1 ip=$2 port=$3
  shift 3 || { echo "usage: exim_start NAME IP PORT [opts]" >&2; return 2; }
  if [[ ! $ip =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "exim_start: $ip is not a loopback IPv4 address" >&2
    return 2
  fi
  local tls=off cert=mx1.test tlsport="" auth=off pipelining=on size=0
  local greeting=220 ehlo=ok chunking=on smtputf8=on hostname=mx1.test
  local accept_max=100 backlog=20 deferflag=off resume=off
  local -A delay=([connect]=0 [helo]=0 [mail]=0 [rcpt]=0 [predata]=0 [data]=0)
  local opt key val
  for opt in "$@"; do
    key=${opt%%=*} val=${opt#*=}
    case $key in
      tls) tls=$val ;;
      cert) cert=$val ;;
      tlsport) tlsport=$val ;;
      auth) auth=$val ;;
      pipelining) pipelining=$val ;;
      size) size=$val ;;
      greeting) greeting=$val ;;
      ehlo) ehlo=$val ;;
      chunking) chunking=$val ;;
      smtputf8) smtputf8=$val ;;
      hostname) hostname=$val ;;
      accept_max) accept_max=$val ;;
      backlog) backlog=$val ;;
      deferflag) deferflag=$val ;;
      resume) resume=$val ;;
      delay_*)
        if [[ -z ${delay[${key#delay_}]+x} ]]; then
          echo "exim_start: unknown delay stage: $opt" >&2
          return 2
        fi
        delay[${key#delay_}]=$val
        ;;
      *) echo "exim_start: unknown option: $opt" >&2; return 2 ;;
    esac
  done
  case $tls in
    off | on) ;;
    wrongname) cert=wrongname.invalid ;;
    selfsigned) cert=selfsigned:$cert ;;
    cnonly) cert=cnonly:$cert ;;
    *) echo "exim_start: tls=$tls: want off|on|wrongname|selfsigned|cnonly" >&2; return 2 ;;
  esac

  exim_stop "$name" 2>/dev/null
  local dir
  dir=$(exim_dir "$name")
  rm -rf "$dir"
  _exim_mkdir "$IT_TMP" && _exim_mkdir "$dir" && _exim_mkdir "$dir/store" &&
    _exim_mkdir "$dir/spool" && _exim_mkdir "$dir/log" || return 1
  chown "$EXIM_USER:" "$dir/store" "$dir/spool" "$dir/log"

  local prefix=""
  if [[ $tls != off || -n $tlsport ]]; then
    exim_ca || return 1 # here, not in $(...): it exports TEST_CA
    prefix=$(exim_cert "$cert") || { echo "exim_start: no certificate" >&2; return 1; }
  fi
  _exim_config "$dir" "$ip" "$port" >"$dir/exim.conf" || return 1
  _exim_store_script "$dir" >"$dir/store.sh" || return 1
  chmod 755 "$dir/store.sh"
  _exim_mkdir "$dir/envelope" && chown "$EXIM_USER:" "$dir/envelope"
  chmod 644 "$dir/exim.conf"
  _exim_trust "$dir/exim.conf" || return 1

  # Catch the repository sitting under a directory Exim cannot enter.
  if ! runuser -u "$EXIM_USER" -- test -r "$dir/exim.conf" 2>/dev/null; then
    echo "exim_start: $EXIM_USER cannot read $dir/exim.conf (chmod o+x the parent directories)" >&2
    return 1
  fi

  # The script that owns this server: exim_stop_stale leaves it alone while
  # that script runs (two sessions testing at once must not stop each
  # other's servers).
  echo "$$" >"$dir/owner"
  local ports=$port
  [[ -n $tlsport ]] && ports="$port : $tlsport"
  if ! "$EXIM_BIN" -C "$dir/exim.conf" -bd -oX "$ports" -oP "$dir/exim.pid" \
    >"$dir/start.out" 2>&1; then
    echo "exim_start $name: exim failed:" >&2
    cat "$dir/start.out" "$dir/log/paniclog" >&2 2>/dev/null
    return 1
  fi
  EXIM_STARTED+=("$name")
  echo "$ip $port" >"$dir/listen"
  _exim_wait_banner "$ip" "$port" $((10 + ${delay[connect]%.*})) || {
    echo "exim_start $name: no banner on $ip:$port" >&2
    cat "$dir/log/paniclog" >&2 2>/dev/null
    return 1
  }
}

# Polls IP:PORT until a reply line (any code) arrives: the daemon forks
# before it binds, so a started daemon is not yet a listening one.
_exim_wait_banner() {
  wait_until "$3" _exim_answers "$1" "$2" "$3"
}
_exim_answers() {
  [[ $(_exim_banner "$1" "$2" "$3") =~ ^[0-9]{3} ]]
}

# First line the server sends on IP:PORT, empty when nothing listens.
_exim_banner() {
  (
    exec 9<>"/dev/tcp/$1/$2" || exit 1
    IFS= read -r -t "$3" line <&9 && printf '%s\n' "$line"
  ) 2>/dev/null
}

# The PID from NAME's pidfile, only when that process is an Exim running
# NAME's config: never signal a recycled PID.
_exim_pid() {
  local dir pid
  dir=$(exim_dir "$1")
  [[ -s $dir/exim.pid ]] || return 1
  pid=$(<"$dir/exim.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/exim.conf" ||
    return 1
  printf '%s\n' "$pid"
}

_exim_gone() { ! kill -0 "$1" 2>/dev/null; }

exim_stop() {
  local name=$1 pid
  pid=$(_exim_pid "$name") || return 0
  kill -TERM "$pid" 2>/dev/null
  # The daemon is not our child (it forks away): poll instead of wait.
  wait_until 5 _exim_gone "$pid" || kill -KILL "$pid" 2>/dev/null
  rm -f "$(exim_dir "$name")/exim.pid"
}

# exim_settle NAME [SECONDS=10]: returns once every connection made to
# NAME before the call has ended, with whatever it delivered stored: the
# moment to look for what must not have happened ("nothing stored", "no
# MAIL", "no connection from L"), instead of sleeping a while. First a
# connection of its own (a fence): the daemon accepts in order, and logs
# "SMTP connection from" and forks for a connection before it accepts the
# next, so once the fence gets its banner every earlier connection is in
# the log and has its process. Then it waits until no process but the
# daemon runs NAME's config: the reception processes and the delivery
# processes they fork (store.sh runs under those). The fence says QUIT
# from 127.0.0.1, so its log lines name no address of a test's block.
# Returns 1 (with a line on stderr) when that takes longer than SECONDS.
exim_settle() {
  local name=$1 secs=${2:-10} dir ip port
  dir=$(exim_dir "$name")
  read -r ip port <"$dir/listen" 2>/dev/null || {
    echo "exim_settle $name: not started" >&2
    return 1
  }
  if ! _exim_fence "$ip" "$port" "$secs"; then
    echo "exim_settle $name: no banner from $ip:$port" >&2
    return 1
  fi
  wait_until "$secs" _exim_idle "$name" && return 0
  echo "exim_settle $name: still busy after ${secs}s" >&2
  return 1
}

# Connects, reads the banner, says QUIT and closes; 1 without a banner.
_exim_fence() {
  (
    exec 9<>"/dev/tcp/$1/$2" || exit 1
    IFS= read -r -t "$3" line <&9 || exit 1
    [[ $line =~ ^[0-9]{3} ]] || exit 1
    printf 'QUIT\r\n' >&9
  ) 2>/dev/null
}

# True when the only process running NAME's config is its daemon (or none
# is: a stopped server runs nothing).
_exim_idle() {
  local daemon pid conf
  local -a args
  daemon=$(_exim_pid "$1") || daemon=""
  conf=$(exim_dir "$1")/exim.conf
  for pid in $(pgrep -x exim4); do
    [[ $pid == "$daemon" ]] && continue
    mapfile -d '' args <"/proc/$pid/cmdline" 2>/dev/null || continue
    [[ " ${args[*]} " == *" -C $conf "* ]] && return 1
  done
  return 0
}

exim_stop_all() {
  local name
  for name in "${EXIM_STARTED[@]}"; do
    exim_stop "$name"
  done
  EXIM_STARTED=()
}

# Every daemon a previous (killed) run left behind under tmp/.
exim_stop_stale() {
  local pidfile name owner
  for pidfile in "$IT_TMP"/exim-*/exim.pid; do
    [[ -e $pidfile ]] || continue
    name=${pidfile%/exim.pid}
    owner=$(cat "$name/owner" 2>/dev/null)
    [[ -n $owner ]] && kill -0 "$owner" 2>/dev/null && continue
    name=${name##*/exim-}
    exim_stop "$name"
  done
}

# Writes the config on stdout. Uses exim_start's locals.
_exim_config() {
  local dir=$1 ip=$2 port=$3 ifaces="$2.$3"
  [[ -n $tlsport ]] && ifaces="$ip.$port : $ip.$tlsport"
  cat <<EOF
# Generated by tests/integration/exim.sh: a test sink, loopback only.
primary_hostname = $hostname
qualify_domain = $hostname
local_interfaces = <; ${ifaces//:/;}
exim_user = $EXIM_USER
exim_group = $EXIM_USER
keep_environment =
never_users = root
spool_directory = $dir/spool
log_file_path = $dir/log/%slog
log_selector = +incoming_interface +incoming_port +received_recipients \\
  +smtp_connection +smtp_protocol_error +smtp_syntax_error +tls_cipher \\
  +tls_sni +tls_peerdn +pipelining +smtp_no_mail +connection_reject \\
  +millisec +sender_on_delivery +tls_resumption
# No DNS, no ident: loopback only, and nothing to slow a test down.
host_lookup =
rfc1413_hosts =
# Deliver at once, in the daemon's children: the store is filled moments
# after the client's final dot.
queue_only = false
smtp_accept_queue_per_connection = 0
smtp_accept_max = $accept_max
smtp_connect_backlog = $backlog
smtp_accept_max_per_host = 0
smtp_accept_reserve = 0
# Keep the message as it came: no Received: line, nothing else added.
received_header_text =
message_size_limit = $size
pipelining_advertise_hosts = $([[ $pipelining == on ]] && echo '*')
chunking_advertise_hosts = $([[ $chunking == on ]] && echo '*')
smtputf8_advertise_hosts = $([[ $smtputf8 == on ]] && echo '*')
tls_advertise_hosts = $([[ $tls != off ]] && echo '*')
$(_exim_tls_lines)
auth_advertise_hosts = $([[ $auth != off ]] && echo '*')
# PIPECONNECT (early pipelining) is rare in the wild: off.
pipelining_connect_advertise_hosts =
smtp_banner = \$primary_hostname ESMTP Exim test sink
acl_smtp_connect = acl_connect
acl_smtp_helo = acl_helo
acl_smtp_mail = acl_mail
acl_smtp_rcpt = acl_rcpt
acl_smtp_predata = acl_predata
acl_smtp_data = acl_data

begin acl

acl_connect:
  warn delay = ${delay[connect]}s
$(_exim_greeting_lines)
  accept

acl_helo:
  warn delay = ${delay[helo]}s
$([[ $ehlo == reject ]] && printf '%s\n' \
  '  deny condition = ${if match{$smtp_command}{\N^(?i)ehlo\b\N}}' \
  '       message = 550 EHLO refused by test sink')
  accept

acl_mail:
  warn delay = ${delay[mail]}s
$([[ $auth == required ]] && printf '%s\n' \
  '  deny !authenticated = *' \
  '       message = 530 5.7.0 Authentication required')
  deny condition = \${if match{\$sender_address_local_part}{^badsender550}}
       message = 550 5.1.0 sender rejected by test sink
  defer condition = \${if match{\$sender_address_local_part}{^badsender451}}
       message = 451 4.1.0 sender deferred by test sink
  accept

acl_rcpt:
  warn delay = ${delay[rcpt]}s
$([[ $deferflag == on ]] && printf '%s\n' \
  "  defer condition = \${if exists{$(exim_deferflag "$name")}}" \
  '       message = 451 4.3.0 test sink is broken for now, try again later')
  deny local_parts = ^reject550
       message = 550 5.1.1 recipient rejected by test sink
  defer local_parts = ^defer451
       message = 451 4.2.0 recipient deferred by test sink
  deny local_parts = ^full552
       message = 552 5.2.2 mailbox full in test sink
  accept hosts = 127.0.0.0/8
  deny message = 550 relay not permitted

acl_predata:
  warn delay = ${delay[predata]}s
  deny condition = \${if match{\$recipients}{(^|[ ,])predata554}}
       message = 554 5.5.4 DATA refused by test sink
  defer condition = \${if match{\$recipients}{(^|[ ,])predata451}}
       message = 451 4.5.1 DATA deferred by test sink
  accept

acl_data:
  warn delay = ${delay[data]}s
  deny condition = \${if eq{\$h_X-Test-Reject:}{554}}
       message = 554 5.6.0 message rejected by test sink
  defer condition = \${if eq{\$h_X-Test-Reject:}{451}}
       message = 451 4.6.0 message deferred by test sink
  accept

begin routers

store:
  driver = accept
  transport = store

begin transports

# One file per recipient: STORE/<exim id>.<recipient>, written by
# store.sh (an appendfile name built from the recipient would be tainted
# data). CRLF line ends as on the wire; no "From " line, no escaping, no
# added header lines.
store:
  driver = pipe
  command = $dir/store.sh
  user = $EXIM_USER
  group = $EXIM_USER
  use_crlf
  message_prefix =
  message_suffix =
  return_path_add = false
  envelope_to_add = false
  delivery_date_add = false
  return_output = false
  log_output = true

begin retry
* * F,1m,1m

$(_exim_auth_lines)
EOF
}

# The pipe transport's command: the message on stdin, the envelope in the
# environment. Written under a temporary name and renamed, so a file in the
# store is always complete; the envelope goes to envelope/<same name> as two
# lines, "sender <S>" and "recipient <R>".
_exim_store_script() {
  local dir=$1
  cat <<EOF
#!/bin/sh
umask 022
name=\$MESSAGE_ID.\$(printf '%s' "\$RECIPIENT" | tr -c 'A-Za-z0-9@._+=-' '_')
cat >"$dir/store/.\$name.tmp" || exit 75
printf 'sender <%s>\\nrecipient <%s>\\n' "\$SENDER" "\$RECIPIENT" >"$dir/envelope/\$name" || exit 75
mv "$dir/store/.\$name.tmp" "$dir/store/\$name" || exit 75
EOF
}

_exim_tls_lines() {
  [[ -n $prefix ]] || return 0
  printf 'tls_certificate = %s.crt\ntls_privatekey = %s.key\n' "$prefix" "$prefix"
  [[ -n $tlsport ]] && printf 'tls_on_connect_ports = %s\n' "$tlsport"
  [[ $resume == on ]] && printf 'tls_resumption_hosts = *\n'
  return 0
}

_exim_greeting_lines() {
  case $greeting in
    220) ;;
    4*) printf '  defer message = %s greeting refused by test sink\n' "$greeting" ;;
    5*) printf '  deny message = %s greeting refused by test sink\n' "$greeting" ;;
  esac
}

# PLAIN, LOGIN and CRAM-MD5 for testuser / testpass-S3cret, offered with or
# without TLS: the tests need to see the client refuse cleartext itself.
_exim_auth_lines() {
  [[ $auth != off ]] || return 0
  cat <<'EOF'
begin authenticators

PLAIN:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{testuser}}{eq{$auth3}{testpass-S3cret}}}}
  server_set_id = $auth2
  server_advertise_condition = true

LOGIN:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and{{eq{$auth1}{testuser}}{eq{$auth2}{testpass-S3cret}}}}
  server_set_id = $auth1
  server_advertise_condition = true

CRAM_MD5:
  driver = cram_md5
  public_name = CRAM-MD5
  server_secret = ${if eq{$auth1}{testuser}{testpass-S3cret}fail}
  server_set_id = $auth1
  server_advertise_condition = true
EOF
}
