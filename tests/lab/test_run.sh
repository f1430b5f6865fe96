#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Scoped mode (issue 4): `cargowall run --allow-hosts allowed.test -- sh -c '...'` allows and
# denies as configured inside the job while a process outside that cgroup is unaffected; no TC
# filter on the uplink at any time; the exit status is COMMAND's; the summary is on stderr;
# nothing is left afterwards. One PASS/FAIL line per check; exit 1 if any failed.
set -euo pipefail
. "$(dirname "$0")/lab.sh"
lab_require_root
[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"

trap lab_teardown EXIT
trap 'exit 130' INT TERM
lab_setup

JOB=$LAB/job
mkdir -p "$JOB"
# The job: checks from inside, then waits (bounded) until the test has checked from outside.
cat >"$JOB/job.sh" <<SH
#!/bin/sh
curl -s -m 3 http://allowed.test/ >"$JOB/allowed.out" 2>&1; echo \$? >"$JOB/allowed.rc"
curl -s -m 3 http://evil.test/ >"$JOB/evil.out" 2>&1; echo \$? >"$JOB/evil.rc"
curl -s -m 3 http://$LAB_EVIL_IP/ >"$JOB/evilip.out" 2>&1; echo \$? >"$JOB/evilip.rc"
dig +short +tries=1 +time=2 @$LAB_RESOLVER2_IP evil.test >"$JOB/dig.out" 2>&1 || true
cat /proc/self/cgroup >"$JOB/cgroup.out"
touch "$JOB/ready"
i=0
while [ ! -e "$JOB/outside-done" ] && [ \$i -lt 150 ]; do sleep 0.1; i=\$((i + 1)); done
exit 7
SH
chmod +x "$JOB/job.sh"

echo "== cargowall run --allow-hosts allowed.test -- job.sh"
lab_runner timeout 120 "$CW_BIN" run --allow-hosts allowed.test --mode enforce \
	--dns-upstream "$LAB_UPSTREAM" --audit-log "$LAB_AUDIT" --state-dir "$LAB_STATE" \
	--bpffs "$LAB_PINS" --allow-private-answers -- "$JOB/job.sh" \
	>"$JOB/run.stdout" 2>"$JOB/run.stderr" &
RUN_PID=$!

lab_retry 300 0.1 test -e "$JOB/ready" || lab_fail "the job never got through its checks"
# While the job runs: a process outside its cgroup (cargowall's own lab cgroup) is unaffected.
out=$(lab_runner timeout 5 curl -s -m 3 "http://$LAB_EVIL_IP/" 2>&1 || true)
[ "$out" = evil ] && lab_pass "outside the job: http://$LAB_EVIL_IP/ works while the job runs" ||
	lab_fail "outside the job: http://$LAB_EVIL_IP/ -> '$out'"
tcout=$(ip netns exec "$LAB_RUNNER" tc filter show dev "$LAB_IF" egress 2>/dev/null || true)
tcx=$(ip netns exec "$LAB_RUNNER" bpftool net show dev "$LAB_IF" 2>/dev/null | grep -E '\bid [0-9]+' || true)
[ -z "$tcout$tcx" ] && lab_pass "no program on $LAB_IF while the job runs" ||
	lab_fail "something is attached to $LAB_IF: $tcout $tcx"
job_cg=$(sed -n 's/^0:://p' "$JOB/cgroup.out")
progs=$(bpftool cgroup show "$LAB_CGROOT$job_cg" 2>/dev/null | sed 1d || true)
grep -q cw_skb_egress <<<"$progs" && grep -q cw_connect4 <<<"$progs" &&
	lab_pass "the job's cgroup ($job_cg) carries the hooks" ||
	lab_fail "the job's cgroup $job_cg: $progs"
touch "$JOB/outside-done"
rc=0
wait "$RUN_PID" || rc=$?

[ "$rc" -eq 7 ] && lab_pass "run exits with COMMAND's status (7)" || lab_fail "run exited $rc"
[ "$(cat "$JOB/allowed.out")" = allowed ] && lab_pass "in the job: allowed.test works" ||
	lab_fail "in the job: allowed.test -> $(cat "$JOB/allowed.out")"
[ "$(cat "$JOB/evil.rc")" = 6 ] && lab_pass "in the job: evil.test does not resolve" ||
	lab_fail "in the job: evil.test -> rc $(cat "$JOB/evil.rc") $(cat "$JOB/evil.out")"
[ "$(cat "$JOB/evilip.rc")" = 7 ] && lab_pass "in the job: http://$LAB_EVIL_IP/ refused" ||
	lab_fail "in the job: $LAB_EVIL_IP -> rc $(cat "$JOB/evilip.rc") $(cat "$JOB/evilip.out")"
grep -q "$LAB_EVIL_IP" "$JOB/dig.out" && lab_fail "in the job: dig @resolver2 evil.test answered" ||
	lab_pass "in the job: dig @$LAB_RESOLVER2_IP evil.test gets no address"
grep -qi "evil.test" "$LAB_DNSLOG2" && lab_fail "resolver2 saw evil.test" ||
	lab_pass "resolver2's log never shows evil.test"
grep -q "CargoWall" "$JOB/run.stderr" && grep -q "$LAB_EVIL_IP" "$JOB/run.stderr" &&
	lab_pass "the summary is on stderr and names the blocked address" ||
	lab_fail "no summary on stderr: $(head -c 400 "$JOB/run.stderr")"
lab_check "audit: connection_blocked from curl in the job" lab_audit_find "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_EVIL_IP" process=curl
lab_check "audit: dns_blocked evil.test" lab_audit_find "$LAB_AUDIT" event_type=dns_blocked \
	query=evil.test

echo "== nothing left"
[ -z "$(lab_bpffs_pins)" ] && lab_pass "no pins left" || lab_fail "pins left: $(lab_bpffs_pins)"
[ ! -d "$LAB_CGROOT$job_cg" ] && lab_pass "the job's cgroup is gone" ||
	lab_fail "the job's cgroup $job_cg is still there"
left=$(ip netns pids "$LAB_RUNNER" 2>/dev/null | while read -r p; do
	case $(readlink "/proc/$p/exe" 2>/dev/null) in "${CW_BIN%/*}"/cargowall*) echo "$p" ;; esac
done)
[ -z "$left" ] && lab_pass "no cargowall process left" || lab_fail "processes left: $left"
lab_results
