#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 2, "Must show" 2, 3 and 4, in the namespace lab (tests/lab/lab.sh):
#  2. enforce mode allowing allowed.test: allowed.test works; evil.test fails at resolution and
#     never reaches the upstream; evil.test's IP fails at connect; the NDJSON log has the
#     connection_blocked (IP, curl's pid, "curl") and the dns_blocked (evil.test).
#  3. dnsd and auditd: non-zero uid, CapEff 0, NoNewPrivs 1; the enforcer: the uid of its user
#     (cargowall-enforcer) in every Uid field, CapEff, CapPrm and CapBnd exactly the set SECURITY.md
#     documents; its pin directory and pins that user's, group root, nobody else's.
#  4. after stop: no program on the interface or the cgroup, no pins, no process left.
# One PASS/FAIL line per check; exit 1 if any failed, 77 when not root.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "$0")/lab.sh"
lab_require_root

# The enforcer's capabilities, as SECURITY.md documents them: CAP_BPF (39) + CAP_NET_ADMIN (12).
ENFORCER_CAPEFF=${ENFORCER_CAPEFF:-0000008000001000}
ENFORCER_USER=cargowall-enforcer # the launcher's default --enforcer-user
TRIO=(enforcer dnsd auditd)

[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"

trap lab_teardown EXIT
trap 'exit 130' INT TERM
lab_setup

declare -A PID=()   # trio pids, from status --json or the state dir
CW_PIDS=()          # every pid cargowall announced: must be gone after stop
PROG_IDS=()         # BPF programs attached while running: must be gone after stop

# ---- helpers ----------------------------------------------------------------------------------

status_field() { # PID FIELD: one line of /proc/PID/status, value only
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^[ \t]+/, ""); print }' "/proc/$1/status" 2>/dev/null
}

