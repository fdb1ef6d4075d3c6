# shellcheck shell=bash
# Where the integration tests keep their servers' files: tests/integration/tmp
# when Exim (user Debian-exim) can enter the checkout; otherwise, as when CI
# clones into a private directory, a directory under /tmp named after the
# checkout, so two checkouts never share one.
it_tmp_dir() {
  local dir=$1
  if id Debian-exim >/dev/null 2>&1 &&
    ! runuser -u Debian-exim -- test -x "$dir" 2>/dev/null; then
    printf '/tmp/qmail-remote-it-%s\n' "$(printf '%s' "$dir" | cksum | cut -d' ' -f1)"
  else
    printf '%s/tmp\n' "$dir"
  fi
}
