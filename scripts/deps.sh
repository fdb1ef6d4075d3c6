#!/bin/sh
# Installs the Debian packages the build and the tests need, only those
# missing. Services are kept from starting on install (policy-rc.d exits 101):
# the tests start their own Exim and Unbound on loopback.
set -e
# libfmt-dev: qmail-routes' output (not qmail-remote's). clang and its
# runtime: the fuzz targets (make fuzz). time: /usr/bin/time measures peak
# memory in the hostile-server tests. gcc: the end-to-end test (t_qmail.sh)
# compiles notqmail, plain C; iproute2 (ip) and procps (ps): it runs in its
# own network namespace and stops qmail's daemons by PID. nsd and ldnsutils
# (ldns-keygen, ldns-signzone): the DANE tests serve zones signed at test
# time (SPEC §13); dns-root-data: the default trust anchor. nginx-light: the
# MTA-STS policy server of the tests (SPEC §14). strace: t_tlscache.sh
# shows that a plaintext delivery touches no TLS session cache (SPEC §15).
PKGS="g++ make libssl-dev libldns-dev libfmt-dev catch2 exim4-daemon-heavy unbound openssl msmtp
python3 clang libclang-rt-14-dev time gcc iproute2 procps nsd ldnsutils dns-root-data nginx-light strace"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
  echo "deps: need root to install:$missing" >&2
  exit 1
fi
created=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created=1
fi
trap '[ -n "$created" ] && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
