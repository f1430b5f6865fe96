#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Lifecycle benchmark (issue 6), in the namespace lab of tests/lab/lab.sh, with a 1,000-rule
# policy (bench/lifecycle/README in bench/README.md):
#  start  `cargowall start` until it returns (it returns 0 only once enforcement is live:
#         programs attached, rules loaded, dnsd answering), timed inside the runner netns,
#         BENCH_CYCLES times; after each, a denied connect from the workload must fail at once;
#  stop   `cargowall stop` until it returns (everything detached, unpinned, removed), then
#         checked: no TC filter or qdisc, no pin, no cgroup program, no process;
#  memory of the supervisor, the enforcer, dnsd and auditd after start, after half of
#         BENCH_LOAD_N DNS answers + connections and after all of them (a Python client in the
#         workload: one A query to dnsd for n<i>.fresh.test, then a TCP connection to the
#         address, and one denied connect every 10th round so auditd writes too), three ways:
#         VmRSS, Pss (smaps_rollup) and the three's distinct resident pages (pagemap), and
#         each child's Rss/Pss by kind of mapping (heap, libs, ring ...).
# One PASS/FAIL line per target: start <= 100 ms, stop <= 100 ms (medians), the three children
# together <= 15 MiB of Pss after the load, flat (growth of their distinct resident pages from
# half to all of the load <= 5% or 512 KiB). bench/README.md says why Pss and why pages.
# Exit 0 when every target passed, 1 when one failed, 2 when a figure was missing.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# Names for the load: every one a new learned address (n<i>.fresh.test, AnyIP in the lab).
export LAB_FRESH_N=${BENCH_NAMES:-20000}
# shellcheck source-path=SCRIPTDIR source=../../tests/lab/lab.sh
. "$REPO/tests/lab/lab.sh"
lab_require_root

bench_uint() { # NAME DEFAULT MIN MAX: the value of $NAME, checked
	local v=${!1:-$2}
	if ! [[ $v =~ ^[0-9]+$ ]] || [ "${#v}" -gt 9 ] || [ "$v" -lt "$3" ] || [ "$v" -gt "$4" ]
	then
		lab_die "$1='$v': an integer from $3 to $4 is needed"
	fi
	echo "$v"
}
CYCLES=$(bench_uint BENCH_CYCLES 5 1 50)
LOAD_N=$(bench_uint BENCH_LOAD_N 100000 1000 1000000)
LOAD_SECONDS=$(bench_uint BENCH_LOAD_SECONDS 150 10 600) # per half
THREADS=$(bench_uint BENCH_THREADS 4 1 32)
[ "$LAB_FRESH_N" -le 40000 ] || lab_die "BENCH_NAMES above 40000 (the lab's AnyIP range)"
START_MS_MAX=100
STOP_MS_MAX=100
PSS_KB_MAX=$((15 * 1024))
FLAT_KB=512

