# shellcheck shell=bash
# The one way the integration tests wait: poll for the event with a bound.
# Sourced by exim.sh (so by lib.sh, every t_*.sh and run). A test never
# sleeps a fixed time for something to happen: it names the event (a log
# line, a file, a stored message, a process gone) and waits for it here.

# How often a condition is tried again, in seconds.
POLL_STEP=0.05

# wait_until SECONDS COMMAND...: runs COMMAND (a program or a shell
# function) until it succeeds, every POLL_STEP; returns 1 once SECONDS
# (whole or decimal) have passed without success. COMMAND is tried once
# more at the deadline, so a slow machine gets the full bound.
wait_until() {
  local secs=$1 end whole frac
  shift
  whole=${secs%%.*} frac=0
  [[ $secs == *.* ]] && frac=${secs#*.}
  frac=${frac}000000
  end=$((${EPOCHREALTIME/./} + 10#${whole:-0} * 1000000 + 10#${frac:0:6}))
  until "$@"; do
    if ((${EPOCHREALTIME/./} > end)); then
      "$@"
      return
    fi
    sleep "$POLL_STEP"
  done
}

# wait_for_line SECONDS FILE ERE: until a line of FILE matches ERE.
wait_for_line() {
  wait_until "$1" grep -qE -- "$3" "$2" 2>/dev/null
}
