#!/usr/bin/env python3
"""Start N deliveries at once and check every one.

    burst.py --n 200 --kind qmail|msmtp --dir WORKDIR [--store DIR] \
        [--env VAR=VALUE ...] -- CMD ARG...

Message i (i = 1..N) is WORKDIR/msg-i: a small message with the header
"X-Bench-Id: <run>-<i>". Every process is started before any is waited
for; for qmail-remote the report must end in a K message report, for
msmtp the exit status must be 0. With --store (an Exim store directory,
one file per message and recipient) every id must be stored exactly once.
Prints one JSON line: n, ok, wall_ms (first start to last exit), dupes,
missing.
"""

import argparse
import json
import os
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--kind", choices=["qmail", "msmtp"], required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--store")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for e in a.env:
        k, v = e.split("=", 1)
        env[k] = v
    run = "%s-%d-%d" % (a.kind, os.getpid(), int(time.time()))
    os.makedirs(a.dir, exist_ok=True)
    paths = []
    for i in range(1, a.n + 1):
        p = os.path.join(a.dir, "msg-%d" % i)
        with open(p, "w") as f:
            f.write("From: s@x.org\nTo: r@dest.test\nSubject: burst %d\n"
                    "X-Bench-Id: %s-%d\n\nmessage %d of the burst\n" % (i, run, i, i))
        paths.append(p)
    before = set(os.listdir(a.store)) if a.store else set()
    procs = []
    t0 = time.perf_counter()
    for p in paths:
        with open(p, "rb") as f:
            procs.append(subprocess.Popen(a.cmd, stdin=f, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, env=env))
    outs = []
    for pr in procs:
        out, _ = pr.communicate()
        outs.append((pr.returncode, out))
    t1 = time.perf_counter()
    ok = 0
    bad = []
    for i, (rc, out) in enumerate(outs, 1):
        if a.kind == "qmail":
            reports = [r for r in out.split(b"\0") if r]
            good = rc == 0 and reports and reports[-1][:1] == b"K"
        else:
            good = rc == 0
        if good:
            ok += 1
        elif len(bad) < 3:
            bad.append("%d: rc=%d %r" % (i, rc, out[:200]))
    res = {"n": a.n, "ok": ok, "wall_ms": (t1 - t0) * 1000}
    if a.store:
        want = {"%s-%d" % (run, i) for i in range(1, a.n + 1)}
        counts = {}
        deadline = time.time() + 30
        while True:
            counts = {}
            for name in set(os.listdir(a.store)) - before:
                if name.startswith("."):
                    continue
                try:
                    with open(os.path.join(a.store, name), "rb") as f:
                        for line in f:
                            if line.startswith(b"X-Bench-Id: "):
                                k = line[12:].strip().decode()
                                counts[k] = counts.get(k, 0) + 1
                                break
                            if line in (b"\r\n", b"\n"):
                                break
                except OSError:
                    pass
            if want <= set(counts) or time.time() > deadline:
                break
            time.sleep(0.2)
        res["missing"] = len(want - set(counts))
        res["dupes"] = sum(1 for k in want if counts.get(k, 0) > 1)
    for b in bad:
        print("burst: failed " + b, file=sys.stderr)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
