# shellcheck shell=bash
# Where the integration tests keep their servers' files: tests/integration/tmp
# when Exim (user Debian-exim) can enter the checkout; otherwise, as when CI
# clones into a private directory, a directory under /tmp named after the
# checkout, so two checkouts never share one. QR_IT_TMP_SUFFIX (tests/sanitize
# sets "-san") makes a sibling of it: the sanitizer suite runs the same
# scripts at the same time as the plain one (tests/run-all), and neither may
# see the other's servers, stores or stale-server clean-up.
it_tmp_dir() {
  local dir=$1
  if id Debian-exim >/dev/null 2>&1 &&
    ! runuser -u Debian-exim -- test -x "$dir" 2>/dev/null; then
    printf '/tmp/qmail-remote-it-%s%s\n' "$(printf '%s' "$dir" | cksum | cut -d' ' -f1)" \
      "${QR_IT_TMP_SUFFIX:-}"
  else
    printf '%s/tmp%s\n' "$dir" "${QR_IT_TMP_SUFFIX:-}"
  fi
}
