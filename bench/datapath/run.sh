#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Datapath benchmark (issue 4), in the namespace lab of tests/lab/lab.sh, all in one run:
# TCP throughput (one stream) and new TCP connections per second (connect, close with RST) to a
# server in the internet netns, with
#  (a)  no filter: from a sibling runner netns ($LAB_RUNNER2) over its own veth pair, which
#       neither cargowall nor nftables touches;
#  (b)  cargowall in enforce mode with BENCH_ENTRIES (100,000) entries in its IPv4 LPM trie:
#       CW_STATIC_PREFIXES_MAX static /32 allow rules (the server's address among them), the rest
#       learned from DNS (n<i>.fill.test, each its own address, resolved through dnsd before
#       measuring); from the workload cgroup (connect hook + TC) and from outside it (TC only);
#  (c)  nftables in the runner netns with the same addresses in an ipv4_addr set: an output
#       chain, policy drop, ct state established,related accept, ip daddr @allow accept;
#       cargowall stopped.
# Side by side in time (slotted.c): the paths of one window take turns in slots of
# BENCH_SLOT_MS for BENCH_WINDOW_SECONDS, so that each meets the same disturbances from the
# rest of the machine within a fraction of a second; back-to-back runs of one path moved by 5 to
# 15 % on this kind of machine, more than the 2 % a target allows. Phase B: (a), (b) from the
# cgroup, (b) from outside; phase C: (a), (c); in the first round of phase C also (a'), the
# runner netns's own path without any filter, against (a): the check that the two paths are
# equivalent. Every measured process (clients and servers) is pinned to one CPU (BENCH_CPU).
# Every target is the median over the rounds of (b or c) / (a) of the same window; PASS/FAIL
# per target, exit 0 when all passed, 1 when one failed, 2 when a figure was missing. Everything
# happens inside the lab's namespaces and cgroups (nft only inside the runner netns); the lab
# is removed on every exit, ^C included. About 3 minutes.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=$REPO/bench/datapath
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

limit() { # NAME: a #define of proto/limits.h
	awk -v n="$1" '$1 == "#define" && $2 == n { print $3 }' "$REPO/proto/limits.h"
}
STATIC_MAX=$(limit CW_STATIC_PREFIXES_MAX)
LEARNED_MAX=$(limit CW_LEARNED_MAX)
[[ $STATIC_MAX =~ ^[0-9]+$ && $LEARNED_MAX =~ ^[0-9]+$ ]] ||
	lab_die "cannot read CW_STATIC_PREFIXES_MAX / CW_LEARNED_MAX from proto/limits.h"

ROUNDS=$(bench_uint BENCH_ROUNDS 5 1 9)
WIN_S=$(bench_uint BENCH_WINDOW_SECONDS 12 2 120)
SLOT_MS=$(bench_uint BENCH_SLOT_MS 200 20 5000)
# Every measured process (clients and servers) on one CPU, the last one by default: the softirq
# work of the veth pairs follows the sender, so a path's whole cost lands on that CPU and each
# figure measures it; cargowall's daemons stay where the scheduler puts them (their CPU is
# reported apart). BENCH_CPU=none turns pinning off.
CPU=${BENCH_CPU:-$(($(nproc) - 1))}
if [ "$CPU" = none ]; then
	PIN=()
else
	CPU=$(bench_uint BENCH_CPU "$CPU" 0 $(($(nproc) - 1)))
	PIN=(taskset -c "$CPU")
fi
ENTRIES=$(bench_uint BENCH_ENTRIES 100000 1000 $((STATIC_MAX + LEARNED_MAX)))
# The static rules fill what the enforcer accepts (all /32 in 10.50.0.0/18 for 16384, none
# nested: an LPM chain holds one rule); DNS brings the rest.
N_STATIC=$((ENTRIES < STATIC_MAX ? ENTRIES : STATIC_MAX))
N_LEARNED=$((ENTRIES - N_STATIC))
[ "$N_STATIC" -le 65536 ] || lab_die "static addresses are laid out in 10.50.0.0/16 only"

