# shellcheck shell=bash
# notqmail (the real qmail-send, qmail-rspawn, qmail-inject, ...) for the
# end-to-end test, t_qmail.sh, which sources this file. Debian 12 has no
# qmail package, so it is built from the peer tarball (public domain; see
# ../shared/peers/README.md beside the checkout) into a PRIVATE root, never /var/qmail.
#
#   notqmail_users          create the qmail users and groups that are missing
#   notqmail_build ROOT     build for ROOT (cached), print the build directory
#   notqmail_install ROOT   a fresh ROOT: notqmail's own installer (queue,
#                           owners, modes), then our qmail-remote as bin/qmail-remote
#
# The root is compiled in (conf-qmail becomes auto_qmail), so a build serves
# one root path: the cache is keyed by the tarball's SHA-256 and the root
# path, under $NOTQMAIL_CACHE. Only the first run for a checkout compiles
# (about 30 s); the others install from the cache (well under a second).
# Delete the cache directory to force a rebuild.

# CI clones the repository with ../shared beside it (DEVELOPERS.md).
NOTQMAIL_TARBALL=${NOTQMAIL_TARBALL:-$REPO_ROOT/../shared/peers/notqmail-a7012e4.tar.gz}
NOTQMAIL_CACHE=${NOTQMAIL_CACHE:-/var/cache/qmail-remote-tests}
# Bump when the way the build is made changes: old cache entries are ignored.
NOTQMAIL_RECIPE=1

# conf-users/conf-groups of the tarball, one name a line (qmail's order:
# alias, daemon, log, owner, passwd, queue, remote, send / qmail, nofiles).
_notqmail_conf() {
  tar -xzOf "$NOTQMAIL_TARBALL" "notqmail/$1" 2>/dev/null | sed -n '/^[a-z_][a-z0-9_-]*$/p'
}

# INSTALL.ids.md's users and groups, as system accounts without a home of
# their own: alias, qmaild, qmaill, qmailp in the second group (nofiles),
# qmailq, qmailr, qmails in the first (qmail). The owner (root) exists.
notqmail_users() {
  local -a users groups
  mapfile -t users < <(_notqmail_conf conf-users | head -n 8)
  mapfile -t groups < <(_notqmail_conf conf-groups | head -n 2)
  if ((${#users[@]} != 8 || ${#groups[@]} != 2)); then
    echo "notqmail_users: cannot read conf-users/conf-groups from $NOTQMAIL_TARBALL" >&2
    return 1
  fi
  local g i u
  for g in "${groups[@]}"; do
    # A concurrent run may have made it meanwhile: look again on failure.
    getent group "$g" >/dev/null || groupadd -r "$g" ||
      getent group "$g" >/dev/null || return 1
  done
  for i in 0 1 2 4 5 6 7; do # 3 is the owner of the binaries: root
    u=${users[i]}
    id -u "$u" >/dev/null 2>&1 && continue
    g=${groups[1]}
    ((i >= 5)) && g=${groups[0]}
    useradd -r -M -g "$g" -d /nonexistent -s /usr/sbin/nologin "$u" ||
      id -u "$u" >/dev/null 2>&1 || return 1
  done
}

# The cache directory for ROOT (it need not exist yet).
_notqmail_cache_dir() {
  local sum
  sum=$(sha256sum "$NOTQMAIL_TARBALL" | cut -c1-16) || return 1
  printf '%s/notqmail-%s-r%s-%s\n' "$NOTQMAIL_CACHE" "$sum" "$NOTQMAIL_RECIPE" \
    "$(printf '%s' "$1" | cksum | cut -d' ' -f1)"
}

# notqmail_build ROOT: prints the directory holding a build for ROOT,
# compiling it first when the cache has none. Man pages are not formatted
# (NROFF=true writes empty cat pages: nothing reads them here, and no groff
# is needed). Built in a temporary directory and renamed into place, so a
# build that fails or is interrupted never counts as cached.
notqmail_build() {
  local root=$1 dir work
  if [[ ! -r $NOTQMAIL_TARBALL ]]; then
    echo "notqmail_build: no tarball at $NOTQMAIL_TARBALL (set NOTQMAIL_TARBALL)" >&2
    return 1
  fi
  dir=$(_notqmail_cache_dir "$root") || return 1
  if [[ ! -e $dir/.built ]]; then
    mkdir -p "$NOTQMAIL_CACHE" && chmod 755 "$NOTQMAIL_CACHE" || return 1
    work=$(mktemp -d "$NOTQMAIL_CACHE/.build.XXXXXX") || return 1
    echo "notqmail_build: compiling notqmail for $root (cached afterwards in $dir)" >&2
    if ! tar -xzf "$NOTQMAIL_TARBALL" -C "$work" --strip-components=1 ||
      ! printf '%s\n' "$root" >"$work/conf-qmail" ||
      ! make -C "$work" it man NROFF=true >"$work/build.log" 2>&1; then
      echo "notqmail_build: the build failed; the end of $work/build.log:" >&2
      tail -n 20 "$work/build.log" >&2 2>/dev/null
      return 1
    fi
    printf '%s\n' "$root" >"$work/.root"
    touch "$work/.built"
    chmod 755 "$work"
    # A concurrent build may have won: keep whichever is in place.
    mv -T "$work" "$dir" 2>/dev/null || rm -rf "$work"
  fi
  printf '%s\n' "$dir"
}

# notqmail_install ROOT: ROOT must not exist yet, and its parent must be
# searchable by the qmail users. notqmail's installer makes the tree
# (bin/, control/, alias/, the queue with its owners and modes); then our
# ./qmail-remote takes bin/qmail-remote's place as INSTALL.md §3 does it,
# the classic one kept as bin/qmail-remote.orig.
notqmail_install() {
  local root=$1 dir u
  dir=$(notqmail_build "$root") || return 1
  notqmail_users || return 1
  (cd "$dir" && env -u DESTDIR ./instpackage && env -u DESTDIR ./instchown) >"${root%/}.install.log" 2>&1 || {
    echo "notqmail_install: instpackage/instchown failed:" >&2
    cat "${root%/}.install.log" >&2
    return 1
  }
  for u in qmailq qmails qmailr alias; do
    if ! runuser -u "$u" -- test -x "$root/bin" 2>/dev/null; then
      echo "notqmail_install: $u cannot enter $root (chmod o+x its parents)" >&2
      return 1
    fi
  done
  cp -p "$root/bin/qmail-remote" "$root/bin/qmail-remote.orig" &&
    install -m 0711 -o root -g "$(_notqmail_conf conf-groups | head -n 1)" "$QR_BIN" "$root/bin/qmail-remote.new" &&
    mv -f "$root/bin/qmail-remote.new" "$root/bin/qmail-remote"
}
