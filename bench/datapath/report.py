#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Figures of bench/datapath/run.sh.

  report.py record --phase P --config C --kind tput|conn --round N --out FILE --wall SECONDS
                   [--machine "cpu ..." --machine "cpu ..."] [--forks N] [--cpu NAME=TICKS]...
      reads one slotted.c client line (stream or conn), prints one JSON line: the figure (per
      second of the path's own slots), and the CPU of the machine and of each named process
      over the window the path shared with the others.
  report.py summary --results FILE --entries N --trie-entries N --nft-entries N [--config TEXT]
      the table and one PASS/FAIL line per target (and per precondition: the trie and the
      nftables set hold the N entries); exit status 1 if one failed, 2 if a figure it needs
      is missing.

Every ratio is taken within a round (the configurations of one round take turns in slots of
one window, under the same load from whatever else shares the machine), then the median over
the rounds.
"""
import argparse
import json
import os
import re
import statistics
import sys

# The targets (issue 4, "Benchmark").
TPUT_RATIO = 0.98  # (b) throughput >= 98 % of (a)
CONN_RATIO = 0.95  # (b) connections/s >= 95 % of (a)

ROWS = [  # (phase, config, title)
    ("B", "a", "(a)  no filter, runner 2"),
    ("B", "b-cg", "(b)  cargowall, workload cgroup"),
    ("B", "b-out", "(b)  cargowall, outside cgroup"),
    ("C", "a", "(a)  no filter, runner 2"),
    ("C", "a0", "(a') no filter, cw0"),
    ("C", "c", "(c)  nftables set"),
]


def cmd_record(a):
    text = open(a.out, encoding="utf-8", errors="replace").read()
    r = {"phase": a.phase, "config": a.config, "kind": a.kind, "round": a.round,
         "value": None, "cpu": {}}
    m = re.search(r"slots (\d+) active_s ([\d.]+) count (\d+) rate (\d+) errors (\d+) "
                  r"first_error (.*)$", text, re.M)
    r["unit"] = "Gbit/s" if a.kind == "tput" else "conn/s"
    if m:
        rate = float(m.group(4))
        r["value"] = rate * 8 / 1e9 if a.kind == "tput" else rate
        r["active_s"] = float(m.group(2))
        r["errors"] = int(m.group(5))
        r["first_error"] = m.group(6).strip()
    else:
        r["error"] = text[:200]
    wall = float(a.wall)
    if a.machine and len(a.machine) == 2:
        # /proc/stat "cpu" lines: busy = everything but idle and iowait, softirq included
        # (veth and TCP work that no process is charged for).
        t0, t1 = ([int(x) for x in m.split()[1:9]] for m in a.machine)
        d = [y - x for x, y in zip(t0, t1)]
        if sum(d) > 0:
            r["cpu"]["all"] = round(100.0 * (os.cpu_count() or 1) *
                                    (sum(d) - d[3] - d[4]) / sum(d))
    if a.pinned and len(a.pinned) == 2 and all(a.pinned):
        # The CPU the measured processes are pinned to ("cpuN ..." lines).
        name = a.pinned[0].split()[0]
        t0, t1 = ([int(x) for x in m.split()[1:9]] for m in a.pinned)
        d = [y - x for x, y in zip(t0, t1)]
        if sum(d) > 0:
            r["cpu"][name] = round(100.0 * (sum(d) - d[3] - d[4]) / sum(d))
    r["forks"] = a.forks
    for spec in a.cpu or []:
        name, ticks = spec.split("=", 1)
        if ticks != "" and wall > 0:
            r["cpu"][name] = round(100.0 * int(ticks) / a.clk_tck / wall)
    print(json.dumps(r))


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def cmd_summary(a):
    runs = []
    for line in open(a.results, encoding="utf-8"):
        if line.strip():
            runs.append(json.loads(line))

    def values(phase, config, kind):
        return {r["round"]: r["value"] for r in runs
                if (r["phase"], r["config"], r["kind"]) == (phase, config, kind)}

    def ratio(phase, config, kind, base="a"):
        """Median over the rounds of config / base within the same round."""
        v, b = values(phase, config, kind), values(phase, base, kind)
        return median([v[k] / b[k] for k in v if v[k] and b.get(k)])

    def cpu_of(phase, config, kind):
        rs = [r for r in runs if (r["phase"], r["config"], r["kind"]) == (phase, config, kind)]
        names = sorted({n for r in rs for n in r["cpu"]},
                       key=lambda n: (n != "all", not n.startswith("cpu"), n))
        return " ".join("%s %d" % (n, median([r["cpu"].get(n) for r in rs])) for n in names
                        if median([r["cpu"].get(n) for r in rs]) is not None)

    if a.config:
        print(a.config)
    print()
    print("%-33s %-5s | %-31s | %-34s | %s" % (
        "", "", "TCP throughput, Gbit/s", "new TCP connections/s",
        "CPU in the connection windows, % of one core"))
    print("%-33s %-5s | %6s %15s %7s | %7s %15s %7s %3s | %s" % (
        "path", "phase", "median", "min..max", "/(a)", "median", "min..max", "/(a)", "err",
        "all = machine (kernel, others), cpuN = the pinned one, cargowall's"))
    for phase, config, title in ROWS:
        t, c = values(phase, config, "tput"), values(phase, config, "conn")
        if not t and not c:
            continue
        tv = [v for v in t.values() if v is not None]
        cv = [v for v in c.values() if v is not None]
        errs = sum(r.get("errors") or 0 for r in runs
                   if (r["phase"], r["config"], r["kind"]) == (phase, config, "conn"))
        rt = ratio(phase, config, "tput") if config != "a" else None
        rc = ratio(phase, config, "conn") if config != "a" else None
        print("%-33s %-5s | %6s %15s %7s | %7s %15s %7s %3d | %s" % (
            title, phase, fmt(median(tv), ".2f"),
            "%s..%s" % (fmt(min(tv) if tv else None, ".2f"), fmt(max(tv) if tv else None, ".2f")),
            "%s%%" % fmt(100 * rt, ".1f") if rt is not None else "",
            fmt(median(cv), ".0f"),
            "%s..%s" % (fmt(min(cv) if cv else None, ".0f"), fmt(max(cv) if cv else None, ".0f")),
            "%s%%" % fmt(100 * rc, ".1f") if rc is not None else "", errs,
            cpu_of(phase, config, "conn")))
    print()
    for r in runs:
        if r.get("value") is None:
            print("note: no figure from %s %s %s round %s: %s" % (
                r["phase"], r["config"], r["kind"], r["round"], r.get("error", "")[:120]))
        elif r.get("errors"):
            print("note: %s %s round %s: %d failed connects (%s)" % (
                r["phase"], r["config"], r["round"], r["errors"], r.get("first_error")))
    busy = [r["cpu"].get("all") for r in runs if r["cpu"].get("all") is not None]
    forks = [r["forks"] for r in runs if r.get("forks") is not None]
    if busy:
        print("machine during the runs: %d..%d%% busy (of %d%%), %d..%d processes created per run "
              "(the run itself makes about 5)" % (min(busy), max(busy), 100 * (os.cpu_count() or 1),
                                                 min(forks or [0]), max(forks or [0])))
    rp = ratio("C", "a0", "tput"), ratio("C", "a0", "conn")
    print("path check, (a') runner netns / (a) runner 2, no filter: throughput %s%%, "
          "connections %s%%" % (
        fmt(100 * rp[0] if rp[0] is not None else None, ".1f"),
        fmt(100 * rp[1] if rp[1] is not None else None, ".1f")))
    print("per round (value, ratio to (a) of the round):")
    for phase, config, title in ROWS:
        for kind in ("tput", "conn"):
            v, b = values(phase, config, kind), values(phase, "a", kind)
            if not v:
                continue
            cells = []
            for k in sorted(v):
                cell = fmt(v[k], ".2f" if kind == "tput" else ".0f")
                if config != "a" and v[k] and b.get(k):
                    cell += " (%.1f%%)" % (100 * v[k] / b[k])
                cells.append(cell)
            print("  %-33s %s %-4s %s" % (title, phase, kind, ", ".join(cells)))
    print()

    npass = nfail = 0
    missing = False

    def verdict(ok, text):
        nonlocal npass, nfail, missing
        if ok is None:
            missing = True
            nfail += 1
            print("FAIL: %s (figure missing)" % text)
        elif ok:
            npass += 1
            print("PASS: %s" % text)
        else:
            nfail += 1
            print("FAIL: %s" % text)

    def pct(v):  # two decimals: 94.996 % must not read as the 95 % it misses
        return fmt(100 * v if v is not None else None, ".2f") + "%"

    for config, what in (("b-cg", "workload cgroup"), ("b-out", "outside the cgroup")):
        for kind, target, name in (("tput", TPUT_RATIO, "throughput"),
                                   ("conn", CONN_RATIO, "connections/s")):
            r = ratio("B", config, kind)
            verdict(None if r is None else r >= target,
                    "(b) %s, %s: %s of (a) (target >= %.0f%%)" % (
                        what, name, pct(r), 100 * target))
    for config, what in (("b-cg", "workload cgroup"), ("b-out", "outside the cgroup")):
        for kind, name in (("tput", "throughput"), ("conn", "connections/s")):
            rb, rc = ratio("B", config, kind), ratio("C", "c", kind)
            verdict(None if rb is None or rc is None else rb > rc,
                    "(b) %s beats (c) on %s: %s vs %s of (a)" % (what, name, pct(rb), pct(rc)))
    verdict(a.trie_entries >= a.entries,
            "setup: cargowall's IPv4 trie held %d entries during (b) (wanted >= %d)" % (
                a.trie_entries, a.entries))
    verdict(a.nft_entries >= a.entries,
            "setup: the nftables set held %d addresses during (c) (wanted >= %d)" % (
                a.nft_entries, a.entries))
    print("targets: %d passed, %d failed" % (npass, nfail))
    if missing:
        return 2
    return 1 if nfail else 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--phase", required=True)
    rec.add_argument("--config", required=True)
    rec.add_argument("--kind", required=True, choices=("tput", "conn"))
    rec.add_argument("--round", required=True, type=int)
    rec.add_argument("--out", required=True)
    rec.add_argument("--wall", required=True)
    rec.add_argument("--machine", action="append")
    rec.add_argument("--pinned", action="append")
    rec.add_argument("--forks", type=int)
    rec.add_argument("--cpu", action="append")
    rec.add_argument("--clk-tck", type=int, default=100)
    su = sub.add_parser("summary")
    su.add_argument("--results", required=True)
    su.add_argument("--config")
    su.add_argument("--entries", type=int, required=True)
    su.add_argument("--trie-entries", type=int, required=True)
    su.add_argument("--nft-entries", type=int, required=True)
    a = p.parse_args()
    if a.cmd == "record":
        cmd_record(a)
        return 0
    return cmd_summary(a)


if __name__ == "__main__":
    sys.exit(main())
