#!/usr/bin/env python3
"""Turn bench/run's figures (JSON lines) into the markdown tables of
bench/RESULTS.md, with the targets of the performance issue checked."""

import datetime
import json
import platform
import sys

KIB = 1024


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    by = {}
    for r in rows:
        by.setdefault(r["case"], []).append(r)
    out = []
    p = out.append
    p("Run %s on %s, %s CPU(s)." % (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                                   platform.node() or "?", __import__("os").cpu_count()))
    p("")
    p("| case | figure | ours | msmtp | /bin/true | ours/msmtp | target | met |")
    p("|---|---|---|---|---|---|---|---|")
    verdicts = []

    def line(case, fig, ours, msmtp, true, ratio, target, met):
        p("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            case, fig, ours, msmtp, true, ratio, target, "" if met is None else
            ("yes" if met else "**no**")))
        if met is not None:
            verdicts.append(met)

    if "small" in by:
        m = by["small"][0]["m"]
        o, t, s = m["ours"], m["msmtp"], m["true"]
        extra = o["wall_ms_median"] - s["wall_ms_median"]
        line("small, plaintext (smtp-sink)", "wall median",
             "%.2f ms" % o["wall_ms_median"], "%.2f ms" % t["wall_ms_median"],
             "%.2f ms" % s["wall_ms_median"], "%.3f" % (o["wall_ms_median"] / t["wall_ms_median"]),
             "≤ true + 1.5 ms (ours − true = %.2f ms)" % extra, extra <= 1.5)
        line("", "CPU (user+sys) mean", "%.2f ms" % o["cpu_ms_mean"], "%.2f ms" % t["cpu_ms_mean"],
             "%.2f ms" % s["cpu_ms_mean"], "%.2f" % (o["cpu_ms_mean"] / t["cpu_ms_mean"]), "", None)
        line("", "peak RSS", "%.2f MiB" % (o["maxrss_kib"] / KIB),
             "%.2f MiB" % (t["maxrss_kib"] / KIB), "%.2f MiB" % (s["maxrss_kib"] / KIB),
             "%.2f" % (o["maxrss_kib"] / t["maxrss_kib"]), "≤ 3 MiB",
             o["maxrss_kib"] <= 3 * KIB)
    if "big" in by:
        m = by["big"][0]["m"]
        o, t = m["ours"], m["msmtp"]
        line("10 MiB, plaintext (smtp-sink)", "CPU (user+sys) mean", "%.2f ms" % o["cpu_ms_mean"],
             "%.2f ms" % t["cpu_ms_mean"], "", "%.3f" % (o["cpu_ms_mean"] / t["cpu_ms_mean"]),
             "≤ 25 ms", o["cpu_ms_mean"] <= 25)
        line("", "wall median", "%.1f ms" % o["wall_ms_median"], "%.1f ms" % t["wall_ms_median"],
             "", "%.3f" % (o["wall_ms_median"] / t["wall_ms_median"]), "", None)
        line("", "peak RSS", "%.2f MiB" % (o["maxrss_kib"] / KIB),
             "%.2f MiB" % (t["maxrss_kib"] / KIB), "",
             "%.2f" % (o["maxrss_kib"] / t["maxrss_kib"]), "", None)
    if "tls" in by:
        m = by["tls"][0]["m"]
        o, t = m["ours"], m["msmtp"]
        line("small, STARTTLS (Exim)", "wall median", "%.2f ms" % o["wall_ms_median"],
             "%.2f ms" % t["wall_ms_median"], "",
             "%.3f" % (o["wall_ms_median"] / t["wall_ms_median"]), "", None)
        line("", "CPU (user+sys) mean", "%.2f ms" % o["cpu_ms_mean"], "%.2f ms" % t["cpu_ms_mean"],
             "", "%.2f" % (o["cpu_ms_mean"] / t["cpu_ms_mean"]), "", None)
        line("", "peak RSS", "%.2f MiB" % (o["maxrss_kib"] / KIB),
             "%.2f MiB" % (t["maxrss_kib"] / KIB), "",
             "%.2f" % (o["maxrss_kib"] / t["maxrss_kib"]), "≤ 6 MiB",
             o["maxrss_kib"] <= 6 * KIB)
    targets = {"rtt1": 5, "rtt10": 5, "rtt_tls": 8}
    names = {"rtt1": "1 recipient, plaintext (smtp-sink)",
             "rtt10": "10 recipients, plaintext (smtp-sink)",
             "rtt_tls": "1 recipient, STARTTLS (Exim)"}
    for case in ("rtt1", "rtt10", "rtt_tls"):
        if case not in by:
            continue
        r = {x["who"]: x for x in by[case]}
        o, t = r["ours"], r["msmtp"]
        wo = o["m"][o["who"]]["wall_ms_median"]
        wt = t["m"][t["who"]]["wall_ms_median"]
        line("round trips, " + names[case], "server flights", str(o["flights"]),
             str(t["flights"]), "", "%.2f" % (o["flights"] / t["flights"]),
             "%d" % targets[case], o["flights"] is not None and o["flights"] <= targets[case])
        line("", "wall", "%.0f ms" % wo, "%.0f ms" % wt, "", "%.2f" % (wo / wt), "", None)
    for case, name in (("burst_sink", "smtp-sink"), ("burst_exim", "Exim")):
        if case not in by:
            continue
        r = {x["who"]: x["b"] for x in by[case]}
        o, t = r["ours"], r["msmtp"]
        line("%d at once (%s)" % (o["n"], name), "delivered (K / exit 0)",
             "%d/%d" % (o["ok"], o["n"]), "%d/%d" % (t["ok"], t["n"]), "", "",
             "all", o["ok"] == o["n"])
        if "missing" in o:
            line("", "stored exactly once", "%d missing, %d twice" % (o["missing"], o["dupes"]),
                 "%d missing, %d twice" % (t["missing"], t["dupes"]), "", "", "0, 0",
                 o["missing"] == 0 and o["dupes"] == 0)
        line("", "wall, all", "%.0f ms" % o["wall_ms"], "%.0f ms" % t["wall_ms"], "",
             "%.2f" % (o["wall_ms"] / t["wall_ms"]), "", None)
    p("")
    p("Targets met: %d of %d." % (sum(verdicts), len(verdicts)))
    print("\n".join(out))


if __name__ == "__main__":
    main()