static_ip() { echo "10.50.$(($1 / 256)).$(($1 % 256))"; }
SRV_IP=$(static_ip $((N_STATIC / 2 + 1))) # (b), (c), (a'): deep inside the densest part of the trie
A_IP=10.199.5.10                           # (a): on the internet's loopback, reached over cw1
A_NET_RUNNER=10.199.4.1                    # cw1, in $LAB_RUNNER2
A_NET_INET=10.199.4.2                      # cwup1
LAB_RUNNER2=cwq-$LAB_ID                    # (a)'s netns: a second runner, no filter
BENCH_UP=10.199.1.54                       # a dnsmasq for n<i>.fill.test, no query log
FILL_DOMAIN=fill.test
SINK_PORT=5201
CONN_PORT=5301
CLK_TCK=$(getconf CLK_TCK)

for t in dnsperf nft cc ss taskset; do
	command -v "$t" >/dev/null 2>&1 || lab_die "missing $t (run scripts/install-deps.sh)"
done
[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"

bench_log() { printf 'bench: %s\n' "$*" >&2; }

# ---- lab additions ----------------------------------------------------------------------------

# The unfiltered path of (a): a second runner netns with its own veth pair like cw0's and /24,
# and A_IP on the internet's loopback routed over it. Its processes join $LAB_SYSCG as the
# runner's do (lab_teardown ends them); bench_exit removes the netns.
bench_net() {
	ip netns add "$LAB_RUNNER2"
	ip -n "$LAB_RUNNER2" link set lo up
	ip link add cw1 netns "$LAB_RUNNER2" type veth peer name cwup1 netns "$LAB_INET"
	ip -n "$LAB_RUNNER2" addr add "$A_NET_RUNNER/24" dev cw1
	ip -n "$LAB_INET" addr add "$A_NET_INET/24" dev cwup1
	ip -n "$LAB_RUNNER2" link set cw1 up
	ip -n "$LAB_INET" link set cwup1 up
	ip -n "$LAB_INET" addr add "$A_IP/32" dev lo
	ip -n "$LAB_INET" addr add "$SRV_IP/32" dev lo
	ip -n "$LAB_INET" addr add "$BENCH_UP/32" dev lo
	ip -n "$LAB_RUNNER2" route add "$A_IP/32" via "$A_NET_INET" dev cw1
}

# runner2 CMD...: CMD in (a)'s netns, in the lab's system cgroup.
runner2() {
	sh -c 'cg=$1; ns=$2; shift 2; echo $$ > "$cg/cgroup.procs" && exec ip netns exec "$ns" "$@"' \
		runner2 "$LAB_SYSCG" "$LAB_RUNNER2" "$@"
}

bench_tools() {
	cc -O2 -Wall -Wextra -Werror -pthread -o "$RAW/connrate" "$BENCH_DIR/connrate.c" ||
		lab_die "cannot build connrate"
	cc -O2 -Wall -Wextra -Werror -pthread -o "$RAW/slotted" "$BENCH_DIR/slotted.c" ||
		lab_die "cannot build slotted"
	cc -O2 -Wall -Wextra -Werror -I"$REPO" -o "$RAW/lpmcount" "$BENCH_DIR/lpmcount.c" ||
		lab_die "cannot build lpmcount"
}

# The policy (static rules + the fill hostname), the fill names, and the nftables set with the
# same addresses.
bench_files() {
	awk -v n="$N_STATIC" -v d="$FILL_DOMAIN" 'BEGIN {
		q = "\""
		rule = "{" q "type" q ": " q "%s" q ", " q "value" q ": " q "%s" q ", " \
			q "ports" q ": [], " q "action" q ": " q "allow" q "}"
		printf "{" q "defaultAction" q ": " q "deny" q ", " q "rules" q ": [\n"
		for (i = 0; i < n; i++)
			printf rule ",\n", "cidr", sprintf("10.50.%d.%d/32", int(i / 256), i % 256)
		printf rule "\n]}\n", "hostname", "**." d
	}' >"$RAW/policy.json"
	awk -v n="$N_LEARNED" -v d="$FILL_DOMAIN" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "10.%d.%d.%d n%d.%s\n", 64 + int(i / 65536), int(i / 256) % 256,
				i % 256, i, d
	}' >"$RAW/fill.hosts"
	awk '{ print $2, "A" }' "$RAW/fill.hosts" >"$RAW/q-fill"
	{
		echo "table inet cwbench {"
		echo "	set allow { type ipv4_addr; size $((ENTRIES + 1024)); }"
		echo "}"
		# Every address, static then learned, 1000 to an `add element` line.
		{
			awk -v n="$N_STATIC" 'BEGIN {
				for (i = 0; i < n; i++)
					printf "10.50.%d.%d\n", int(i / 256), i % 256
			}'
			awk '{ print $1 }' "$RAW/fill.hosts"
		} | awk '{ a = a (a == "" ? "" : ", ") $1 }
			NR % 1000 == 0 { print "add element inet cwbench allow { " a " }"; a = "" }
			END { if (a != "") print "add element inet cwbench allow { " a " }" }'
	} >"$RAW/allow.nft"
}

