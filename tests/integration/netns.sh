# shellcheck shell=bash
# Sourced first by every tests/integration script that starts servers
# (lib.sh does it; t_dns.sh, which has no lib.sh, directly).
#
# Every script runs in a network namespace of its own, loopback up, so two
# runs on one machine (two checkouts, a developer and CI) never share an
# address, and no server can outlive the script's namespace unnoticed.
# Sourced from the script's top (before any cd: $0 may be relative), so $0
# and "$@" are the script's: the script re-executes itself in a new
# namespace, once (QR_TEST_NETNS marks the second start). Always, not only
# when started in PID 1's namespace: a sandbox may hide PID 1's (readlink
# /proc/1/ns/net: EACCES), and runs started in one namespace other than
# PID 1's collide just the same. unshare without --fork execs in this
# process, so the PID (the owner of the Exims, for run's exim_stop_stale)
# stays the same.
if [[ -z ${QR_TEST_NETNS:-} ]]; then
  export QR_TEST_NETNS=1
  # shellcheck disable=SC2016 # expanded by the inner bash
  exec unshare --net -- bash -c 'ip link set lo up ||
    { echo "$0: ip link set lo up failed"; echo "0 passed, 1 failed"; exit 1; }
    exec bash "$0" "$@"' "$0" "$@"
  echo "$0: cannot unshare the network namespace"
  echo "0 passed, 1 failed"
  exit 1
fi
