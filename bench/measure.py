#!/usr/bin/env python3
"""Run commands many times, interleaved, and report wall time, CPU time and
peak RSS of each, measured the same way for every command.

    measure.py [--runs N] [--warmup N] [--json] [--check-stdout RE] \
        NAME=INPUT::CMD ARG... [NAME=INPUT::CMD ARG...]...

Each command is given as one argument: "NAME=INPUT::CMD ARG ARG" (split on
spaces; INPUT is a file opened on fd 0 for each run, or empty for
/dev/null). The environment is only PATH plus any VAR=VALUE words before
CMD (like env(1), but with no extra process).

Each run goes through spawn1 (spawn1.c, built into bench/tmp/), which
vforks, execs and reaps the command with wait4 and prints its figures:
wall time from fork to reap (median, min), user+system CPU from rusage
(mean), ru_maxrss (max, KiB). Python's own start-up and size are not in
them. The
commands run in turn (A B C A B C ...) so a slow phase of the machine hits
all of them alike.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys


def parse(spec):
    name, rest = spec.split("=", 1)
    inp, cmd = rest.split("::", 1)
    words = cmd.split()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    while words and "=" in words[0] and not words[0].startswith("/"):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    return {"name": name, "input": inp or "/dev/null", "argv": words, "env": env}


def run_once(c, out_path, spawn1):
    r = subprocess.run([spawn1, c["input"], out_path] + c["argv"], env=c["env"],
                       stdout=subprocess.PIPE, check=True)
    ns, cpu_us, rss, st = r.stdout.split()
    return int(ns) / 1e9, int(cpu_us) / 1e6, int(rss), int(st)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check-stdout", action="append", default=[],
                    help="NAME:REGEX the last stdout of NAME must match")
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--spawn1", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "tmp", "spawn1"))
    ap.add_argument("cmds", nargs="+")
    a = ap.parse_args()
    cmds = [parse(s) for s in a.cmds]
    res = {c["name"]: {"wall": [], "cpu": [], "rss": 0, "bad": 0} for c in cmds}
    outs = {c["name"]: os.path.join(a.tmp, "measure-%d-%s.out" % (os.getpid(), c["name"]))
            for c in cmds}
    for i in range(a.warmup + a.runs):
        for c in cmds:
            w, cpu, rss, st = run_once(c, outs[c["name"]], a.spawn1)
            if i < a.warmup:
                continue
            r = res[c["name"]]
            r["wall"].append(w)
            r["cpu"].append(cpu)
            r["rss"] = max(r["rss"], rss)
            if st != 0:
                r["bad"] += 1
    ok = True
    for chk in a.check_stdout:
        name, rx = chk.split(":", 1)
        data = open(outs[name], "rb").read().decode("latin-1")
        if not re.search(rx, data):
            print("measure: %s: last stdout does not match %r: %r" % (name, rx, data[:300]),
                  file=sys.stderr)
            ok = False
    summary = {}
    for c in cmds:
        r = res[c["name"]]
        summary[c["name"]] = {
            "wall_ms_median": statistics.median(r["wall"]) * 1000,
            "wall_ms_mean": statistics.mean(r["wall"]) * 1000,
            "wall_ms_min": min(r["wall"]) * 1000,
            "cpu_ms_mean": statistics.mean(r["cpu"]) * 1000,
            "maxrss_kib": r["rss"],
            "nonzero_exits": r["bad"],
            "runs": len(r["wall"]),
        }
    for p in outs.values():
        for q in (p,):
            try:
                os.unlink(q)
            except OSError:
                pass
    if a.json:
        print(json.dumps(summary))
    else:
        print("%-14s %10s %10s %10s %10s %6s" % ("command", "wall med", "wall min", "cpu mean",
                                                 "maxrss", "runs"))
        for n, s in summary.items():
            print("%-14s %8.3fms %8.3fms %8.3fms %7d KiB %6d" % (
                n, s["wall_ms_median"], s["wall_ms_min"], s["cpu_ms_mean"], s["maxrss_kib"],
                s["runs"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