bench_upstream() {
	ip netns exec "$LAB_INET" dnsmasq --no-daemon --conf-file=/dev/null --pid-file= \
		--port=53 --bind-interfaces --listen-address="$BENCH_UP" \
		--no-resolv --no-hosts --addn-hosts="$RAW/fill.hosts" --local=/test/ \
		--local-ttl=3600 </dev/null >"$RAW/upstream.out" 2>&1 &
	LAB_PIDS+=($!)
	[ "$N_LEARNED" -eq 0 ] && return 0
	lab_retry 100 0.1 lab_dig_ok "$BENCH_UP" "n0.$FILL_DOMAIN" 10.64.0.0 ||
		lab_die "fill upstream does not answer ($(cat "$RAW/upstream.out"))"
}

bench_conn_server() {
	ip netns exec "$LAB_INET" "${PIN[@]}" "$RAW/connrate" server 0.0.0.0 "$CONN_PORT" 1 1800 \
		</dev/null >"$RAW/connrate-server.out" 2>&1 &
	LAB_PIDS+=($!)
	lab_retry 50 0.1 grep -q listening "$RAW/connrate-server.out" ||
		lab_die "connrate server: $(cat "$RAW/connrate-server.out")"
	ip netns exec "$LAB_INET" "${PIN[@]}" "$RAW/slotted" sink 0.0.0.0 "$SINK_PORT" 1800 \
		</dev/null >"$RAW/sink.out" 2>&1 &
	LAB_PIDS+=($!)
	lab_retry 50 0.1 grep -q listening "$RAW/sink.out" || lab_die "sink: $(cat "$RAW/sink.out")"
}

# ---- measuring --------------------------------------------------------------------------------

# CPU ticks (user + system) of the cargowall processes while they run; "name=" for one gone.
declare -A SRV=()
cpu_ticks() {
	local name
	for name in "${!SRV[@]}"; do
		printf '%s=%s\n' "$name" "$(sed 's/^.*) //' "/proc/${SRV[$name]}/stat" 2>/dev/null |
			awk '{ print $12 + $13 }')"
	done
}