[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"
bench_log() { printf 'bench: %s\n' "$*" >&2; }

trap lab_teardown EXIT
trap 'exit 130' INT TERM
lab_setup

# The load's upstream: the lab's fresh names with a TTL of 300 s (the lab's own dnsmasq answers
# them with TTL 0, which dnsd never caches), so that dnsd's answer cache fills up as it would
# with real names; no query log.
BENCH_UP=10.199.1.55
ip -n "$LAB_INET" addr add "$BENCH_UP/32" dev lo
ip netns exec "$LAB_INET" dnsmasq --no-daemon --conf-file=/dev/null --pid-file= --port=53 \
	--bind-interfaces --listen-address="$BENCH_UP" --no-resolv --no-hosts --local=/test/ \
	--host-record=allowed.test,"$LAB_ALLOWED_IP" --addn-hosts="$LAB_FRESH_HOSTS" \
	--local-ttl=300 </dev/null >"$LAB/bench-upstream.out" 2>&1 &
LAB_PIDS+=($!)
lab_retry 100 0.1 lab_dig_ok "$BENCH_UP" "n0.fresh.test" "$(lab_fresh_ip 0)" ||
	lab_die "the load's upstream does not answer ($(cat "$LAB/bench-upstream.out"))"

# ---- the policy: 1,000 rules ------------------------------------------------------------------

POLICY=$LAB/policy-1000.json
"$LAB_PYTHON" - "$POLICY" <<'PY'
import json, sys
rules = [
    {"type": "hostname", "value": "fresh.test", "ports": [{"port": 8000, "protocol": "tcp"}],
     "action": "allow"},
    {"type": "hostname", "value": "allowed.test", "ports": [], "action": "allow"},
]
i = 0
while len(rules) < 500:
    rules.append({"type": "hostname", "value": "h%d.svc%d.example" % (i, i % 50),
                  "ports": [{"port": 443, "protocol": "tcp"}],
                  "action": "allow" if i % 3 else "deny"})
    i += 1
i = 0
while len(rules) < 1000:
    rules.append({"type": "cidr", "value": "10.%d.%d.0/24" % (150 + i // 250, i % 250),
                  "ports": [] if i % 2 else [{"port": 80 + i % 5, "protocol": "tcp"}],
                  "action": "deny" if i % 4 else "allow"})
    i += 1
json.dump({"defaultAction": "deny", "rules": rules}, open(sys.argv[1], "w"))
PY
rc=0
"$CW_BIN" check-config "$POLICY" >"$LAB/check.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || lab_die "the benchmark's policy is refused: $(head -n1 "$LAB/check.out")"
bench_log "$(head -n1 "$LAB/check.out")"

START_ARGS=(--config "$POLICY" --mode enforce --interface "$LAB_IF" --cgroup "$LAB_CG"
	--dns-upstream "$BENCH_UP" --audit-log "$LAB_AUDIT" --state-dir "$LAB_STATE"
	--bpffs "$LAB_PINS" --allow-private-answers)

# timed_us CMD...: CMD in the runner netns (outside the workload cgroup); prints the wall time in
# microseconds measured inside the netns (no `ip netns exec` in it), or "fail".
timed_us() {
	lab_runner sh -c 'a=$(date +%s%N); "$@" >>"'"$LAB_CWLOG"'" 2>&1 </dev/null || exit 1
		b=$(date +%s%N); echo $(((b - a) / 1000))' timed "$@" || echo fail
}

# What is left of cargowall in the lab, one item a line.
leftovers() {
	ip netns exec "$LAB_RUNNER" tc filter show dev "$LAB_IF" egress 2>/dev/null | head -n1
	ip netns exec "$LAB_RUNNER" tc qdisc show dev "$LAB_IF" 2>/dev/null | grep clsact || true
	# TCX links (bpftool 7.1 cannot show them): tests/lab/cw-linkcheck.c, when built
	if [ -x "$(dirname "$CW_BIN")/cw-linkcheck" ]; then
		ip netns exec "$LAB_RUNNER" "$(dirname "$CW_BIN")/cw-linkcheck" tcx "$LAB_IF" 2>&1 || true
	fi
	bpftool cgroup show "$LAB_CG" 2>/dev/null | head -n1
	lab_bpffs_pins
	find "$LAB_STATE" -name '*.pid' 2>/dev/null
}

denied_refused() { # a denied connect from the workload fails at once (EPERM)
	! lab_workload "${LAB_CURL[@]}" --max-time 1 "http://$LAB_EVIL_IP/" >/dev/null 2>&1
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "" }'; }

# ---- start / stop cycles ----------------------------------------------------------------------

: >"$LAB/start.us"
: >"$LAB/stop.us"
for ((i = 1; i <= CYCLES; i++)); do
	us=$(timed_us "$CW_BIN" start "${START_ARGS[@]}")
	[ "$us" != fail ] || lab_die "start failed: $(tail -n 5 "$LAB_CWLOG")"
	denied_refused || lab_die "cycle $i: $LAB_EVIL_IP reachable right after start"
	echo "$us" >>"$LAB/start.us"
	us=$(timed_us "$CW_BIN" stop --state-dir "$LAB_STATE")
	[ "$us" != fail ] || lab_die "stop failed: $(tail -n 5 "$LAB_CWLOG")"
	left=$(leftovers)
	[ -z "$left" ] || lab_die "cycle $i: stop left: $(tr '\n' ' ' <<<"$left")"
	echo "$us" >>"$LAB/stop.us"
	bench_log "cycle $i: start $(tail -n1 "$LAB/start.us") us, stop $us us"
done
START_MED=$(median <"$LAB/start.us")
STOP_MED=$(median <"$LAB/stop.us")

# ---- memory under load ------------------------------------------------------------------------

cat >"$LAB/load.py" <<'PY'
# n rounds over `threads` threads: an A query for n<i>.fresh.test to dnsd, a TCP connection to
# the answer's address (port 8000: the lab server sends "fresh" and closes); every 10th round
# also a denied connect. Stops at the deadline. Prints "rounds answers connections denied errors".
import socket, struct, sys, threading, time
first, n, names, threads, seconds, evil = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                           int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
deadline = time.monotonic() + seconds
tot = [0, 0, 0, 0, 0]
lock = threading.Lock()

def query(name, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)

def worker(k):
    c = [0, 0, 0, 0, 0]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect(("127.0.0.1", 53))
    i = first + k
    while i < first + n and time.monotonic() < deadline:
        c[0] += 1
        try:
            s.send(query("n%d.fresh.test" % (i % names), i & 0xffff))
            r = s.recv(512)
            if len(r) < 16 or r[3] & 0xF or struct.unpack(">H", r[6:8])[0] == 0:
                raise OSError("no answer")
            c[1] += 1
            with socket.create_connection((socket.inet_ntoa(r[-4:]), 8000), timeout=2) as t:
                t.recv(16)
            c[2] += 1
        except OSError:
            c[4] += 1
        if i % 10 == 0:
            d = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                d.settimeout(1)
                d.connect((evil, 20000 + i % 20000))
            except OSError:
                c[3] += 1
            finally:
                d.close()
        i += threads
    with lock:
        for j in range(5):
            tot[j] += c[j]

ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(*tot)
PY

# rss_line LABEL: "LABEL sup enf dnsd aud trio" in kB, from the pids in the state dir.
rss_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$(tr -dc '0-9' <"$LAB_STATE/$1.pid")/status" 2>/dev/null || echo 0; }
rss_line() {
	local s e d a
	s=$(rss_of cargowall)
	e=$(rss_of enforcer)
	d=$(rss_of dnsd)
	a=$(rss_of auditd)
	echo "$1 $s $e $d $a $((e + d + a))"
}
# Pss (smaps_rollup): shared pages (libc, the ring buffer auditd maps twice) counted once in
# all, where VmRSS counts them in full in every process and every mapping.
pss_of() { awk '/^Pss:/ { print $2 }' "/proc/$(tr -dc '0-9' <"$LAB_STATE/$1.pid")/smaps_rollup" 2>/dev/null || echo 0; }
pss_line() {
	local s e d a
	s=$(pss_of cargowall)
	e=$(pss_of enforcer)
	d=$(pss_of dnsd)
	a=$(pss_of auditd)
	echo "$1 $s $e $d $a $((e + d + a))"
}

# The three's footprint: every resident page that any of them maps, counted once however many
# of them map it and however many times (shared libraries, the queues dnsd shares with the
# enforcer and auditd, the ring buffer auditd maps twice). Page frame numbers from
# /proc/PID/pagemap (readable as root). Prints "total enforcer dnsd auditd" in kB: the total
# is the union, each process its own distinct pages.
cat >"$LAB/pages.py" <<'PY'
import struct, sys
page = 4096
union, per = set(), []
for pid in sys.argv[1:]:
    mine = set()
    try:
        maps = open("/proc/%s/maps" % pid).read().splitlines()
        pm = open("/proc/%s/pagemap" % pid, "rb")
    except OSError:
        per.append(0)
        continue
    for line in maps:
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        try:
            pm.seek(lo // page * 8)
            buf = pm.read((hi - lo) // page * 8)
        except OSError:
            continue  # [vsyscall]
        for (v,) in struct.iter_unpack("<Q", buf):
            if v >> 63 and v & ((1 << 55) - 1):
                mine.add(v & ((1 << 55) - 1))
    per.append(len(mine) * page // 1024)
    union |= mine
print(len(union) * page // 1024, *per)
PY
# uniq_line LABEL: "LABEL - total enforcer dnsd auditd" (the columns of rss_line).
uniq_line() {
	local e d a t=0 pe=0 pd=0 pa=0
	e=$(tr -dc '0-9' <"$LAB_STATE/enforcer.pid" 2>/dev/null) || true
	d=$(tr -dc '0-9' <"$LAB_STATE/dnsd.pid" 2>/dev/null) || true
	a=$(tr -dc '0-9' <"$LAB_STATE/auditd.pid" 2>/dev/null) || true
	read -r t pe pd pa < <("$LAB_PYTHON" "$LAB/pages.py" "${e:-0}" "${d:-0}" "${a:-0}") || true
	echo "$1 - ${pe:-0} ${pd:-0} ${pa:-0} ${t:-0}"
}

# smaps_items STAGE: "STAGE proc kind rss pss" in kB for each child and each kind of mapping:
# heap (brk heap and anonymous mappings: malloc, its arenas, calloc'd tables), stack (the main
# stack and thread stacks), ring (the BPF ring buffer, mapped by auditd: consumer page, producer
# page and the data area twice), bpfmap (other mmaped BPF maps), libs (shared objects), binary
# (the program itself), other (vdso, memfds ...). BENCH_SMAPS_DIR=DIR also keeps the raw
# /proc/PID/smaps of each child at each stage there.
smaps_items() {
	local p pid
	for p in enforcer dnsd auditd; do
		pid=$(tr -dc '0-9' <"$LAB_STATE/$p.pid" 2>/dev/null) || continue
		[ -r "/proc/$pid/smaps" ] || continue
		if [ -n "${BENCH_SMAPS_DIR:-}" ]; then
			mkdir -p "$BENCH_SMAPS_DIR"
			cp "/proc/$pid/smaps" "$BENCH_SMAPS_DIR/$1.$p.smaps" 2>/dev/null || true
		fi
		awk -v stage="$1" -v proc="$p" '
			/^[0-9a-f]+-[0-9a-f]+ / {
				name = $6
				if (name == "[heap]" || name == "") kind = "heap"
				else if (name ~ /^\[stack/) kind = "stack"
				else if ($0 ~ /bpf-ringbuf/) kind = "ring"
				else if ($0 ~ /bpf-map|anon_inode:bpf/) kind = "bpfmap"
				else if (name ~ /\.so/) kind = "libs"
				else if (name ~ /cargowall-/) kind = "binary"
				else kind = "other"
				next
			}
			/^Rss:/ { rss[kind] += $2 }
			/^Pss:/ { pss[kind] += $2 }
			END {
				n = split("heap stack ring bpfmap libs binary other", k, " ")
				for (i = 1; i <= n; i++)
					printf "%s %s %s %d %d\n", stage, proc, k[i], rss[k[i]], pss[k[i]]
			}' "/proc/$pid/smaps" 2>/dev/null || true
	done
}

rc=0
timed_us "$CW_BIN" start "${START_ARGS[@]}" >/dev/null
denied_refused || lab_die "$LAB_EVIL_IP reachable after start"
rss_line start >"$LAB/rss"
pss_line start >"$LAB/pss"
uniq_line start >"$LAB/uniq"
smaps_items start >"$LAB/items"
half=$((LOAD_N / 2))
for part in 1 2; do
	t0=$(date +%s%N)
	out=$(lab_workload "$LAB_PYTHON" "$LAB/load.py" $(((part - 1) * half)) "$half" "$LAB_FRESH_N" \
		"$THREADS" "$LOAD_SECONDS" "$LAB_EVIL_IP" 2>&1) || rc=$?
	secs=$((($(date +%s%N) - t0) / 1000000))
	bench_log "load part $part: rounds answers connections denied errors = $out ($secs ms)"
	echo "$out" >>"$LAB/load.out"
	rss_line "load$part" >>"$LAB/rss"
	pss_line "load$part" >>"$LAB/pss"
	uniq_line "load$part" >>"$LAB/uniq"
	smaps_items "load$part" >>"$LAB/items"
done
lab_cw stop --state-dir "$LAB_STATE" >/dev/null 2>&1 || true

# ---- figures ----------------------------------------------------------------------------------

printf '\n%-28s %10s\n' "" "microseconds"
printf '%-28s %10s   (all: %s)\n' "start, median of $CYCLES" "$START_MED" "$(tr '\n' ' ' <"$LAB/start.us")"
printf '%-28s %10s   (all: %s)\n' "stop, median of $CYCLES" "$STOP_MED" "$(tr '\n' ' ' <"$LAB/stop.us")"
read -r r1 a1 c1 d1 e1 < <(sed -n 1p "$LAB/load.out")
read -r r2 a2 c2 d2 e2 < <(sed -n 2p "$LAB/load.out")
echo
echo "load: $((r1 + r2)) rounds: $((a1 + a2)) DNS answers, $((c1 + c2)) connections," \
	"$((d1 + d2)) denied connects, $((e1 + e2)) errors ($THREADS threads, $LAB_FRESH_N names)"
printf '\n%-10s %10s %10s %10s %10s %10s\n' "VmRSS kB" supervisor enforcer dnsd auditd "the three"
while read -r l s e d a t; do
	printf '%-10s %10s %10s %10s %10s %10s\n' "$l" "$s" "$e" "$d" "$a" "$t"
done <"$LAB/rss"
printf '%-10s %10s %10s %10s %10s %10s\n' "Pss kB" supervisor enforcer dnsd auditd "the three"
while read -r l s e d a t; do
	printf '%-10s %10s %10s %10s %10s %10s\n' "$l" "$s" "$e" "$d" "$a" "$t"
done <"$LAB/pss"
printf '%-10s %10s %10s %10s %10s %10s\n' "Pages kB" "" enforcer dnsd auditd "the three"
while read -r l s e d a t; do
	printf '%-10s %10s %10s %10s %10s %10s\n' "$l" "$s" "$e" "$d" "$a" "$t"
done <"$LAB/uniq"
echo
# Rss/Pss kB by kind of mapping (smaps_items), one column per stage.
printf '%-18s %17s %17s %17s\n' "kB: Rss / Pss" start load1 load2
awk '{ key = $2 " " $3; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
       v[key, $1] = sprintf("%7d / %7d", $4, $5) }
     END { for (i = 1; i <= n; i++) {
		k = order[i]
		if (v[k, "start"] == "      0 /       0" && v[k, "load2"] == "      0 /       0") continue
		printf "%-18s %17s %17s %17s\n", k, v[k, "start"], v[k, "load1"], v[k, "load2"] } }' \
	"$LAB/items"
echo

status=0
check() { # DESCRIPTION CMD...
	local what=$1
	shift
	if "$@"; then echo "PASS: $what"; else echo "FAIL: $what"; [ "$status" = 2 ] || status=1; fi
}
missing() { echo "MISSING: $1"; status=2; }

[ -n "$START_MED" ] || missing "start time"
[ -n "$STOP_MED" ] || missing "stop time"
trio_end=$(awk 'END { print $6 }' "$LAB/pss")
rss_end=$(awk 'END { print $6 }' "$LAB/rss")
pages_end=$(awk 'END { print $6 }' "$LAB/uniq")
pages_half=$(awk '$1 == "load1" { print $6 }' "$LAB/uniq")
[ -n "$trio_end" ] && [ "$trio_end" -gt 0 ] || missing "Pss after the load"
[ -n "$pages_end" ] && [ "$pages_end" -gt 0 ] && [ -n "$pages_half" ] ||
	missing "resident pages after the load"
if [ "$status" != 2 ]; then
	start_ms=$(((START_MED + 500) / 1000))
	stop_ms=$(((STOP_MED + 500) / 1000))
	grow=$((pages_end - pages_half))
	flat_max=$((pages_half / 20 > FLAT_KB ? pages_half / 20 : FLAT_KB))
	check "start to enforcement live: ${start_ms} ms (median) <= $START_MS_MAX ms" \
		test "$start_ms" -le "$START_MS_MAX" || true
	check "stop to everything restored: ${stop_ms} ms (median) <= $STOP_MS_MAX ms" \
		test "$stop_ms" -le "$STOP_MS_MAX" || true
	check "Pss of the three after $((r1 + r2)) rounds: $(awk -v k="$trio_end" 'BEGIN { printf "%.1f", k / 1024 }') MiB ($trio_end kB) <= 15 MiB" \
		test "$trio_end" -le "$PSS_KB_MAX" || true
	check "flat: their resident pages +$grow kB from half to all of the load <= $flat_max kB" \
		test "$grow" -le "$flat_max" || true
	echo "(for reference: VmRSS sum $rss_end kB, distinct resident pages $pages_end kB)"
	# auditd kept up: a ring or queue it did not drain in time shows as events_lost records
	lost=$(awk '/"event_type":"events_lost"/ { if (match($0, /"count":[0-9]+/))
		n += substr($0, RSTART + 8, RLENGTH - 8) } END { print n + 0 }' "$LAB_AUDIT" 2>/dev/null || echo "?")
	echo "(audit log: $lost event(s) lost during the run)"
	[ $((a1 + a2)) -ge $((LOAD_N * 9 / 10)) ] ||
		echo "NOTE: $((a1 + a2)) answers of $LOAD_N asked (time bound BENCH_LOAD_SECONDS=$LOAD_SECONDS per half)"
fi
exit "$status"
