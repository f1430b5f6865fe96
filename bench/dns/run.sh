#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# DNS benchmark (issue 3), in the namespace lab of tests/lab/lab.sh, all in one run with dnsperf:
#  (a) queries straight to the upstream (a dnsmasq in the internet netns, no query log);
#  (b) through cargowall's dnsd (enforce mode, --allow-private-answers, policy allowing
#      bench.test), from the workload cgroup to 127.0.0.1;
#  (c) through dnsmasq as a plain caching forwarder on 127.0.0.2 in the runner netns;
#  (d) through dnsmasq as a forwarder with --nftset on 127.0.0.3 (every answer added to an
#      nftables set inside the runner netns: the usual self-hosted allowlist).
# Each cached (BENCH_CACHED_NAMES names, primed, repeated) and uncached (each query a name no
# server under test has seen; the upstream knows them all from a hosts file, one address each).
# Per server and cache state, two phases:
#  throughput  BENCH_INFLIGHT queries in flight for BENCH_DURATION s (uncached: at most
#              BENCH_UNCACHED_NAMES queries): qps, average latency, CPU of each process;
#  latency     a fixed BENCH_LAT_QPS for BENCH_LAT_DURATION s, dnsperf -v: p50/p99/max per
#              query, the same offered load for every server, so the percentiles are service
#              time rather than queueing behind the load generator.
# Then the answer-to-trie histograms the enforcer logs at exit (from dnsd's answer to the entry
# in the trie) and dnsd's answer-to-release ones (to the enforcer's ack back), from daemon.log
# (one cargowall run for the saturated phases, a second for the uncached latency phase alone),
# and one PASS/FAIL line per target of the issue (ratios from this run). Exit 0 when every target passed, 1 when
# one failed, 2 when a figure was missing; the lab is removed on every exit.
# (b) runs last: once cargowall is up, TC drops port-53 packets from anything but dnsd, which
# includes the forwarders of (c) and (d).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=$REPO/bench/dns
# shellcheck source-path=SCRIPTDIR source=../../tests/lab/lab.sh
. "$REPO/tests/lab/lab.sh"
lab_require_root

# ---- parameters -------------------------------------------------------------------------------

bench_uint() { # NAME DEFAULT MIN MAX: the value of $NAME, checked
	local v=${!1:-$2}
	if ! [[ $v =~ ^[0-9]+$ ]] || [ "${#v}" -gt 9 ] || [ "$v" -lt "$3" ] || [ "$v" -gt "$4" ]
	then
		lab_die "$1='$v': an integer from $3 to $4 is needed"
	fi
	echo "$v"
}

DURATION=$(bench_uint BENCH_DURATION 10 1 60)
LAT_DURATION=$(bench_uint BENCH_LAT_DURATION 5 1 60)
LAT_QPS=$(bench_uint BENCH_LAT_QPS 1000 10 20000)
INFLIGHT=$(bench_uint BENCH_INFLIGHT 64 1 1000)
CACHED_NAMES=$(bench_uint BENCH_CACHED_NAMES 100 1 65536)
UNCACHED_NAMES=$(bench_uint BENCH_UNCACHED_NAMES 120000 1000 1000000)
LAT_NAMES=$((LAT_QPS * LAT_DURATION))
# Every name dnsd resolves becomes a learned address: the enforcer refuses past CW_LEARNED_MAX,
# and a refused entry would turn into SERVFAIL, not into a figure.
LEARNED_MAX=$(awk '$1 == "#define" && $2 == "CW_LEARNED_MAX" { print $3 }' \
	"$REPO/proto/limits.h")
[[ $LEARNED_MAX =~ ^[0-9]+$ ]] || lab_die "CW_LEARNED_MAX not found in proto/limits.h"
if [ $((CACHED_NAMES + UNCACHED_NAMES + 2 * LAT_NAMES)) -gt "$LEARNED_MAX" ]; then
	lab_die "names for dnsd ($CACHED_NAMES + $UNCACHED_NAMES + 2 x $LAT_NAMES) exceed" \
		"CW_LEARNED_MAX=$LEARNED_MAX"
fi
[ "$LAT_NAMES" -le 65536 ] || lab_die "BENCH_LAT_QPS x BENCH_LAT_DURATION above 65536 names"
# Cached phases stop at the time limit; the pass count only bounds the query count.
CACHED_RUNS=$(((2000000 + CACHED_NAMES - 1) / CACHED_NAMES))

BENCH_UP=10.199.1.54 # the benchmark's upstream, on the internet netns' loopback
FWD_PLAIN=127.0.0.2  # (c)
FWD_NFT=127.0.0.3    # (d)
DOMAIN=bench.test
CLK_TCK=$(getconf CLK_TCK)