# Until the cargowall processes stop using CPU (auditd writing the events of the connection
# phase before), at most 10 s, so that one measurement does not pay for the one before.
settle() {
	local a b i
	[ ${#SRV[@]} -gt 0 ] || return 0
	a=$(cpu_ticks)
	for ((i = 0; i < 50; i++)); do
		sleep 0.2
		b=$(cpu_ticks)
		[ "$a" = "$b" ] && return 0
		a=$b
	done
	bench_log "cargowall processes still busy after 10 s"
}

# window PHASE KIND ROUND SPEC...: one measuring window in which the paths of the SPECs
# ("config:runner:address") take turns in slots of SLOT_MS (slotted.c), the order of the
# slots rotated by the round; each path's figure appended to $RESULTS.
window() {
	local phase=$1 kind=$2 round=$3 n i spec cfg runner ip tag start port
	local t0 t1 m0 m1 p0 p1 f0 f1 before after name v cpu=() pids=() cfgs=()
	declare -A b=()
	shift 3
	n=$#
	local specs=("$@")
	settle
	port=$CONN_PORT
	[ "$kind" = tput ] && port=$SINK_PORT
	before=$(cpu_ticks)
	m0=$(head -n 1 /proc/stat)
	p0=$(grep "^cpu$CPU " /proc/stat || true)
	f0=$(awk '$1 == "processes" { print $2 }' /proc/stat)
	t0=$(date +%s.%N)
	# Every client is started and connected before the first slot (CLOCK_BOOTTIME, in ms).
	start=$(awk '{ printf "%d", $1 * 1000 + 1500 }' /proc/uptime)
	for ((i = 0; i < n; i++)); do
		spec=${specs[$(((i + round) % n))]}
		IFS=: read -r cfg runner ip <<<"$spec"
		cfgs+=("$cfg")
		tag=$phase-$cfg-$kind-$round
		"$runner" "${PIN[@]}" timeout $((WIN_S + 20)) "$RAW/slotted" \
			"$([ "$kind" = tput ] && echo stream || echo conn)" "$ip" "$port" "$SLOT_MS" \
			"$n" "$i" "$start" "$WIN_S" >"$RAW/$tag.out" 2>&1 &
		pids+=($!)
	done
	LAB_PIDS+=("${pids[@]}")
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" ||
			lab_die "$phase-${cfgs[$i]}-$kind-$round: slotted failed: $(tail -n 3 \
				"$RAW/$phase-${cfgs[$i]}-$kind-$round.out")"
	done
	t1=$(date +%s.%N)
	f1=$(awk '$1 == "processes" { print $2 }' /proc/stat)
	m1=$(head -n 1 /proc/stat)
	p1=$(grep "^cpu$CPU " /proc/stat || true)
	after=$(cpu_ticks)
	while IFS='=' read -r name v; do
		[ -n "$name" ] && b[$name]=$v
	done <<<"$before"
	while IFS='=' read -r name v; do
		[ -n "$name" ] && [ -n "$v" ] && [ -n "${b[$name]:-}" ] &&
			cpu+=(--cpu "$name=$((v - b[$name]))")
	done <<<"$after"
	for cfg in "${cfgs[@]}"; do
		tag=$phase-$cfg-$kind-$round
		"$LAB_PYTHON" "$BENCH_DIR/report.py" record --phase "$phase" --config "$cfg" \
			--kind "$kind" --round "$round" --out "$RAW/$tag.out" \
			--wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
			--clk-tck "$CLK_TCK" --machine "$m0" --machine "$m1" --pinned "$p0" \
			--pinned "$p1" --forks "$((f1 - f0))" "${cpu[@]}" >>"$RESULTS"
		bench_log "$tag: $(tail -n 1 "$RESULTS" | "$LAB_PYTHON" -c \
			'import json, sys; r = json.load(sys.stdin); print(r["value"], r["unit"])')"
	done
}

# run_round PHASE ROUND SPEC...: a throughput window, then a connection window.
run_round() {
	local phase=$1 round=$2
	shift 2
	window "$phase" tput "$round" "$@"
	window "$phase" conn "$round" "$@"
}

# ---- cargowall and nftables -------------------------------------------------------------------

trie_count() {
	"$RAW/lpmcount" "$LAB_PINS/lpm_v4"
}

# dnsd resolves every fill name once (dnsperf from the workload cgroup, through the DNS
# redirect): each answer's address becomes a learned trie entry before dnsd releases it.
# Answers that timed out waiting for the enforcer (SERVFAIL) are asked again, at most 3 passes.
bench_fill() {
	local pass have
	for ((pass = 1; pass <= 3; pass++)); do
		lab_workload dnsperf -s 127.0.0.1 -t 5 -d "$RAW/q-fill" -n 1 -q 64 \
			>"$RAW/fill-$pass.dnsperf" 2>&1 ||
			lab_die "fill: dnsperf failed: $(tail -n 5 "$RAW/fill-$pass.dnsperf")"
		have=$(trie_count)
		bench_log "fill pass $pass: $(grep -E \
			'Queries (completed|per second)|Response codes' "$RAW/fill-$pass.dnsperf" |
			tr -s ' \n' ' '); trie: $have"
		[ "$(awk '{ print $2 }' <<<"$have")" -ge "$ENTRIES" ] && return 0
	done
	return 0
}

counters() { # allowed blocked would_deny events_lost dns_redirected, summed over CPUs
	bpftool -j map dump pinned "$LAB_PINS/counters" 2>/dev/null | "$LAB_PYTHON" -c '
import json, sys
names = ["allowed", "blocked", "would_deny", "events_lost", "dns_redirected"]
out = []
for e in json.load(sys.stdin):
    k = e.get("key")
    k = int(k) if isinstance(k, int) else int.from_bytes(bytes(int(x, 16) for x in k), "little")
    tot = sum(v["value"] if isinstance(v["value"], int) else
              int.from_bytes(bytes(int(x, 16) for x in v["value"]), "little")
              for v in e["values"])
    if k < len(names):
        out.append("%s %d" % (names[k], tot))
print(", ".join(out))' 2>/dev/null || echo "(unreadable)"
}

nft_chain_on() {
	lab_runner nft -f - <<-'EOF'
	add chain inet cwbench out { type filter hook output priority 0; policy drop; }
	add rule inet cwbench out ct state established,related accept
	add rule inet cwbench out ip daddr @allow accept
	EOF
}

# Removing the chain also unregisters conntrack from the netns (its last user): (a) and (a')
# run with no netfilter hook at all.
nft_chain_off() {
	local n
	if lab_runner nft list chain inet cwbench out >/dev/null 2>&1; then
		n=$(ip netns exec "$LAB_RUNNER" cat /proc/sys/net/netfilter/nf_conntrack_count \
			2>/dev/null || echo 0)
		[ "$n" -gt "$NFT_CT_MAX" ] && NFT_CT_MAX=$n
		lab_runner nft delete chain inet cwbench out
	fi
}
NFT_CT_MAX=0

# shellcheck disable=SC2317 # called from the EXIT trap
bench_save() {
	if [ -n "${BENCH_OUT:-}" ] && [ -d "${RAW:-}" ]; then
		mkdir -p "$BENCH_OUT" && cp -a "$RAW/." "$BENCH_OUT/" &&
			rm -f "$BENCH_OUT"/{policy.json,fill.hosts,q-fill,allow.nft} \
				"$BENCH_OUT"/{connrate,slotted,lpmcount} &&
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
	echo "$m0 $m1" | awk '{ for (i = 2; i <= 9; i++) { d = $(i + 11) - $i; t += d
		if (i == 5 || i == 6) idle += d }; printf "%.0f", t ? 100 * (t - idle) / t : 0 }'
}
BUSY_BEFORE=$(bench_busy)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)

