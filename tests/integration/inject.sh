# shellcheck shell=bash
# starttls_inject.py servers for t_tls.sh and t_auth.sh (sourced after
# lib.sh): start them, read what they recorded, stop them on exit.
INJECT=$IT_DIR/starttls_inject.py
SCRIPT_PIDS=()
trap 'for p in "${SCRIPT_PIDS[@]}"; do kill "$p" 2>/dev/null; done; _lib_cleanup' EXIT

# script_start NAME IP [starttls_inject.py options...]: listens on IP:2525,
# logs to $T_TMP/NAME.log; returns once it is ready.
script_start() {
  local name=$1 ip=$2
  shift 2
  rm -f "$T_TMP/$name.log" "$T_TMP/$name.ready"
  python3 "$INJECT" --listen "$ip:2525" --log "$T_TMP/$name.log" --ready "$T_TMP/$name.ready" \
    --lifetime 80 --conn-timeout 8 "$@" 2>"$T_TMP/$name.err" &
  SCRIPT_PIDS+=($!)
  wait_until 5 test -s "$T_TMP/$name.ready" && return 0
  echo "script_start $name: not ready" >&2
  return 1
}

# One JSON field of connection N of a scripted server's log.
script_field() {
  python3 -c 'import json,sys
recs=[json.loads(l) for l in open(sys.argv[1])]
n=int(sys.argv[2])
print(json.dumps(recs[n-1].get(sys.argv[3])) if len(recs)>=n else "NO-CONNECTION")' "$T_TMP/$1.log" "$2" "$3" 2>/dev/null
}
script_conns() { [[ -s $T_TMP/$1.log ]] && wc -l <"$T_TMP/$1.log" || echo 0; }
