#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Figures of bench/dns/run.sh.

  report.py phase --out FILE --times FILE --server S --cache C --kind K --wall SECONDS
                  [--cpu NAME=TICKS]... [--clk-tck N]
      reads one dnsperf output (with -v: one "> RCODE name type seconds" line per answer),
      prints one JSON line: qps, latencies, response codes, CPU of the load generator and of
      each named process over the phase.
  report.py summary --results FILE [--daemon-log FILE] [--daemon-log-lat FILE] [--nft-count N]
                    [--inflight N] [--lat-qps N] [--config TEXT]
      the table, the latency histograms the enforcer (answer_to_trie) and dnsd (ack_latency,
      answer to release) logged at exit (--daemon-log: the run of the throughput phases;
      --daemon-log-lat: the run of the uncached latency phase alone, whose answer_to_trie the
      target is judged on), one PASS/FAIL line per
      target; exit status 1 if a target failed, 2 if a figure it needs is missing.

Percentiles come from dnsperf's per-query lines and never from its average: "nearest rank"
(the value at rank ceil(p * n)), over the answers that arrived; lost queries are counted apart.
"""
import argparse
import json
import math
import os
import re
import sys

# The targets (issue 3, "Benchmark").
CACHED_QPS_RATIO = 1.0   # dnsd qps >= 1.0 x dnsmasq forwarder qps, cached
CACHED_P50_RATIO = 1.2   # dnsd p50 <= 1.2 x dnsmasq forwarder p50, cached
UNCACHED_QPS_RATIO = 5.0  # dnsd qps >= 5 x dnsmasq --nftset qps, uncached
ACK_P99_US = 100.0        # answer-to-trie p99 <= 100 us

SERVERS = [
    ("upstream", "(a) upstream dnsmasq, direct"),
    ("dnsd", "(b) cargowall dnsd, enforce"),
    ("dnsmasq", "(c) dnsmasq forwarder"),
    ("nftset", "(d) dnsmasq --nftset"),
]


def num(pattern, text, cast=float):
    m = re.search(pattern, text, re.M)
    return cast(m.group(1)) if m else None


def nearest_rank(sorted_vals, p):
    if not sorted_vals:
        return None
    k = max(1, math.ceil(p * len(sorted_vals)))
    return sorted_vals[k - 1]


def children_cpu_s(path):
    """CPU seconds (user + system) of the children of the shell that ran dnsperf: the second
    line of `times`, "0m1.230000s 0m2.340000s"."""
    try:
        lines = open(path, encoding="utf-8").read().split("\n")
        total = 0.0
        for f in lines[1].split():
            m = re.fullmatch(r"(\d+)m([\d.]+)s", f)
            total += int(m.group(1)) * 60 + float(m.group(2))
        return total
    except (OSError, IndexError, AttributeError, ValueError):
        return None


def cmd_phase(a):
    text = open(a.out, encoding="utf-8", errors="replace").read()
    lat = []
    for line in text.split("\n"):
        # dnsperf -v: "> NOERROR u1.bench.test A 0.000151" (seconds, microsecond resolution)
        f = line.split()
        if len(f) >= 5 and f[0] == ">" and re.fullmatch(r"[\d.]+", f[-1]):
            if f[1] in ("T", "TIMEOUT"):
                continue
            lat.append(float(f[-1]) * 1e6)
    lat.sort()
    rcodes = {}
    m = re.search(r"^\s*Response codes:\s*(.*)$", text, re.M)
    if m:
        for code, count in re.findall(r"([A-Z]+) (\d+) \(", m.group(1)):
            rcodes[code] = int(count)
    wall = float(a.wall)
    r = {
        "server": a.server, "cache": a.cache, "kind": a.kind,
        "sent": num(r"Queries sent:\s+(\d+)", text, int),
        "completed": num(r"Queries completed:\s+(\d+)", text, int),
        "lost": num(r"Queries lost:\s+(\d+)", text, int),
        "qps": num(r"Queries per second:\s+([\d.]+)", text),
        "run_s": num(r"Run time \(s\):\s+([\d.]+)", text),
        "avg_us": None, "p50_us": nearest_rank(lat, 0.50), "p99_us": nearest_rank(lat, 0.99),
        "max_us": lat[-1] if lat else None, "n_lat": len(lat), "rcodes": rcodes,
        "cpu": {},
    }
    avg = num(r"Average Latency \(s\):\s+([\d.]+)", text)
    if avg is not None:
        r["avg_us"] = avg * 1e6
    gen = children_cpu_s(a.times)
    if gen is not None and wall > 0:
        r["cpu"]["gen"] = round(100.0 * gen / wall)
    if a.machine and len(a.machine) == 2:
        # /proc/stat "cpu" lines before and after: busy = everything but idle and iowait,
        # softirq included (the veth and loopback work no process is charged for).
        t0, t1 = ([int(x) for x in m.split()[1:9]] for m in a.machine)
        d = [y - x for x, y in zip(t0, t1)]
        if sum(d) > 0:
            r["machine_busy"] = round(100.0 * (os.cpu_count() or 1) *
                                      (sum(d) - d[3] - d[4]) / sum(d))
    # Processes created on the whole machine during the phase: the run itself makes about 5
    # (date, sh, dnsperf, awk); many more mean that other work shared the CPUs.
    r["forks"] = a.forks
    for spec in a.cpu or []:
        name, ticks = spec.split("=", 1)
        if ticks != "" and wall > 0:
            r["cpu"][name] = round(100.0 * int(ticks) / a.clk_tck / wall)
    print(json.dumps(r))


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def exit_histogram(path, what):
    """An exit line of dnsd or the enforcer, a contract documented in dnsd/main.c and
    enforcer/main.c: "<proc>: <what>: n=N p50_us=U p99_us=U max_us=U" (the last one)."""
    if not path:
        return None, None
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    except OSError:
        return None, None
    for line in reversed(lines):
        m = re.match(r"\w+: %s: n=(\d+) p50_us=(\d+) p99_us=(\d+) max_us=(\d+)\s*$" % what,
                     line)
        if m:
            return dict(zip(("n", "p50", "p99", "max"), (int(g) for g in m.groups()))), line
    return None, None


def dnsd_counters(path):
    if not path:
        return None
    # One or more lines (dnsd/main.c); daemon.log holds one dnsd run per state dir.
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    except OSError:
        return None
    found = [ln[len("dnsd: counters:"):].strip() for ln in lines
             if ln.startswith("dnsd: counters:")]
    return " ".join(found) or None


def cmd_summary(a):
    rows = {}
    for line in open(a.results, encoding="utf-8"):
        if line.strip():
            r = json.loads(line)
            rows[(r["server"], r["cache"], r["kind"])] = r
    if a.config:
        print(a.config)
    print()
    print("%-30s %-8s | %-26s | %-26s | %-9s | %s" % (
        "", "", "throughput phase", "latency phase, %s qps" % a.lat_qps, "both",
        "CPU in the throughput phase, % of one core"))
    print("%-30s %-8s | %9s %8s %7s | %8s %8s %8s | %9s | %s" % (
        "server", "names", "qps", "avg us", "lost", "p50 us", "p99 us", "max us", "errors",
        "all = measured processes + kernel and anything else"))
    for server, title in SERVERS:
        for cache in ("cached", "uncached"):
            t = rows.get((server, cache, "tput"), {})
            lt = rows.get((server, cache, "lat"), {})
            if not t and not lt:
                continue
            errs = sum(v for k, v in t.get("rcodes", {}).items() if k != "NOERROR") + \
                sum(v for k, v in lt.get("rcodes", {}).items() if k != "NOERROR")
            lost = t.get("lost") or 0
            cpu = " ".join("%s %d" % kv for kv in t.get("cpu", {}).items())
            if t.get("machine_busy") is not None:
                cpu = "all %d = %s + ..." % (t["machine_busy"], cpu)
            if t.get("forks") is not None:
                cpu += "; forks %d" % t["forks"]
            print("%-30s %-8s | %9s %8s %7d | %8s %8s %8s | %9d | %s" % (
                title, cache, fmt(t.get("qps"), ".0f"), fmt(t.get("avg_us"), ".0f"), lost,
                fmt(lt.get("p50_us"), ".0f"), fmt(lt.get("p99_us"), ".0f"),
                fmt(lt.get("max_us"), ".0f"), errs, cpu))
    print()
    bad = []  # non-NOERROR answers or lost queries: figures of a server that failed queries
    for (server, cache, kind), r in sorted(rows.items()):
        other = {k: v for k, v in r.get("rcodes", {}).items() if k != "NOERROR"}
        if other or r.get("lost"):
            bad.append("%s %s %s: %s lost %s" % (server, cache, kind, other, r.get("lost")))
    for b in bad:
        print("note: failed queries in %s" % b)

    hist_sat, hist_sat_line = exit_histogram(a.daemon_log, "ack_latency")
    trie_sat, trie_sat_line = exit_histogram(a.daemon_log, "answer_to_trie")
    rel, rel_line = exit_histogram(a.daemon_log_lat, "ack_latency")
    hist, hist_line = exit_histogram(a.daemon_log_lat, "answer_to_trie")
    counters = dnsd_counters(a.daemon_log)
    if counters:
        print("dnsd counters: %s" % counters)
    if a.nft_count is not None:
        print("nftables set after (d): %s addresses" % a.nft_count)
    def tail(line, what):
        return line.split(what + ":", 1)[1].strip()

    if trie_sat_line:
        print("answer-to-trie, throughput phases (%s in flight: mostly queueing): %s" % (
            a.inflight, tail(trie_sat_line, "answer_to_trie")))
    if hist_sat_line:
        print("answer-to-release, throughput phases: %s" % tail(hist_sat_line, "ack_latency"))
    if hist_line:
        print("answer-to-trie, uncached latency phase (%s qps): %s" % (
            a.lat_qps, tail(hist_line, "answer_to_trie")))
    if rel_line:
        print("answer-to-release, uncached latency phase (%s qps; the trie, then the "
              "enforcer's ack back to dnsd): %s" % (a.lat_qps, tail(rel_line, "ack_latency")))
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

    def get(server, cache, kind, field):
        return rows.get((server, cache, kind), {}).get(field)

    d, m = get("dnsd", "cached", "tput", "qps"), get("dnsmasq", "cached", "tput", "qps")
    verdict(None if d is None or not m else d >= CACHED_QPS_RATIO * m,
            "cached qps: dnsd %s vs dnsmasq forwarder %s, ratio %s (target >= %.1f)" % (
                fmt(d, ".0f"), fmt(m, ".0f"), fmt(d / m if d is not None and m else None, ".2f"),
                CACHED_QPS_RATIO))
    d, m = get("dnsd", "cached", "lat", "p50_us"), get("dnsmasq", "cached", "lat", "p50_us")
    verdict(None if d is None or not m else d <= CACHED_P50_RATIO * m,
            "cached p50 at %s qps: dnsd %s us vs dnsmasq forwarder %s us, ratio %s "
            "(target <= %.1f)" % (a.lat_qps, fmt(d, ".0f"), fmt(m, ".0f"),
                                  fmt(d / m if d is not None and m else None, ".2f"),
                                  CACHED_P50_RATIO))
    d, n = get("dnsd", "uncached", "tput", "qps"), get("nftset", "uncached", "tput", "qps")
    verdict(None if d is None or not n else d >= UNCACHED_QPS_RATIO * n,
            "uncached qps: dnsd %s vs dnsmasq --nftset %s, ratio %s (target >= %.1f)" % (
                fmt(d, ".0f"), fmt(n, ".0f"), fmt(d / n if d is not None and n else None, ".2f"),
                UNCACHED_QPS_RATIO))
    # n=0 (no answer waited) would read as p99 0: that is no figure.
    p99 = hist["p99"] if hist and hist["n"] else None
    why = ""
    if not hist:
        why = "; no 'enforcer: answer_to_trie:' line from the latency phase's run"
    elif not hist["n"]:
        why = "; no answer waited for the enforcer (n=0)"
    verdict(None if p99 is None else p99 <= ACK_P99_US,
            "answer-to-trie p99 at %s qps: %s us over %s answers (target <= %.0f us)%s" % (
                a.lat_qps, fmt(p99, "d"), hist["n"] if hist else "-", ACK_P99_US, why))
    print("targets: %d passed, %d failed" % (npass, nfail))
    if missing:
        return 2
    return 1 if nfail else 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    ph = sub.add_parser("phase")
    ph.add_argument("--out", required=True)
    ph.add_argument("--times", required=True)
    ph.add_argument("--server", required=True)
    ph.add_argument("--cache", required=True, choices=("cached", "uncached"))
    ph.add_argument("--kind", required=True, choices=("tput", "lat"))
    ph.add_argument("--wall", required=True)
    ph.add_argument("--cpu", action="append")
    ph.add_argument("--clk-tck", type=int, default=100)
    ph.add_argument("--machine", action="append")
    ph.add_argument("--forks", type=int)
    su = sub.add_parser("summary")
    su.add_argument("--results", required=True)
    su.add_argument("--daemon-log")
    su.add_argument("--daemon-log-lat")
    su.add_argument("--inflight", default="?")
    su.add_argument("--nft-count")
    su.add_argument("--config")
    su.add_argument("--lat-qps", default="?")
    a = p.parse_args()
    if a.cmd == "phase":
        cmd_phase(a)
        return 0
    return cmd_summary(a)


if __name__ == "__main__":
    sys.exit(main())