# shellcheck disable=SC2317 # called from the EXIT trap
bench_exit() {
	bench_save
	lab_teardown
	ip netns del "$LAB_RUNNER2" 2>/dev/null || true
}
trap bench_exit EXIT
trap 'exit 130' INT TERM
lab_setup
RAW=$LAB/bench
RESULTS=$RAW/results.ndjson
mkdir -p "$RAW"
: >"$RESULTS"
bench_net
bench_tools
bench_files
bench_upstream
bench_conn_server
bench_log "server $SRV_IP (b, c, a'), $A_IP from $LAB_RUNNER2 (a); $N_STATIC static + \
$N_LEARNED learned"
runner2 "$RAW/connrate" client "$A_IP" "$CONN_PORT" 1 1 >/dev/null ||
	lab_die "(a)'s netns cannot reach $A_IP"

# Phase B: cargowall up, (a) from the second runner netns next to (b) over cw0.
lab_cw start --config "$RAW/policy.json" --mode enforce --interface "$LAB_IF" \
	--cgroup "$LAB_CG" --dns-upstream "$BENCH_UP" --audit-log "$LAB_AUDIT" \
	--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers ||
	lab_die "cargowall start failed"
for name in dnsd enforcer auditd; do
	SRV[$name]=$(tr -dc '0-9' <"$LAB_STATE/$name.pid")
