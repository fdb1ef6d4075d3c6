# shellcheck shell=bash
# nginx (Debian's nginx-light) as the HTTPS server of MTA-STS policies (SPEC
# §14, t_sts.sh). Never the system service: its own config, pid file, error
# and access logs under the test's tmp dir, started with -c CONF -p PREFIX,
# stopped by the PID in its pid file.
#
#   nginx_start DIR SERVERS_FILE  start with DIR as prefix; SERVERS_FILE
#                                 holds `server { ... }` blocks; waits
#                                 until every `listen` address answers
#   nginx_stop                    stop it (also from lib.sh's EXIT trap)
#   nginx_requests HOST           how many requests HOST (the Host header) got
#
# The access log has one line per request: "HOST URI STATUS".

NGINX_DIR=
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

_nginx_pid() {
  local pid
  [[ -n $NGINX_DIR && -s $NGINX_DIR/nginx.pid ]] || return 1
  pid=$(<"$NGINX_DIR/nginx.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # Only an nginx started with this prefix: never signal a recycled PID.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$NGINX_DIR" || return 1
  printf '%s\n' "$pid"
}

_nginx_listening() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

nginx_start() {
  local dir=$1 servers=$2 addr
  NGINX_DIR=$dir
  mkdir -p "$dir/tmp" "$dir/logs" && chmod 755 "$dir" "$dir/tmp" "$dir/logs"
  cat >"$dir/nginx.conf" <<CONF
daemon on;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log info;
events { worker_connections 64; }
http {
  log_format sts '\$host \$request_uri \$status';
  access_log $dir/logs/access.log sts;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  types { text/plain txt; text/html html; }
  default_type application/octet-stream;
$(cat "$servers")
}
CONF
  if ! "$NGINX_BIN" -t -q -c "$dir/nginx.conf" -p "$dir" >"$dir/logs/start.out" 2>&1 ||
    ! "$NGINX_BIN" -c "$dir/nginx.conf" -p "$dir" >>"$dir/logs/start.out" 2>&1; then
    echo "nginx_start: nginx failed:" >&2
    cat "$dir/logs/start.out" "$dir/logs/error.log" >&2 2>/dev/null
    return 1
  fi
  for addr in $(sed -n 's/^ *listen \([0-9.]*\):\([0-9]*\).*/\1:\2/p' "$servers" | sort -u); do
    wait_until 10 _nginx_listening "${addr%:*}" "${addr#*:}" || {
      echo "nginx_start: nothing listens on $addr" >&2
      return 1
    }
  done
}

_nginx_gone() { ! kill -0 "$1" 2>/dev/null; }

nginx_stop() {
  local pid
  pid=$(_nginx_pid) || return 0
  kill -TERM "$pid" 2>/dev/null
  wait_until 5 _nginx_gone "$pid" || kill -KILL "$pid" 2>/dev/null
}

nginx_requests() {
  local n
  n=$(grep -c "^$1 " "$NGINX_DIR/logs/access.log" 2>/dev/null)
  printf '%s\n' "${n:-0}"
}