for t in dnsperf nft; do
	command -v "$t" >/dev/null 2>&1 || lab_die "missing $t (run scripts/install-deps.sh)"
done
[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"

bench_log() { printf 'bench: %s\n' "$*" >&2; }

# ---- names ------------------------------------------------------------------------------------

# Three disjoint sets, each with its own addresses (a learned address is a new trie entry):
#   c<i>  10.120.x.y   cached phases
#   l<i>  10.121.x.y   uncached latency phase (l<i>) and cached-latency spare
#   u<i>  10.128+.x.y  uncached throughput phase
bench_names() {
	awk -v c="$CACHED_NAMES" -v l="$LAT_NAMES" -v u="$UNCACHED_NAMES" -v d="$DOMAIN" 'BEGIN {
		for (i = 0; i < c; i++)
			printf "10.120.%d.%d c%d.%s\n", int(i / 256) % 256, i % 256, i, d
		for (i = 0; i < l; i++)
			printf "10.121.%d.%d l%d.%s\n", int(i / 256) % 256, i % 256, i, d
		for (i = 0; i < u; i++)
			printf "10.%d.%d.%d u%d.%s\n", 128 + int(i / 65536), int(i / 256) % 256,
				i % 256, i, d
	}' >"$RAW/hosts"
	awk -v n="$CACHED_NAMES" -v d="$DOMAIN" \
		'BEGIN { for (i = 0; i < n; i++) printf "c%d.%s A\n", i, d }' >"$RAW/q-cached"
	awk -v n="$LAT_NAMES" -v d="$DOMAIN" \
		'BEGIN { for (i = 0; i < n; i++) printf "l%d.%s A\n", i, d }' >"$RAW/q-lat"
	awk -v n="$UNCACHED_NAMES" -v d="$DOMAIN" \
		'BEGIN { for (i = 0; i < n; i++) printf "u%d.%s A\n", i, d }' >"$RAW/q-uncached"
}

# ---- servers ----------------------------------------------------------------------------------

# A dnsmasq with no query log (the lab's own logs every query, which would be the bottleneck),
# answering bench.test from the hosts file with a TTL long enough for every forwarder to cache.
bench_upstream() {
	ip -n "$LAB_INET" addr add "$BENCH_UP/32" dev lo
	ip netns exec "$LAB_INET" dnsmasq --no-daemon --conf-file=/dev/null --pid-file= \
		--port=53 --bind-interfaces --listen-address="$BENCH_UP" \
		--no-resolv --no-hosts --addn-hosts="$RAW/hosts" --local=/test/ \
		--local-ttl=3600 </dev/null >"$RAW/upstream.out" 2>&1 &
	UP_PID=$!
	LAB_PIDS+=("$UP_PID")
	lab_retry 100 0.1 lab_dig_ok "$BENCH_UP" "c0.$DOMAIN" 10.120.0.0 ||
		lab_die "benchmark upstream does not answer ($(cat "$RAW/upstream.out"))"
}

# bench_forwarder NAME ADDRESS [DNSMASQ-OPTION...]: a caching dnsmasq forwarder in the runner
# netns, pid in FWD_PID.
bench_forwarder() {
	local name=$1 ip=$2
	shift 2
	# lab_runner's own command line, not the function: in the background a function runs in a
	# subshell, and $! would be that subshell's pid instead of the one dnsmasq runs as.
	sh -c 'cg=$1; ns=$2; shift 2; echo $$ > "$cg/cgroup.procs" && exec ip netns exec "$ns" "$@"' \
		bench-forwarder "$LAB_SYSCG" "$LAB_RUNNER" dnsmasq --no-daemon --conf-file=/dev/null \
		--pid-file= --port=53 --bind-interfaces --listen-address="$ip" --no-resolv \
		--no-hosts --server="$BENCH_UP" --cache-size=10000 "$@" \
		</dev/null >"$RAW/$name.out" 2>&1 &
	FWD_PID=$!
	LAB_PIDS+=("$FWD_PID")
	lab_retry 100 0.1 lab_dig_ok "$ip" "c0.$DOMAIN" 10.120.0.0 ||
		lab_die "dnsmasq $name on $ip does not answer ($(cat "$RAW/$name.out"))"
}

# The nftables allowlist of (d), inside the runner netns only: a set, and an output chain that
# consults it (accepting everything else too: the benchmark measures the updates, not drops).
bench_nft() {
	lab_runner nft -f - <<-'EOF'
	table inet cwbench {
		set allow { type ipv4_addr; }
		chain out {
			type filter hook output priority 0; policy accept;
			ip daddr @allow counter accept
		}
	}
	EOF
}

bench_nft_count() {
	lab_runner nft list set inet cwbench allow | grep -oE '10\.[0-9]+\.[0-9]+\.[0-9]+' | wc -l
}