done
T_FILL=$(date +%s)
[ "$N_LEARNED" -gt 0 ] && bench_fill
T_FILL=$(($(date +%s) - T_FILL))
TRIE_BEFORE=$(trie_count)
read -r _ n_entries _ <<<"$TRIE_BEFORE"
[ "$n_entries" -ge "$ENTRIES" ] ||
	bench_log "WARNING: the trie holds $n_entries entries, not $ENTRIES"
lab_workload "$RAW/connrate" client "$SRV_IP" "$CONN_PORT" 1 1 >/dev/null ||
	lab_die "the workload cgroup cannot reach $SRV_IP: $(tail -n 3 "$LAB_CWLOG")"
COUNTERS_BEFORE=$(counters)
for ((r = 0; r < ROUNDS; r++)); do
	run_round B "$r" "a:runner2:$A_IP" "b-cg:lab_workload:$SRV_IP" \
		"b-out:lab_runner:$SRV_IP"
done
settle
TRIE_AFTER=$(trie_count)
COUNTERS_AFTER=$(counters)
lab_cw stop --state-dir "$LAB_STATE" || lab_die "cargowall stop failed"
SRV=()
AUDIT_LINES=$(wc -l <"$LAB_AUDIT" 2>/dev/null || echo 0)
AUDIT_LOST=$(grep -c '"events_lost"' "$LAB_AUDIT" 2>/dev/null || true)

# Phase C: the nftables set loaded once; first (a') with no chain (nor conntrack) in the runner
# netns, then the chain on for (c); (a)'s netns has neither.
CW0_AFTER=$(lab_runner bpftool net show dev "$LAB_IF" 2>&1 | grep -E '^[a-z0-9]+\(' |
	tr '\n' ' ' || true)
t0=$(date +%s.%N)
lab_runner nft -f "$RAW/allow.nft" || lab_die "nft: cannot load the set"
NFT_LOAD_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
NFT_COUNT=$(lab_runner nft list set inet cwbench allow | grep -oE '10\.[0-9]+\.[0-9]+\.[0-9]+' |
	wc -l)
# (a'), the path check, in one round only: the rounds are what the targets need.
run_round C 0 "a0:lab_runner:$SRV_IP" "a:runner2:$A_IP"
nft_chain_on
for ((r = 1; r <= ROUNDS; r++)); do
	run_round C "$r" "c:lab_runner:$SRV_IP" "a:runner2:$A_IP"
done
nft_chain_off
lab_runner nft delete table inet cwbench

rc=0
# The smaller of the counts before and after the rounds: the trie must have held them all.
TRIE_MIN=$(printf '%s\n%s\n' "$TRIE_BEFORE" "$TRIE_AFTER" | awk '{ print $2 + 0 }' | sort -n |
	head -n 1)
"$LAB_PYTHON" "$BENCH_DIR/report.py" summary --results "$RESULTS" --entries "$ENTRIES" \
	--trie-entries "${TRIE_MIN:-0}" --nft-entries "$NFT_COUNT" \
	--config "Datapath benchmark: $(nproc) CPUs, kernel $(uname -r), $(nft --version |
		awk '{ print "nftables", $2 }');
slotted.c, the paths of a window taking turns in ${SLOT_MS} ms slots for $WIN_S s: throughput \
one TCP stream of 128 KiB writes per path, connections connect+close (RST); clients and \
servers on CPU ${CPU}; $ROUNDS rounds per phase, slot order rotated each round;
(b) trie: $TRIE_BEFORE before the rounds, $TRIE_AFTER after ($N_STATIC static /32 rules, \
$N_LEARNED names resolved through dnsd in ${T_FILL} s);
(b) BPF counters: before the rounds $COUNTERS_BEFORE; after $COUNTERS_AFTER; audit log \
$AUDIT_LINES lines, $AUDIT_LOST events_lost records;
(c) BPF left on $LAB_IF after cargowall stop: ${CW0_AFTER:-none}; nftables set: $NFT_COUNT \
addresses (loaded in $NFT_LOAD_S s); most conntrack entries seen $NFT_CT_MAX;
machine busy before the run: ${BUSY_BEFORE}% of all CPUs, load average $LOAD_BEFORE; \
run took $(($(date +%s) - T_START)) s" ||
	rc=$?
exit "$rc"
