#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 6, lifecycle, in the namespace lab (tests/lab/lab.sh):
#  1. Broken configs (tests/lab/configs/, README.md there): `cargowall check-config` and
#     `cargowall start` each fail with exactly one line naming the file (or variable), the field
#     and the reason, exit non-zero, and nothing is attached, pinned, running or written.
#  2. `stop` is idempotent: with nothing running, and twice in a row after a normal start.
#  3. `stop` after a crash: start, kill -9 the supervisor and the three children by the pids in
#     the state directory (the programs stay attached: fail closed), then stop: nothing attached
#     or pinned, no process, no state; a new start works.
#  4. `stop` after the supervisor alone was killed: the children it left are stopped within a
#     second or two (none needs SIGKILL), and nothing is left.
# One PASS/FAIL line per check; exit 1 if any failed, 77 when not root.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "$0")/lab.sh"
lab_require_root

CONFIGS=$(cd "$(dirname "$0")/configs" && pwd)
TRIO=(enforcer dnsd auditd)
# The variables cargowall reads; unset for every run unless a case sets them.
CW_ENV_VARS=(CARGOWALL_DEFAULT_ACTION CARGOWALL_ALLOWED_HOSTS CARGOWALL_ALLOWED_CIDRS
	CARGOWALL_BLOCKED_HOSTS CARGOWALL_BLOCKED_CIDRS CARGOWALL_SEARCH_DOMAINS)
NXFAIL=0

