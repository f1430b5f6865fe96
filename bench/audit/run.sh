#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 5's audit benchmark in the namespace lab (bench/README.md): connection events flooded at
# a fixed rate through the kernel's ring buffer into auditd and the NDJSON log.
#
#   blocked: TCP connect()s to a denied address (EPERM at once), BENCH_BLOCKED_N of them at
#            BENCH_RATE per second, to distinct ports; auditd's VmRSS sampled every second.
#   allowed: UDP connect()s to an allowed address (the connect4 verdict and its event, no
#            packet), BENCH_ALLOWED_N at BENCH_RATE.
#   ceiling: BENCH_MAX_N denied connects as fast as the generator goes (figures only).
#
# Per phase: events sent, events written (the `count` sum of the matching records), events lost
# (`events_lost` records), the rate, auditd's CPU. Targets: >= 50,000 events/s written with zero
# loss (blocked and allowed), auditd's RSS flat over 1,000,000 events. Exit 0 all passed, 1 a
# target failed, 2 a figure is missing.
set -euo pipefail
. "$(dirname "$0")/../../tests/lab/lab.sh"
lab_require_root
[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"
command -v cc >/dev/null || lab_die "cc is needed to build bench/audit/flood.c"

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
BENCH_RATE=${BENCH_RATE:-50000}
BENCH_BLOCKED_N=${BENCH_BLOCKED_N:-1000000}
BENCH_ALLOWED_N=${BENCH_ALLOWED_N:-500000}
BENCH_MAX_N=${BENCH_MAX_N:-300000}
RSS_FLAT_KB=${RSS_FLAT_KB:-2048} # growth allowed from 10% of the run to its end
PORT0=10000
NPORTS=50000

trap lab_teardown EXIT
trap 'exit 130' INT TERM
LAB_FRESH_N=16 lab_setup
RAW=$LAB/bench
mkdir -p "$RAW"
cc -O2 -Wall -Wextra -Werror -o "$RAW/flood" "$BENCH_DIR/flood.c" || lab_die "cannot build flood"

lab_cw start --mode enforce --allow-cidrs "$LAB_ALLOWED_IP" --interface "$LAB_IF" \
	--cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM" --audit-log "$LAB_AUDIT" \
	--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers ||
	lab_die "cargowall start failed"
AUD=$(cat "$LAB_STATE/auditd.pid")

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$AUD/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$AUD/status"; }

# tally FROM_LINE DST_IP: "written W lost L" over the log's lines after FROM_LINE
tally() {
	"$LAB_PYTHON" - "$LAB_AUDIT" "$1" "$2" <<'PY'
import json, sys
w = l = 0
with open(sys.argv[1], encoding="utf-8") as f:
    for i, line in enumerate(f):
        if i < int(sys.argv[2]):
            continue
        r = json.loads(line)
        if r.get("event_type") == "events_lost":
            l += r["count"]
        elif r.get("dst_ip") == sys.argv[3] and r.get("hook") == "connect4":
            w += r.get("count", 1)
print(f"written {w} lost {l}")
PY
}

FAILED=0
MISSING=0
declare -A RES

# phase NAME PROTO ADDR COUNT RATE SAMPLE_RSS
phase() {
	local name=$1 proto=$2 addr=$3 n=$4 rate=$5 sample=$6 from c0 c1 t0 t1 gen_pid out
	local tl written lost secs
	from=$(wc -l <"$LAB_AUDIT")
	c0=$(cpu_ticks)
	t0=$(date +%s.%N)
	: >"$RAW/$name.rss"
	lab_workload "$RAW/flood" "$proto" "$addr" "$PORT0" "$NPORTS" "$rate" "$n" \
		>"$RAW/$name.out" 2>&1 &
	gen_pid=$!
	while kill -0 "$gen_pid" 2>/dev/null; do
		[ "$sample" = 1 ] && echo "$(date +%s.%N) $(rss_kb)" >>"$RAW/$name.rss"
		sleep 1
	done
	wait "$gen_pid" || lab_die "$name: flood failed: $(cat "$RAW/$name.out")"
	# drained: the written count stops moving (auditd reads allowed events on its tick)
	tl=""
	for _ in $(seq 40); do
		sleep 0.5
		out=$(tally "$from" "$addr")
		[ "$out" = "$tl" ] && break
		tl=$out
	done
	t1=$(date +%s.%N)
	c1=$(cpu_ticks)
	[ "$sample" = 1 ] && echo "$(date +%s.%N) $(rss_kb)" >>"$RAW/$name.rss"
	written=$(awk '{ print $2 }' <<<"$tl")
	lost=$(awk '{ print $4 }' <<<"$tl")
	secs=$(awk '{ for (i = 1; i < NF; i++) if ($i == "seconds") print $(i + 1) }' "$RAW/$name.out")
	RES[$name.sent]=$n
	RES[$name.written]=$written
	RES[$name.lost]=$lost
	RES[$name.rate]=$(awk -v w="$written" -v s="$secs" 'BEGIN { printf "%.0f", w / s }')
	RES[$name.cpu]=$(awk -v c="$((c1 - c0))" -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.0f", 100 * c / hz / (b - a) }')
	printf '%-8s sent %8d written %8d lost %7d gen %s s  written/s %7d  auditd cpu %3d%% (incl. drain)\n' \
		"$name" "$n" "$written" "$lost" "$secs" "${RES[$name.rate]}" "${RES[$name.cpu]}"
}

echo "== auditd pid $AUD, rate target $BENCH_RATE/s, $(nproc) CPUs"
phase blocked tcp "$LAB_EVIL_IP" "$BENCH_BLOCKED_N" "$BENCH_RATE" 1
phase allowed udp "$LAB_ALLOWED_IP" "$BENCH_ALLOWED_N" "$BENCH_RATE" 0
phase ceiling tcp "$LAB_EVIL_IP" "$BENCH_MAX_N" 0 0

# RSS: from the sample at 10% of the blocked run to the end
read -r rss_first rss_at10 rss_last rss_max < <(awk '{ v[NR] = $2; if ($2 > m) m = $2 }
	END { i = int(NR / 10) + 1; print v[1], v[i], v[NR], m }' "$RAW/blocked.rss")
echo "auditd VmRSS over the blocked run: start ${rss_first} kB, at 10% ${rss_at10} kB," \
	"end ${rss_last} kB, max ${rss_max} kB ($(wc -l <"$RAW/blocked.rss") samples)"

check() { # NAME CONDITION-TEXT COMMAND...
	local what=$1
	shift
	if "$@"; then echo "PASS: $what"; else echo "FAIL: $what"; FAILED=1; fi
}
for p in blocked allowed; do
	[ -n "${RES[$p.written]:-}" ] || { echo "MISSING: $p"; MISSING=1; continue; }
	check "$p: ${RES[$p.rate]} events/s written >= $BENCH_RATE (sent ${RES[$p.sent]})" \
		test "$((RES[$p.rate] * 100))" -ge "$((BENCH_RATE * 98))"
	check "$p: zero loss (written ${RES[$p.written]} of ${RES[$p.sent]}, lost ${RES[$p.lost]})" \
		test "${RES[$p.written]}" -eq "${RES[$p.sent]}" -a "${RES[$p.lost]}" -eq 0
done
check "ceiling: written + lost = sent (${RES[ceiling.written]} + ${RES[ceiling.lost]} of ${RES[ceiling.sent]})" \
	test "$((RES[ceiling.written] + RES[ceiling.lost]))" -eq "${RES[ceiling.sent]}"
check "auditd RSS flat over $BENCH_BLOCKED_N events (+$((rss_last - rss_at10)) kB <= $RSS_FLAT_KB)" \
	test "$((rss_last - rss_at10))" -le "$RSS_FLAT_KB"
lab_cw stop --state-dir "$LAB_STATE" || true
[ "$MISSING" = 0 ] || exit 2
exit "$FAILED"
