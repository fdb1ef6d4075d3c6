#!/usr/bin/env python3
"""Run N deliveries, at most C at once, as qmail-rspawn would, and check
every one.

    pool.py --n 100 --at-once 20 --dir WORKDIR [--env VAR=VALUE ...] \
        [--timeout S] [--slow-ms MS] -- CMD ARG...

Message i (i = 1..N) is WORKDIR/msg-i, a small message with the header
"X-Bench-Id: <run>-<i>"; its report goes to WORKDIR/out-i, stderr to
WORKDIR/err-i. A new delivery starts as soon as one of the C running ones
is reaped (--at-once 1: one after another). Each runs under
`timeout -k 5 S` (default 60). A delivery is good when it exits 0, writes
nothing to stderr, and its report ends in K.

Prints one JSON line: n, at_once, ok, wall_ms (first start to last reap),
the per-delivery wall (median_ms, max_ms), slow (deliveries that took at
least --slow-ms), timed_out (reports that name a connect that timed out),
and bad (the first few failures).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--at-once", type=int, default=1)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--slow-ms", type=float, default=1e12)
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()
    env = {"PATH": "/usr/bin:/bin"}
    for e in a.env:
        k, v = e.split("=", 1)
        env[k] = v
    run = "%d-%d" % (os.getpid(), int(time.time()))
    os.makedirs(a.dir, exist_ok=True)
    for i in range(1, a.n + 1):
        with open(os.path.join(a.dir, "msg-%d" % i), "w") as f:
            f.write("From: s@x.org\nTo: r@dest.test\nSubject: pool %d\n"
                    "X-Bench-Id: %s-%d\n\nmessage %d of %d\n" % (i, run, i, i, a.n))
    argv = ["/usr/bin/timeout", "-k", "5", str(a.timeout)] + a.cmd
    running = {}  # pid -> (i, start)
    walls = {}
    rcs = {}
    nxt = 1
    t0 = time.monotonic()
    while nxt <= a.n or running:
        while nxt <= a.n and len(running) < a.at_once:
            d = a.dir
            with open("%s/msg-%d" % (d, nxt), "rb") as i_f, \
                    open("%s/out-%d" % (d, nxt), "wb") as o_f, \
                    open("%s/err-%d" % (d, nxt), "wb") as e_f:
                start = time.monotonic()
                p = subprocess.Popen(argv, stdin=i_f, stdout=o_f, stderr=e_f, env=env)
            running[p.pid] = (nxt, start, p)
            nxt += 1
        pid, status = os.wait()
        end = time.monotonic()
        if pid not in running:
            continue
        i, start, p = running.pop(pid)
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        walls[i] = (end - start) * 1000
        rcs[i] = p.returncode
    t1 = time.monotonic()

    ok = slow = timed_out = 0
    bad = []
    for i in range(1, a.n + 1):
        out = open("%s/out-%d" % (a.dir, i), "rb").read()
        err = os.path.getsize("%s/err-%d" % (a.dir, i))
        reports = [r for r in out.split(b"\0") if r]
        if rcs[i] == 0 and not err and reports and reports[-1][:1] == b"K":
            ok += 1
        elif len(bad) < 3:
            bad.append("#%d: rc=%d stderr=%d %r" % (i, rcs[i], err, out[-200:]))
        if walls[i] >= a.slow_ms:
            slow += 1
        if b"timed out" in out:
            timed_out += 1
    w = list(walls.values())
    print(json.dumps({
        "n": a.n, "at_once": a.at_once, "ok": ok, "wall_ms": (t1 - t0) * 1000,
        "median_ms": statistics.median(w), "max_ms": max(w), "slow": slow,
        "timed_out": timed_out, "bad": bad,
    }))
    return 0 if ok == a.n else 1


if __name__ == "__main__":
    sys.exit(main())