[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"

trap lab_teardown EXIT
trap 'exit 130' INT TERM
lab_setup

START_ARGS=(--mode enforce --interface "$LAB_IF" --cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM"
	--audit-log "$LAB_AUDIT" --state-dir "$LAB_STATE" --bpffs "$LAB_PINS"
	--allow-private-answers)

# ---- helpers ----------------------------------------------------------------------------------

# cw_env ENVFILE: ENV_ARGS = arguments of env(1) that unset the CARGOWALL_* variables, then set
# those of ENVFILE (one VAR=value a line; "" for none).
cw_env() {
	local v line
	ENV_ARGS=()
	for v in "${CW_ENV_VARS[@]}"; do
		ENV_ARGS+=(-u "$v")
	done
	if [ -n "$1" ]; then
		while IFS= read -r line || [ -n "$line" ]; do
			[ -n "$line" ] && ENV_ARGS+=("$line")
		done <"$1"
	fi
	return 0
}

# What cargowall left in the lab, one item a line; nothing when it left nothing. STRICT=1 also
# counts any file in the state directory and the audit log (a refused start writes nothing).
leftovers() {
	local strict=${1:-0} out
	out=$(ip netns exec "$LAB_RUNNER" tc filter show dev "$LAB_IF" egress 2>/dev/null | head -n3)
	[ -z "$out" ] || echo "TC egress filter on $LAB_IF: $(tr '\n' ' ' <<<"$out")"
	out=$(ip netns exec "$LAB_RUNNER" tc qdisc show dev "$LAB_IF" 2>/dev/null | grep clsact || true)
	[ -z "$out" ] || echo "qdisc on $LAB_IF: $out"
	out=$(ip netns exec "$LAB_RUNNER" bpftool net show dev "$LAB_IF" 2>&1 |
		grep -E '\bid [0-9]+' || true)
	[ -z "$out" ] || echo "bpftool net show dev $LAB_IF: $(tr '\n' ' ' <<<"$out")"
	# TCX (bpftool 7.1 cannot show it): tests/lab/cw-linkcheck.c; its errors count as leftovers.
	out=$(ip netns exec "$LAB_RUNNER" "$CW_BUILD/bin/cw-linkcheck" tcx "$LAB_IF" 2>&1 || true)
	[ -z "$out" ] || echo "TCX on $LAB_IF: $(tr '\n' ' ' <<<"$out")"
	out=$(bpftool cgroup show "$LAB_CG" 2>/dev/null || true)
	[ -z "$out" ] || echo "programs on $LAB_CG: $(tr '\n' ' ' <<<"$out")"
	out=$(lab_bpffs_pins | tr '\n' ' ')
	[ -z "$out" ] || echo "pins in $LAB_BPF: $out"
	out=$( (lab_cgroup_pids "$LAB_SYSCG"; ip netns pids "$LAB_RUNNER" 2>/dev/null) | sort -un |
		while read -r pid; do printf '%s(%s) ' "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null)"; done)
	[ -z "$out" ] || echo "processes in the lab: $out"
	out=$(find "$LAB_SYSCG" -mindepth 1 -maxdepth 1 -type d -name 'cargowall.*' 2>/dev/null |
		tr '\n' ' ')
	[ -z "$out" ] || echo "daemon cgroups: $out"
	if [ "$strict" = 1 ]; then
		out=$(find "$LAB_STATE" -mindepth 1 2>/dev/null | tr '\n' ' ')
		[ -z "$out" ] || echo "files in the state dir: $out"
		[ ! -e "$LAB_AUDIT" ] || echo "audit log $LAB_AUDIT was created"
	else
		out=$(find "$LAB_STATE" -mindepth 1 \( -name state.json -o -name '*.pid' \
			-o -name '.*.tmp' \) 2>/dev/null | tr '\n' ' ')
		[ -z "$out" ] || echo "state files: $out"
	fi
	return 0
}

# check_clean DESCRIPTION [STRICT]: PASS when nothing is left, else FAIL listing what is.
check_clean() {
	local out
	out=$(leftovers "${2:-0}")
	if [ -z "$out" ]; then
		lab_pass "$1: nothing attached, pinned, running or left in the state dir"
	else
		lab_fail "$1: left behind: $(tr '\n' ';' <<<"$out")"
	fi
}

# run_cw OUTFILE CMD...: the launcher in the runner netns (lab_runner), bounded; stdout and
# stderr to OUTFILE (a file, never a pipe: a daemon would hold a pipe open). Prints the status.
run_cw() {
	local out=$1 rc=0
	shift
	lab_runner timeout 60 "$@" >"$out" 2>&1 </dev/null || rc=$?
	echo "$rc"
}

# ---- 1. broken configs ------------------------------------------------------------------------

# check_msg CASE COMMAND RC OUTFILE EXPECT PATH KNOWNBUG: the one-line error, or a FAIL/XFAIL line.
check_msg() {
	local name=$1 cmd=$2 rc=$3 out=$4 expect=$5 path=$6 known=$7 lines why=""
	lines=$(grep -c . "$out" || true)
	if [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
		lab_fail "config $name: $cmd exited $rc (want 1: a refused config): $(head -c 300 "$out")"
		return 1
	fi
	if [ "$lines" -ne 1 ]; then
		why="$lines lines of output (want one)"
	elif ! grep -qF -- "$expect" "$out"; then
		why="no '$expect'"
	elif [ -n "$path" ] && ! grep -qF -- "$path" "$out"; then
		why="the file $path is not named"
	fi
	if [ -z "$why" ]; then
		if [ -n "$known" ]; then
			echo "NOTE: config $name: $cmd: the known bug is fixed; delete $known"
		fi
		return 0
	fi
	if [ -n "$known" ]; then
		NXFAIL=$((NXFAIL + 1))
		echo "XFAIL: config $name: $cmd: $why: $(head -c 300 "$out") (known bug: $(cat "$known"))"
		return 0
	fi
	lab_fail "config $name: $cmd: $why: $(head -c 300 "$out")"
	return 1
}

# run_case NAME DIR: check-config and start on one case of DIR.
run_case() {
	local name=$1 dir=$2 cfg envfile="" expect path known="" rc ok=1 msg left
	cfg=$dir/$name.json
	[ -e "$cfg" ] || cfg=$CONFIGS/valid.json
	expect=$(cat "$dir/$name.expect")
	path=$cfg
	if [ -e "$dir/$name.env" ]; then
		envfile=$dir/$name.env
		path="" # the variable is named instead (in .expect)
	fi
	[ -e "$dir/$name.known-bug" ] && known=$dir/$name.known-bug

	cw_env "$envfile"
	rc=$(run_cw "$LAB/cc.out" env "${ENV_ARGS[@]}" "$CW_BIN" check-config "$cfg")
	check_msg "$name" check-config "$rc" "$LAB/cc.out" "$expect" "$path" "$known" || ok=0
	msg=$(head -n1 "$LAB/cc.out")

	rc=$(run_cw "$LAB/start.out" env "${ENV_ARGS[@]}" "$CW_BIN" start --config "$cfg" \
		"${START_ARGS[@]}")
	check_msg "$name" start "$rc" "$LAB/start.out" "$expect" "$path" "$known" || ok=0
	left=$(leftovers 1)
	if [ -n "$left" ]; then
		lab_fail "config $name: start left behind: $(tr '\n' ';' <<<"$left")"
		# the next cases must not inherit it
		lab_runner timeout 30 "$CW_BIN" stop --state-dir "$LAB_STATE" >/dev/null 2>&1 || true
		find "$LAB_STATE" -mindepth 1 -delete 2>/dev/null || true
		rm -f "$LAB_AUDIT"
		ok=0
	fi
	if [ "$ok" = 1 ]; then
		lab_pass "config $name: exit 1, one line, nothing left: ${msg:0:160}"
	fi
}

echo "== 1. broken configs ($CONFIGS)"
cw_env ""
rc=$(run_cw "$LAB/cc.out" env "${ENV_ARGS[@]}" "$CW_BIN" check-config "$CONFIGS/valid.json")
lab_check "control: check-config valid.json exits 0 (exit $rc: $(head -n1 "$LAB/cc.out"))" \
	test "$rc" -eq 0
check_clean "before any start" 1

# Too big to store: a file over the 16 MiB limit, and more rules than CW_RULES_MAX (65,536).
GEN=$LAB/configs
mkdir -p "$GEN"
"$LAB_PYTHON" - "$GEN" <<'PY'
import json, os, sys
d = sys.argv[1]
with open(os.path.join(d, "huge-file.json"), "w") as f:
    f.write('{ "defaultAction": "deny",')
    f.write(" " * (17 << 20))
    f.write('"rules": [] }\n')
open(os.path.join(d, "huge-file.expect"), "w").write("larger than 16777216 bytes\n")
rules = [{"type": "hostname", "value": "h%d.example.com" % i, "ports": [], "action": "allow"}
         for i in range(65537)]
json.dump({"defaultAction": "deny", "rules": rules}, open(os.path.join(d, "huge-rules.json"), "w"))
open(os.path.join(d, "huge-rules.expect"), "w").write("rules[65536].value: more than 65536 rules\n")
PY

n=0
for dir in "$CONFIGS" "$GEN"; do
	for f in "$dir"/*.expect; do
		run_case "$(basename "$f" .expect)" "$dir"
		n=$((n + 1))
	done
done
echo "   $n broken configs, $NXFAIL message check(s) XFAIL (known bugs)"
lab_check "the corpus is not empty ($n cases)" test "$n" -gt 40

# ---- 2. stop is idempotent --------------------------------------------------------------------

echo "== 2. stop, twice, with nothing running"
for i in 1 2; do
	rc=$(run_cw "$LAB/stop.out" "$CW_BIN" stop --state-dir "$LAB_STATE")
	lab_check "2: stop #$i with nothing running exits 0 (exit $rc: $(head -n1 "$LAB/stop.out"))" \
		test "$rc" -eq 0
done
check_clean "2: after stop with nothing running" 1

echo "== 2. start, then stop twice"
start_ok() {
	local rc
	cw_env ""
	rc=$(run_cw "$LAB/start.out" env "${ENV_ARGS[@]}" "$CW_BIN" start --config "$CONFIGS/valid.json" \
		--allow-hosts allowed.test "${START_ARGS[@]}")
	cat "$LAB/start.out" >>"$LAB_CWLOG"
	if [ "$rc" -eq 0 ]; then
		lab_pass "$1: start exits 0"
	else
		lab_fail "$1: start exited $rc: $(head -c 400 "$LAB/start.out")"
		return 1
	fi
}

if start_ok "2"; then
	out=$(leftovers)
	lab_check "2: (control) while running, the checks see what is attached" test -n "$out"
	for i in 1 2; do
		rc=$(run_cw "$LAB/stop.out" "$CW_BIN" stop --state-dir "$LAB_STATE")
		lab_check "2: stop #$i exits 0 (exit $rc: $(tr '\n' ' ' <"$LAB/stop.out" | head -c 200))" \
			test "$rc" -eq 0
		if [ "$i" = 1 ]; then
			check_clean "2: after the first stop"
		fi
	done
	check_clean "2: after the second stop"
fi

# ---- 3. stop after a crash --------------------------------------------------------------------

echo "== 3. start, kill -9 everything, stop"
pid_of() { tr -dc '0-9' 2>/dev/null <"$LAB_STATE/$1.pid" || true; }

if start_ok "3"; then
	pids=()
	for name in cargowall "${TRIO[@]}"; do
		pid=$(pid_of "$name")
		if [ -n "$pid" ] && lab_pid_alive "$pid"; then
			pids+=("$pid")
			echo "   $name pid $pid ($(readlink "/proc/$pid/exe" 2>/dev/null))"
		else
			lab_fail "3: no live pid for $name in $LAB_STATE/$name.pid ('$pid')"
		fi
	done
	# The supervisor first, so it cannot restart or tear down anything.
	for pid in "${pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	left=()
	for pid in "${pids[@]}"; do
		lab_retry 50 0.1 sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status" ||
			left+=("$pid")
	done
	lab_check "3: kill -9 of ${pids[*]}: all dead${left[*]:+ (alive: ${left[*]})}" \
		test ${#left[@]} -eq 0
	# Fail closed: what the dead enforcer attached and pinned stays.
	out=$(lab_bpffs_pins | tr '\n' ' ')
	lab_check "3: after the crash the pins stay (fail closed): ${out:0:120}" test -n "$out"
	out=$(ip netns exec "$LAB_RUNNER" tc filter show dev "$LAB_IF" egress 2>/dev/null
		ip netns exec "$LAB_RUNNER" "$CW_BUILD/bin/cw-linkcheck" tcx "$LAB_IF" 2>/dev/null |
			grep ' cw_tc_egress ' || true)
	lab_check "3: after the crash the TC filter (clsact or TCX) stays on $LAB_IF (fail closed)" \
		test -n "$out"
	rc=0
	lab_workload "${LAB_CURL[@]}" --max-time 2 "http://$LAB_EVIL_IP/" >/dev/null 2>&1 || rc=$?
	lab_check "3: after the crash $LAB_EVIL_IP is still refused (curl exit $rc)" test "$rc" -ne 0

	for i in 1 2; do
		rc=$(run_cw "$LAB/stop.out" "$CW_BIN" stop --state-dir "$LAB_STATE")
		lab_check "3: stop #$i after the crash exits 0 (exit $rc: $(tr '\n' ' ' <"$LAB/stop.out" | head -c 200))" \
			test "$rc" -eq 0
	done
	check_clean "3: after stop following the crash"
	lab_check "3: after stop the uplink is unfiltered again (http://$LAB_EVIL_IP/ from the runner netns)" \
		lab_http_ok "$LAB_EVIL_IP" evil
	if start_ok "3: after the cleanup, a new start"; then
		rc=$(run_cw "$LAB/stop.out" "$CW_BIN" stop --state-dir "$LAB_STATE")
		lab_check "3: and its stop exits 0 (exit $rc)" test "$rc" -eq 0
		check_clean "3: after that stop"
	fi
fi

# ---- 4. stop after the supervisor alone died ---------------------------------------------------

echo "== 4. start, kill -9 the supervisor only, stop"
if start_ok "4"; then
	pid=$(pid_of cargowall)
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
	lab_retry 50 0.1 sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status" ||
		lab_fail "4: supervisor $pid survived kill -9"
	t0=$(date +%s%N)
	rc=$(run_cw "$LAB/stop.out" "$CW_BIN" stop --state-dir "$LAB_STATE")
	ms=$((($(date +%s%N) - t0) / 1000000))
	lab_check "4: stop exits 0 (exit $rc: $(tr '\n' ' ' <"$LAB/stop.out" | head -c 200))" \
		test "$rc" -eq 0
	lab_check "4: the children left by the dead supervisor stop on SIGTERM, in ${ms} ms" \
		sh -c "[ $ms -lt 5000 ] && ! grep -q 'did not stop in time' '$LAB/stop.out'"
	check_clean "4: after stop following the supervisor's death"
fi

if [ "$LAB_NFAIL" -ne 0 ]; then
	echo "---- cargowall output ($LAB_CWLOG, daemon log)"
	sed 's/^/  | /' "$LAB_CWLOG" "$LAB_STATE/daemon.log" 2>/dev/null || true
fi
lab_results
