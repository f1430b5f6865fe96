#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 6, supervision, in the namespace lab (tests/lab/lab.sh). With cargowall running and a
# generator in the workload cgroup trying a denied destination all along (TCP connect and a UDP
# datagram to $LAB_EVIL_IP, a new port each try, bounded), kill -9 the enforcer, then dnsd, then
# auditd, one at a time:
#  - a sniffer (tcpdump) in the internet netns sees no packet to the denied address, from the
#    first kill to `stop` (a control after stop shows that it does see such packets);
#  - allowed traffic (allowed.test through DNS, then HTTP) works again within 1 s of each kill;
#  - the supervisor restarts the child (a new pid, alive, `status` running) and the restart is a
#    `lifecycle` record in the audit log;
#  - no ring record written before a kill is missing from the log: every port the generator
#    tried before the kill has its connection_blocked record once auditd is back.
# SIGHUP: the log is reopened (logrotate: the old file moved away, a new one appears with a
# lifecycle record) and nothing is lost across it. One PASS/FAIL line per check; exit 1 if any
# failed, 77 when not root.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "$0")/lab.sh"
lab_require_root

[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"
command -v tcpdump >/dev/null || lab_die "no tcpdump (run scripts/install-deps.sh)"

trap lab_teardown EXIT
trap 'exit 130' INT TERM
lab_setup

START_ARGS=(--mode enforce --interface "$LAB_IF" --cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM"
	--audit-log "$LAB_AUDIT" --state-dir "$LAB_STATE" --bpffs "$LAB_PINS"
	--allow-private-answers --allow-hosts allowed.test)
RECOVER_MS=1000 # allowed traffic works again within this of a kill (issue 6)
GEN_LOG=$LAB/gen.log
GEN_STOP=$LAB/gen.stop
PCAP=$LAB/sniff.pcap

now_ms() { echo $(($(date +%s%N) / 1000000)); }


# Checks the log against the generator: for each kill time (ns, argv), every TCP port tried
# before it has a connection_blocked record; prints one line per kill, exits 1 if any is missing.
cat >"$LAB/ringcheck.py" <<'PY'
import json, sys
log, gen, evil = sys.argv[1], sys.argv[2], sys.argv[3]
kills = [(a.split("=")[0], int(a.split("=")[1])) for a in sys.argv[4:]]
tries = []
for line in open(gen):
    p = line.split()
    if len(p) == 3:
        tries.append((int(p[0]), int(p[1]), int(p[2])))
seen = set()
for line in open(log, errors="replace"):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if (o.get("event_type") == "connection_blocked" and o.get("dst_ip") == evil
            and o.get("protocol") == "TCP"):
        seen.add(int(o.get("dst_port", 0)))
bad = 0
for name, t in kills:
    before = [p for p, end, err in tries if end < t]
    missing = [p for p in before if p not in seen]
    print("%s: %d ports tried before the kill, %d in the log, missing %s" %
          (name, len(before), len(before) - len(missing), missing[:10]))
    bad |= bool(missing) or not before
allp = [p for p, end, err in tries]
print("all: %d tries, %d with a record; refused with %s" %
      (len(allp), len([p for p in allp if p in seen]),
       sorted({err for p, end, err in tries})))
sys.exit(1 if bad else 0)
PY

# allowed.test through DNS and HTTP from the workload, until it works or 5 s have gone; prints
# the ms from $1 (the kill) to the first success, or "never".
recover_ms() {
	local t0=$1 end=$(($1 + 5000)) body
	while [ "$(now_ms)" -lt "$end" ]; do
		body=$(lab_workload "${LAB_CURL[@]}" --max-time 1 http://allowed.test/ 2>/dev/null || true)
		if [ "$body" = allowed ]; then
			echo $(($(now_ms) - t0))
			return 0
		fi
	done
	echo never
}

# lifecycle_has PATTERN: a lifecycle record whose message matches PATTERN (grep -E).
lifecycle_has() {
	grep '"event_type":"lifecycle"' "$LAB_AUDIT" 2>/dev/null | grep -qE "\"message\":\"$1"
}

# ---- start, sniffer, generator -----------------------------------------------------------------

lab_cw start "${START_ARGS[@]}" || lab_die "start failed: $(tail -n 5 "$LAB_CWLOG")"
lab_check "control: allowed.test works from the workload" \
	test "$(lab_workload "${LAB_CURL[@]}" http://allowed.test/ 2>/dev/null)" = allowed

# not through lab_inet (a function: $! would be a subshell), so that $! is tcpdump itself
ip netns exec "$LAB_INET" tcpdump -i "$LAB_INET_IF" -n -U --immediate-mode -w "$PCAP" "host $LAB_EVIL_IP" \
	</dev/null >"$LAB/tcpdump.out" 2>&1 &
SNIFF_PID=$!
LAB_PIDS+=("$SNIFF_PID")
lab_retry 50 0.1 grep -q "listening on" "$LAB/tcpdump.out" || lab_die "tcpdump did not start"

sh -c 'echo $$ >"$1/cgroup.procs" && exec ip netns exec "$2" "$3" "$4" "$5" "$6" "$7"' gen \
	"$LAB_CG" "$LAB_RUNNER" "$LAB_PYTHON" "$(dirname "$0")/denied_gen.py" "$LAB_EVIL_IP" \
	"$GEN_LOG" "$GEN_STOP" \
	</dev/null >"$LAB/gen.out" 2>&1 &
GEN_PID=$!
LAB_PIDS+=("$GEN_PID")
lab_retry 50 0.1 test -s "$GEN_LOG" || lab_die "the generator does not run ($(cat "$LAB/gen.out"))"
sleep 0.5

# ---- kill -9 one at a time ------------------------------------------------------------------------

KILLS=()
# The enforcer last: a new enforcer adopts the pins of the dead one (enforcer/adopt.c); where it
# cannot, the other two are still checked.
for name in dnsd auditd enforcer; do
	echo "== kill -9 $name"
	old=$(lab_state_pid "$name")
	if [ -z "$old" ] || ! lab_pid_alive "$old"; then
		lab_fail "$name: no live pid in $LAB_STATE/$name.pid ('$old')"
		continue
	fi
	sleep 0.3 # a few generator tries land before this kill
	t_kill_ns=$(date +%s%N)
	t_kill=$((t_kill_ns / 1000000))
	kill -KILL "$old"
	KILLS+=("$name=$t_kill_ns")
	ms=$(recover_ms "$t_kill")
	lab_check "$name: allowed.test (DNS + HTTP) works again ${ms} ms after the kill (<= $RECOVER_MS)" \
		test "$ms" != never -a "${ms/never/99999}" -le "$RECOVER_MS"
	new=""
	for _ in $(seq 50); do
		new=$(lab_state_pid "$name")
		if [ -n "$new" ] && [ "$new" != "$old" ] && lab_pid_alive "$new"; then
			break
		fi
		new=""
		sleep 0.1
	done
	lab_check "$name: restarted by the supervisor (pid $old -> ${new:-none})" test -n "$new"
	lab_check "$name: the kill is a lifecycle record" \
		lab_retry 50 0.1 lifecycle_has "$name \\(pid $old\\) killed by signal 9"
	lab_check "$name: the restart is a lifecycle record" \
		lab_retry 50 0.1 lifecycle_has "$name restarted \\(pid ${new:-none},"
	rc=0
	lab_runner timeout 10 "$CW_BIN" status --state-dir "$LAB_STATE" >"$LAB/status.out" 2>&1 || rc=$?
	lab_check "$name: status says running (exit $rc: $(head -n1 "$LAB/status.out"))" test "$rc" -eq 0
done

# ---- SIGHUP: logrotate ------------------------------------------------------------------------

echo "== SIGHUP (logrotate)"
sup=$(lab_state_pid cargowall)
mv "$LAB_AUDIT" "$LAB_AUDIT.1"
t_hup_ns=$(date +%s%N)
kill -HUP "$sup"
lab_check "SIGHUP: a new $LAB_AUDIT with the reopen as a lifecycle record" \
	lab_retry 50 0.1 lifecycle_has "audit log .* reopened \\(SIGHUP\\)"
KILLS+=("sighup=$t_hup_ns")
sleep 0.5
rc=0
lab_runner timeout 10 "$CW_BIN" status --state-dir "$LAB_STATE" >"$LAB/status.out" 2>&1 || rc=$?
lab_check "SIGHUP: status says running (exit $rc: $(head -n1 "$LAB/status.out"))" test "$rc" -eq 0

touch "$GEN_STOP"
lab_retry 50 0.1 sh -c "! kill -0 $GEN_PID 2>/dev/null" || lab_kill_pid "$GEN_PID"
tries=$(wc -l <"$GEN_LOG")
lab_check "the generator ran all along ($tries tries)" test "$tries" -gt 100

lab_cw stop --state-dir "$LAB_STATE" || lab_fail "stop failed"
t_control=$(date +%s)
# Control: outside the cgroup and with cargowall stopped, the sniffer sees the denied address.
lab_check "after stop, $LAB_EVIL_IP answers from the runner netns" lab_http_ok "$LAB_EVIL_IP" evil
sleep 0.5
lab_kill_pid "$SNIFF_PID"

# Every record before each kill, across the rotation: the two files together.
cat "$LAB_AUDIT.1" "$LAB_AUDIT" >"$LAB/audit.all" 2>/dev/null || true
out=$("$LAB_PYTHON" "$LAB/ringcheck.py" "$LAB/audit.all" "$GEN_LOG" "$LAB_EVIL_IP" "${KILLS[@]}" 2>&1) &&
	rc=0 || rc=$?
sed 's/^/   /' <<<"$out"
lab_check "no ring record written before a kill is missing from the log" test "$rc" -eq 0
lab_check "the audit log is valid NDJSON across the rotation" lab_audit_validate "$LAB/audit.all"

before=$(tcpdump -r "$PCAP" -n -tt 2>/dev/null | awk -v t="$t_control" '$1 < t' | wc -l)
after=$(tcpdump -r "$PCAP" -n -tt 2>/dev/null | awk -v t="$t_control" '$1 >= t' | wc -l)
lab_check "sniffer: no packet to $LAB_EVIL_IP while cargowall ran ($before)" test "$before" -eq 0
if [ "$before" -ne 0 ]; then
	tcpdump -r "$PCAP" -n -tt 2>/dev/null | head -n 5 | sed 's/^/   /'
fi
lab_check "sniffer (control): it sees $LAB_EVIL_IP after stop ($after packets)" test "$after" -gt 0 ||
	true
[ "$after" -gt 0 ] || sed 's/^/   tcpdump: /' "$LAB/tcpdump.out"

if [ "$LAB_NFAIL" -ne 0 ]; then
	echo "---- cargowall output ($LAB_CWLOG, daemon log)"
	sed 's/^/  | /' "$LAB_CWLOG" "$LAB_STATE/daemon.log" 2>/dev/null | tail -n 60 || true
fi
lab_results