# ---- measuring --------------------------------------------------------------------------------

# Clock ticks (user + system, every thread) of the pids in SRV (name=pid words); "name=" for a
# pid that is gone.
declare -A SRV=()
cpu_ticks() {
	local name
	for name in "${!SRV[@]}"; do
		# Fields after the comm, which ends with ") ": utime and stime are the 12th and 13th.
		printf '%s=%s\n' "$name" "$(sed 's/^.*) //' "/proc/${SRV[$name]}/stat" 2>/dev/null |
			awk '{ print $12 + $13 }')"
	done
}

# measure SERVER CACHE KIND ADDRESS RUNNER: one dnsperf run from RUNNER (lab_runner or
# lab_workload), its figures appended to $RESULTS.
measure() {
	local server=$1 cache=$2 kind=$3 ip=$4 runner=$5 tag=$1-$2-$3 t0 t1 m0 m1 f0 f1 line name
	local args=(-s "$ip" -t 2) cpu=() before after
	declare -A b=()
	case $cache-$kind in
	cached-tput) args+=(-d "$RAW/q-cached" -n "$CACHED_RUNS" -l "$DURATION" -q "$INFLIGHT") ;;
	cached-lat) args+=(-d "$RAW/q-cached" -n "$CACHED_RUNS" -l "$LAT_DURATION" -Q "$LAT_QPS"
		-q 16 -v) ;;
	uncached-tput) args+=(-d "$RAW/q-uncached" -n 1 -l "$DURATION" -q "$INFLIGHT") ;;
	uncached-lat) args+=(-d "$RAW/q-lat" -n 1 -l "$LAT_DURATION" -Q "$LAT_QPS" -q 16 -v) ;;
	esac
	bench_log "$tag: dnsperf ${args[*]}"
	before=$(cpu_ticks)
	m0=$(head -n 1 /proc/stat)
	f0=$(awk '$1 == "processes" { print $2 }' /proc/stat)
	t0=$(date +%s.%N)
	# `times` after dnsperf: its CPU time (the second line, children of this shell).
	# shellcheck disable=SC2016 # expanded by the inner sh
	"$runner" sh -c 'o=$1; t=$2; shift 2; dnsperf "$@" >"$o" 2>&1; r=$?; times >"$t"; exit $r' \
		bench-gen "$RAW/$tag.dnsperf" "$RAW/$tag.times" "${args[@]}" ||
		lab_die "$tag: dnsperf failed: $(tail -n 5 "$RAW/$tag.dnsperf")"
	t1=$(date +%s.%N)
	f1=$(awk '$1 == "processes" { print $2 }' /proc/stat)
	m1=$(head -n 1 /proc/stat)
	after=$(cpu_ticks)
	while IFS='=' read -r name line; do
		[ -n "$name" ] && b[$name]=$line
	done <<<"$before"
	while IFS='=' read -r name line; do
		[ -n "$name" ] || continue
		if [ -n "$line" ] && [ -n "${b[$name]:-}" ]; then
			cpu+=(--cpu "$name=$((line - b[$name]))")
		fi
	done <<<"$after"
	"$LAB_PYTHON" "$BENCH_DIR/report.py" phase --out "$RAW/$tag.dnsperf" \
		--times "$RAW/$tag.times" --server "$server" --cache "$cache" --kind "$kind" \
		--wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
		--clk-tck "$CLK_TCK" --machine "$m0" --machine "$m1" \
		--forks "$((f1 - f0))" "${cpu[@]}" >>"$RESULTS"
}

# prime ADDRESS RUNNER: one pass over the cached names, so the cached phases hit the cache.
prime() {
	"$2" dnsperf -s "$1" -t 2 -d "$RAW/q-cached" -n 1 -q 16 >"$RAW/prime-$1.out" 2>&1 ||
		lab_die "priming $1 failed: $(tail -n 5 "$RAW/prime-$1.out")"
}

# bench_server SERVER ADDRESS RUNNER: the four phases against one server.
bench_server() {
	prime "$2" "$3"
	measure "$1" cached tput "$2" "$3"
	measure "$1" cached lat "$2" "$3"
	measure "$1" uncached tput "$2" "$3"
	measure "$1" uncached lat "$2" "$3"
}

# shellcheck disable=SC2317 # called from the EXIT trap
bench_save() {
	if [ -n "${BENCH_OUT:-}" ] && [ -d "${RAW:-}" ]; then
		mkdir -p "$BENCH_OUT" && cp -a "$RAW/." "$BENCH_OUT/" &&
			rm -f "$BENCH_OUT/hosts" "$BENCH_OUT"/q-* &&
			bench_log "raw outputs in $BENCH_OUT"
	fi
}

# ---- the run ----------------------------------------------------------------------------------

