#!/usr/bin/env python3
"""Checks queue/lock/tcpto and queue/lock/tcpto-pairs (SPEC §12,
doc/TCPTO.md) and lists what they hold.

    tcpto_check.py LOCK_DIR [--since T]

One line per record in use, sorted:

    tcpto REMOTE COUNT WHEN
    pairs REMOTE LOCAL|any COUNT WHEN

WHEN is the time of the last counted timeout, or "recent" when it is at or
after T (--since) and not in the future. A record is in use when its
address is set (qmail's file: a zeroed record, address 0.0.0.0, is free) or
it is not all zeros (tcpto-pairs).

Then one "BAD ..." line per problem, and exit 1 if there is any: a file
missing or of the wrong size (1024, 12288 bytes); a record not well formed
(count above 10, time in the future; tcpto-pairs: version not 1, family
not 4 or 6, byte 3 or bytes 40-47 not zero, an IPv4 address with bytes
set beyond its four); an address (tcpto) or a (remote, local) pair
(tcpto-pairs) in two records.
"""

import ipaddress
import os
import sys
import time


def le32(b):
    return int.from_bytes(b, "little")


def main(argv):
    args = argv[1:]
    since = None
    if len(args) == 3 and args[1] == "--since":
        since = int(args[2])
        args = args[:1]
    if len(args) != 1:
        sys.stderr.write(__doc__)
        return 2
    lock = args[0]
    now = int(time.time())
    lines, bad = [], []

    def when(t):
        return "recent" if since is not None and since <= t <= now else str(t)

    path = os.path.join(lock, "tcpto")
    data = open(path, "rb").read() if os.path.isfile(path) else None
    if data is None or len(data) != 1024:
        bad.append("tcpto: %s" % ("missing" if data is None else "%d bytes, want 1024" % len(data)))
    else:
        seen = {}
        for i in range(64):
            r = data[16 * i:16 * i + 16]
            ip, count, t = ipaddress.IPv4Address(r[0:4]), r[4], le32(r[8:12])
            if int(ip) == 0:
                if count:
                    bad.append("tcpto #%d: address 0.0.0.0 with count %d" % (i, count))
                continue
            if count > 10:
                bad.append("tcpto #%d: %s count %d" % (i, ip, count))
            if t > now:
                bad.append("tcpto #%d: %s time %d is in the future (now %d)" % (i, ip, t, now))
            if ip in seen:
                bad.append("tcpto #%d: %s also in #%d" % (i, ip, seen[ip]))
            seen[ip] = i
            lines.append("tcpto %s %d %s" % (ip, count, when(t)))

    path = os.path.join(lock, "tcpto-pairs")
    data = open(path, "rb").read() if os.path.isfile(path) else None
    if data is None or len(data) != 12288:
        bad.append("tcpto-pairs: %s" % ("missing" if data is None else "%d bytes, want 12288" % len(data)))
    else:
        seen = {}
        for i in range(256):
            r = data[48 * i:48 * i + 48]
            if not any(r):
                continue
            version, family, count, t = r[0], r[1], r[2], le32(r[4:8])
            what = "tcpto-pairs #%d" % i
            if version != 1 or family not in (4, 6):
                bad.append("%s: version %d, family %d" % (what, version, family))
                continue
            if r[3] or any(r[40:48]):
                bad.append("%s: reserved bytes set" % what)
            if family == 4 and (any(r[12:24]) or any(r[28:40])):
                bad.append("%s: IPv4 address with bytes beyond its four" % what)
            if family == 4:
                remote = ipaddress.IPv4Address(r[8:12])
                local = ipaddress.IPv4Address(r[24:28])
            else:
                remote = ipaddress.IPv6Address(r[8:24])
                local = ipaddress.IPv6Address(r[24:40])
            local = "any" if int(local) == 0 else str(local)
            if count > 10:
                bad.append("%s: %s count %d" % (what, remote, count))
            if t > now:
                bad.append("%s: %s time %d is in the future (now %d)" % (what, remote, t, now))
            key = (family, remote, local)
            if key in seen:
                bad.append("%s: %s from %s also in #%d" % (what, remote, local, seen[key]))
            seen[key] = i
            lines.append("pairs %s %s %d %s" % (remote, local, count, when(t)))

    for line in sorted(lines):
        print(line)
    for b in bad:
        print("BAD " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