# Trio pids from `cargowall status --json` (any object carrying enforcer/dnsd/auditd with a
# pid), else from $LAB_STATE/<name>.pid.
find_trio_pids() {
	local name pid src
	lab_runner timeout 10 "$CW_BIN" status --state-dir "$LAB_STATE" --json \
		>"$LAB/status.json" 2>"$LAB/status.err" </dev/null || true
	for name in "${TRIO[@]}"; do
		src="status --json"
		pid=$("$LAB_PYTHON" - "$LAB/status.json" "$name" <<'PY' || true
import json, sys
def walk(o, name):
    if isinstance(o, dict):
        for k, v in o.items():
            kl = k.lower().replace("cargowall-", "")
            if kl == name:
                if isinstance(v, int):
                    return v
                if isinstance(v, dict) and isinstance(v.get("pid"), int):
                    return v["pid"]
            if kl in ("name", "process") and str(v).lower().replace("cargowall-", "") == name \
               and isinstance(o.get("pid"), int):
                return o["pid"]
        for v in o.values():
            r = walk(v, name)
            if r:
                return r
    elif isinstance(o, list):
        for v in o:
            r = walk(v, name)
            if r:
                return r
    return None
try:
    r = walk(json.load(open(sys.argv[1])), sys.argv[2])
except (OSError, ValueError):
    r = None
if r:
    print(r)
PY
)
		if [ -z "$pid" ]; then
			src="$LAB_STATE/$name.pid"
			pid=$(tr -dc '0-9' <"$LAB_STATE/$name.pid" 2>/dev/null || true)
		fi
		if [ -n "$pid" ]; then
			PID[$name]=$pid
			CW_PIDS+=("$pid")
			echo "   $name pid $pid (from $src)"
		else
			lab_fail "3: no pid for $name (status --json: $(head -c 300 "$LAB/status.json"); state dir: $(find "$LAB_STATE" -mindepth 1 -printf "%f ")"
		fi
	done
	if "$LAB_PYTHON" -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("running") is True else 1)' \
		"$LAB/status.json" 2>/dev/null; then
		lab_pass "3: cargowall status --json says running"
	else
		lab_fail "3: cargowall status --json: $(head -c 300 "$LAB/status.json") $(head -c 300 "$LAB/status.err")"
	fi
	# The launcher's own pid file(s), whatever they are called.
	for src in "$LAB_STATE"/*.pid; do
		[ -e "$src" ] || continue
		pid=$(tr -dc '0-9' <"$src" 2>/dev/null || true)
		[ -n "$pid" ] && CW_PIDS+=("$pid")
	done
}

# Program ids attached to cw0 (tc, xdp) and to the workload cgroup, one per line.
attached_prog_ids() {
	{
		ip netns exec "$LAB_RUNNER" bpftool -j net show dev "$LAB_IF" 2>/dev/null || true
		echo
		bpftool -j cgroup show "$LAB_CG" 2>/dev/null || true
	} | "$LAB_PYTHON" -c '
import json, sys
def ids(o):
    if isinstance(o, dict):
        if isinstance(o.get("id"), int) and ("prog_type" in o or "attach_type" in o or "kind" in o or "name" in o):
            yield o["id"]
        for v in o.values():
            yield from ids(v)
    elif isinstance(o, list):
        for v in o:
            yield from ids(v)
for chunk in sys.stdin.read().split("\n"):
    chunk = chunk.strip()
    if chunk:
        try:
            for i in ids(json.loads(chunk)):
                print(i)
        except ValueError:
            pass
' | sort -un
}

# TC egress programs on the uplink: clsact filters, and TCX links (kernel 6.6+, which the
# enforcer prefers and Debian 12's bpftool cannot show: tests/lab/cw-linkcheck.c).
tc_egress_filters() {
	ip netns exec "$LAB_RUNNER" tc filter show dev "$LAB_IF" egress 2>/dev/null || true
	ip netns exec "$LAB_RUNNER" "$CW_BUILD/bin/cw-linkcheck" tcx "$LAB_IF" 2>&1 || true
}

cgroup_progs() {
	bpftool cgroup show "$LAB_CG" 2>/dev/null || true
}

prog_gone() { ! bpftool prog show id "$1" >/dev/null 2>&1; }

dump_diagnostics() {
	echo "---- cargowall output ($LAB_CWLOG)"
	sed 's/^/  | /' "$LAB_CWLOG" 2>/dev/null || true
	echo "---- audit log ($LAB_AUDIT)"
	sed 's/^/  | /' "$LAB_AUDIT" 2>/dev/null || true
	echo "---- upstream query log ($LAB_DNSLOG)"
	sed 's/^/  | /' "$LAB_DNSLOG" 2>/dev/null || true
}

# ---- 2. enforce mode, allowlist allowed.test --------------------------------------------------

echo "== 2. enforce mode, --allow-hosts allowed.test"
if lab_cw start --mode enforce --allow-hosts allowed.test --interface "$LAB_IF" \
	--cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM" --audit-log "$LAB_AUDIT" \
	--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers; then
	lab_pass "2: cargowall start returned 0"
else
	lab_fail "2: cargowall start failed (status $?); nothing else can be checked"
	dump_diagnostics
	lab_results || exit 1
fi

rc=0
body=$(lab_workload "${LAB_CURL[@]}" http://allowed.test/ 2>"$LAB/curl-allowed.err") || rc=$?
if [ "$rc" -eq 0 ] && [ "$body" = allowed ]; then
	lab_pass "2: curl http://allowed.test/ -> \"$body\""
else
	lab_fail "2: curl http://allowed.test/: exit $rc, body '${body:0:80}', $(cat "$LAB/curl-allowed.err")"
fi

rc=0
body=$(lab_workload "${LAB_CURL[@]}" http://evil.test/ 2>"$LAB/curl-evil.err") || rc=$?
if [ "$rc" -eq 6 ]; then
	lab_pass "2: curl http://evil.test/ fails to resolve (exit 6: $(cat "$LAB/curl-evil.err"))"
else
	lab_fail "2: curl http://evil.test/: exit $rc (want 6, resolve error), body '${body:0:80}', $(cat "$LAB/curl-evil.err")"
fi
if grep -qi 'evil\.test' "$LAB_DNSLOG"; then
	lab_fail "2: the upstream saw evil.test: $(grep -i 'evil\.test' "$LAB_DNSLOG" | head -n3)"
else
	lab_pass "2: the upstream query log never shows evil.test"
fi

rc=0
body=$(lab_workload_pid "$LAB/curl-evil-ip.pid" "${LAB_CURL[@]}" "http://$LAB_EVIL_IP/" \
	2>"$LAB/curl-evil-ip.err") || rc=$?
curl_pid=$(cat "$LAB/curl-evil-ip.pid" 2>/dev/null || echo "?")
if [ "$rc" -ne 0 ] && [ "$body" != evil ]; then
	lab_pass "2: curl http://$LAB_EVIL_IP/ fails (pid $curl_pid, exit $rc: $(cat "$LAB/curl-evil-ip.err"))"
else
	lab_fail "2: curl http://$LAB_EVIL_IP/ (pid $curl_pid): exit $rc, body '${body:0:80}'"
fi

if lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_EVIL_IP" \
	pid="$curl_pid" process=curl; then
	lab_pass "2: audit log: connection_blocked dst_ip $LAB_EVIL_IP pid $curl_pid process curl"
else
	lab_fail "2: audit log: no connection_blocked with dst_ip $LAB_EVIL_IP, pid $curl_pid, process curl"
fi
if lab_audit_wait "$LAB_AUDIT" event_type=dns_blocked query=evil.test; then
	lab_pass "2: audit log: dns_blocked query evil.test"
else
	lab_fail "2: audit log: no dns_blocked with query evil.test"
fi
if out=$(lab_audit_validate "$LAB_AUDIT"); then
	lab_pass "2: audit log: every line is a JSON object ($(wc -l <"$LAB_AUDIT") lines)"
else
	lab_fail "2: audit log: $out"
fi

# ---- 3. privileges of the trio ----------------------------------------------------------------

echo "== 3. privileges (/proc/<pid>/status)"
find_trio_pids
for name in dnsd auditd; do
	pid=${PID[$name]:-}
	[ -n "$pid" ] || continue
	if ! lab_pid_alive "$pid"; then
		lab_fail "3: $name (pid $pid) is not running"
		continue
	fi
	uid=$(status_field "$pid" Uid)
	capeff=$(status_field "$pid" CapEff)
	nnp=$(status_field "$pid" NoNewPrivs)
	# Uid: real, effective, saved, filesystem: all of them non-zero.
	if [ -n "$uid" ] && ! grep -qw 0 <<<"$uid"; then
		lab_pass "3: $name uid non-zero (Uid: $uid)"
	else
		lab_fail "3: $name Uid: '$uid' (want every field non-zero)"
	fi
	lab_check "3: $name CapEff $capeff (want 0000000000000000)" test "$capeff" = 0000000000000000
	lab_check "3: $name NoNewPrivs $nnp (want 1)" test "$nnp" = 1
done
pid=${PID[enforcer]:-}
if [ -n "$pid" ] && lab_pid_alive "$pid"; then
	# Uid and Gid: real, effective, saved, filesystem: all four its user's, which start created
	enf_uid=$(id -u "$ENFORCER_USER" 2>/dev/null || echo none)
	enf_gid=$(id -g "$ENFORCER_USER" 2>/dev/null || echo none)
	uid=$(status_field "$pid" Uid | tr -s ' \t' ' ')
	gid=$(status_field "$pid" Gid | tr -s ' \t' ' ')
	lab_check "3: enforcer Uid '$uid' (want $enf_uid, $ENFORCER_USER's, in every field)" \
		test "$enf_uid" != none -a "$enf_uid" != 0 -a "$uid" = "$enf_uid $enf_uid $enf_uid $enf_uid"
	lab_check "3: enforcer Gid '$gid' (want $enf_gid in every field)" \
		test "$gid" = "$enf_gid $enf_gid $enf_gid $enf_gid"
	lab_check "3: enforcer Groups '$(status_field "$pid" Groups)' (want $enf_gid only)" \
		test "$(status_field "$pid" Groups | tr -d ' \t')" = "$enf_gid"
	for f in CapEff CapPrm CapBnd; do
		v=$(status_field "$pid" $f)
		lab_check "3: enforcer $f $v (want $ENFORCER_CAPEFF: CAP_BPF + CAP_NET_ADMIN)" \
			test "$v" = "$ENFORCER_CAPEFF"
	done
	lab_check "3: enforcer CapInh and CapAmb empty" test "$(status_field "$pid" CapInh)" = \
		0000000000000000 -a "$(status_field "$pid" CapAmb)" = 0000000000000000
	lab_check "3: enforcer NoNewPrivs 1" test "$(status_field "$pid" NoNewPrivs)" = 1
	# The pin directory is the enforcer user's, group root (setgid), closed to others; every
	# pin is the user's, group root, 0660; nothing above the directory changed.
	own=$(stat -c %U:%G:%a "$LAB_PINS" 2>&1)
	lab_check "3: pin directory $LAB_PINS is $own (want $ENFORCER_USER:root:2770)" \
		test "$own" = "$ENFORCER_USER:root:2770"
	bad=$(find "$LAB_PINS" -mindepth 1 ! \( -type f -user "$ENFORCER_USER" -group root \
		-perm 0660 \) -printf '%p %u:%g:%m ' 2>&1)
	lab_check "3: every pin is $ENFORCER_USER:root:660 (${bad:-all $(find "$LAB_PINS" -mindepth 1 | wc -l)})" \
		test -z "$bad" -a -e "$LAB_PINS/lpm_v4"
	lab_check "3: $LAB_BPF itself is still root's, 700 ($(stat -c %U:%a "$LAB_BPF"))" \
		test "$(stat -c %U:%a "$LAB_BPF")" = root:700
	echo "   enforcer: Uid $(status_field "$pid" Uid), CapPrm $(status_field "$pid" CapPrm)," \
		"CapBnd $(status_field "$pid" CapBnd), CapAmb $(status_field "$pid" CapAmb)," \
		"NoNewPrivs $(status_field "$pid" NoNewPrivs), Seccomp $(status_field "$pid" Seccomp)"
elif [ -n "$pid" ]; then
	lab_fail "3: enforcer (pid $pid) is not running"
fi

# ---- 4. stop leaves nothing -------------------------------------------------------------------

echo "== 4. cargowall stop"
mapfile -t PROG_IDS < <(attached_prog_ids)
if [ -n "$(tc_egress_filters)" ]; then
	lab_pass "4: (control) a TC egress filter is on $LAB_IF while running"
else
	lab_fail "4: (control) no TC egress filter on $LAB_IF while running (tc filter show, cw-linkcheck tcx)"
fi
if [ -n "$(cgroup_progs)" ]; then
	lab_pass "4: (control) programs on $LAB_CG while running"
else
	lab_fail "4: (control) no program on the workload cgroup while running (bpftool cgroup show)"
fi
echo "   attached program ids: ${PROG_IDS[*]:-none}; pins: $(lab_bpffs_pins | tr '\n' ' ')"

if lab_cw stop --state-dir "$LAB_STATE"; then
	lab_pass "4: cargowall stop returned 0"
else
	lab_fail "4: cargowall stop failed (status $?)"
fi
lab_check "4: $LAB_IF still exists (so the checks below mean something)" \
	ip -n "$LAB_RUNNER" link show "$LAB_IF"
out=$(tc_egress_filters)
lab_check "4: no TC egress filter on $LAB_IF${out:+: $out}" test -z "$out"
out=$(ip netns exec "$LAB_RUNNER" bpftool net show dev "$LAB_IF" 2>&1 | grep -E '\bid [0-9]+' || true)
lab_check "4: bpftool net show dev $LAB_IF: no program${out:+: $out}" test -z "$out"
out=$(cgroup_progs)
lab_check "4: bpftool cgroup show $LAB_CG: no program${out:+: $out}" test -z "$out"
left=()
for id in "${PROG_IDS[@]}"; do
	lab_retry 20 0.1 prog_gone "$id" || left+=("$id")
done
lab_check "4: programs that were attached are freed${left[*]:+ (still loaded: ${left[*]})}" \
	test ${#left[@]} -eq 0
out=$(lab_bpffs_pins | tr '\n' ' ')
lab_check "4: no pins left in $LAB_BPF${out:+: $out}" test -z "$out"
left=()
mapfile -t CW_PIDS < <(printf '%s\n' "${CW_PIDS[@]}" | sort -un)
for pid in "${CW_PIDS[@]}"; do
	lab_pid_alive "$pid" && left+=("$pid($(cat "/proc/$pid/comm" 2>/dev/null))")
done
lab_check "4: cargowall processes gone (${CW_PIDS[*]:-none known})${left[*]:+, left: ${left[*]}}" \
	test ${#left[@]} -eq 0
out=$(lab_cgroup_pids "$LAB_SYSCG" | tr '\n' ' ')
lab_check "4: no process left in cargowall's cgroup $LAB_SYSCG${out:+: $out}" test -z "$out"
out=$(ip netns pids "$LAB_RUNNER" | tr '\n' ' ')
lab_check "4: no process left in the runner netns${out:+: $out}" test -z "$out"
out=$(find "$LAB_SYSCG" "$LAB_CG" -mindepth 1 -type d 2>/dev/null | tr '\n' ' ')
[ -z "$out" ] || echo "   NOTE: cgroups left below the lab's: $out"

# After stop the log is flushed: check it whole once more.
if out=$(lab_audit_validate "$LAB_AUDIT"); then
	lab_pass "4: audit log after stop: every line is a JSON object ($(wc -l <"$LAB_AUDIT") lines)"
else
	lab_fail "4: audit log after stop: $out"
fi
if grep -qi 'evil\.test' "$LAB_DNSLOG"; then
	lab_fail "2: the upstream saw evil.test (checked again after stop)"
fi

[ "$LAB_NFAIL" -eq 0 ] || dump_diagnostics
lab_results