# How busy the machine is before the run (other jobs share the CPUs the figures depend on).
bench_busy() {
	local m0 m1
	m0=$(head -n 1 /proc/stat)
	sleep 1
	m1=$(head -n 1 /proc/stat)
	f1=$(awk '$1 == "processes" { print $2 }' /proc/stat)
	echo "$m0 $m1" | awk '{ for (i = 2; i <= 9; i++) { d = $(i + 11) - $i; t += d
		if (i == 5 || i == 6) idle += d }; printf "%.0f", t ? 100 * (t - idle) / t : 0 }'
}
BUSY_BEFORE=$(bench_busy)

trap 'bench_save; lab_teardown' EXIT
trap 'exit 130' INT TERM
lab_setup
RAW=$LAB/bench
RESULTS=$RAW/results.ndjson
mkdir -p "$RAW"
: >"$RESULTS"
bench_names
bench_upstream
bench_log "upstream $BENCH_UP: $(grep -o 'read .*names' "$RAW/upstream.out" || true)"

SRV=([server]="$UP_PID")
bench_server upstream "$BENCH_UP" lab_runner

bench_forwarder dnsmasq "$FWD_PLAIN"
SRV=([server]="$FWD_PID" [upstream]="$UP_PID")
bench_server dnsmasq "$FWD_PLAIN" lab_runner
lab_kill_pid "$FWD_PID"

bench_nft
bench_forwarder nftset "$FWD_NFT" --nftset="/$DOMAIN/4#inet#cwbench#allow"
SRV=([server]="$FWD_PID" [upstream]="$UP_PID")
bench_server nftset "$FWD_NFT" lab_runner
lab_kill_pid "$FWD_PID"
NFT_COUNT=$(bench_nft_count)

# dnsd: one cargowall run for the cached phases and the uncached throughput phase, a second for
# the uncached latency phase alone, so that its answer-to-trie histogram (the enforcer's exit
# line) is that of the fixed load: the first run's holds the saturated phases, where an
# answer's wait is mostly its place in the queue behind 64 in flight.
cw_up() {
	lab_cw start --mode enforce --allow-hosts "$DOMAIN" --interface "$LAB_IF" \
		--cgroup "$LAB_CG" --dns-upstream "$BENCH_UP" --audit-log "$LAB_AUDIT" \
		--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers ||
		lab_die "cargowall start failed"
	SRV=([upstream]="$UP_PID")
	for name in dnsd enforcer auditd; do
		SRV[$name]=$(tr -dc '0-9' <"$LAB_STATE/$name.pid")
	done
	bench_log "cargowall up: dnsd ${SRV[dnsd]}, enforcer ${SRV[enforcer]}, auditd ${SRV[auditd]}"
	lab_retry 50 0.1 test "$(lab_workload dig +short +time=1 +tries=1 @127.0.0.1 \
		"c0.$DOMAIN")" = 10.120.0.0 ||
		lab_die "dnsd does not answer c0.$DOMAIN from the workload cgroup"
}
cw_down() { # LOG: where dnsd's and the enforcer's lines of this run go (daemon.log is appended
	# to by each run)
	lab_cw stop --state-dir "$LAB_STATE" || lab_die "cargowall stop failed"
	grep -E '^(dnsd|enforcer):' "$LAB_STATE/daemon.log" >"$1" || true
	: >"$LAB_STATE/daemon.log"
}
cw_up
prime 127.0.0.1 lab_workload
measure dnsd cached tput 127.0.0.1 lab_workload
measure dnsd cached lat 127.0.0.1 lab_workload
measure dnsd uncached tput 127.0.0.1 lab_workload
cw_down "$RAW/daemon-b.log"
cw_up
measure dnsd uncached lat 127.0.0.1 lab_workload
cw_down "$RAW/daemon-b-lat.log"

rc=0
"$LAB_PYTHON" "$BENCH_DIR/report.py" summary --results "$RESULTS" \
	--daemon-log "$RAW/daemon-b.log" --daemon-log-lat "$RAW/daemon-b-lat.log" \
	--nft-count "$NFT_COUNT" --lat-qps "$LAT_QPS" --inflight "$INFLIGHT" \
	--config "DNS benchmark: $(nproc) CPUs, $(dnsperf -h 2>&1 | awk '/^Version/ { print "dnsperf", $2 }'), $(dnsmasq --version | awk 'NR == 1 { print "dnsmasq", $3 }');
throughput phases: $INFLIGHT in flight, ${DURATION} s (uncached: at most $UNCACHED_NAMES names); \
latency phases (p50/p99/max): $LAT_QPS qps for ${LAT_DURATION} s; $CACHED_NAMES cached names;
machine busy before the run: ${BUSY_BEFORE}% of all CPUs" ||
	rc=$?
exit "$rc"
