#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 7, step attribution, in the namespace lab. A stand-in Runner.Worker (a script of that
# name, in the workload cgroup) runs steps one after the other, each a child process, the way
# GitHub's runner does:
#  step 1 runs `cargowall start` without --step-parent: the launcher finds Runner.Worker among
#         its ancestors (as it does under the action, whose node process is a step);
#  step 2 fetches an allowed name, then a denied address from a grandchild (sh -c '... curl');
#  step 3 tries another denied address and port.
# Checks: each step after enforcement gets its own ordinal (step_boundary records, ordinals 1
# and 2 for steps 2 and 3), connection records carry the ordinal of the step whose process made
# them (inherited by grandchildren), a process outside the steps carries none, and
# `cargowall summary` groups the blocked destinations by step in both formats.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "$0")/lab.sh"
lab_require_root

[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"
trap lab_teardown EXIT
trap 'exit 130' INT TERM
lab_setup

W=$LAB/worker
mkdir -p "$W"
cat >"$W/Runner.Worker" <<'SH'
#!/bin/bash
# Each step a child of this process, one after the other.
out=$1
echo $$ >"$out/worker.pid"
for n in 1 2 3; do
	bash "$out/step$n.sh" "$out" >"$out/step$n.log" 2>&1
	echo $? >"$out/step$n.rc"
done
SH
cat >"$W/step1.sh" <<SH
"$CW_BIN" start --mode enforce --allow-hosts allowed.test --interface "$LAB_IF" \
	--cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM" --audit-log "$LAB_AUDIT" \
	--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers </dev/null
SH
cat >"$W/step2.sh" <<SH
out=\$1
${LAB_CURL[*]} http://allowed.test/ >"\$out/s2-allowed.body" || true
sh -c 'echo \$\$ >"\$1"; exec ${LAB_CURL[*]} http://$LAB_EVIL_IP/' sh "\$out/s2-evil.pid" || true
SH
cat >"$W/step3.sh" <<SH
out=\$1
sh -c 'echo \$\$ >"\$1"; exec ${LAB_CURL[*]} http://$LAB_EVIL_IP:81/' sh "\$out/s3-evil.pid" || true
SH
chmod +x "$W/Runner.Worker"

echo "== 1. Runner.Worker runs three steps; step 1 starts cargowall"
lab_workload timeout 60 "$W/Runner.Worker" "$W" </dev/null || true
lab_check "1: the steps ran ($(cat "$W"/step{1,2,3}.rc 2>/dev/null | tr '\n' ' '))" \
	test "$(cat "$W"/step{1,2,3}.rc 2>/dev/null | tr -d '\n')" = 000
lab_check "1: step 2 reached allowed.test" test "$(cat "$W/s2-allowed.body" 2>/dev/null)" = allowed
worker=$(cat "$W/worker.pid" 2>/dev/null || echo 0)
s2=$(cat "$W/s2-evil.pid" 2>/dev/null || echo 0)
s3=$(cat "$W/s3-evil.pid" 2>/dev/null || echo 0)

# Outside the steps: a process of the workload cgroup that Runner.Worker did not start.
lab_workload_pid "$LAB/outside.pid" "${LAB_CURL[@]}" "http://$LAB_EVIL_IP:82/" \
	>/dev/null 2>&1 || true
outside=$(cat "$LAB/outside.pid" 2>/dev/null || echo 0)

echo "== 2. the audit log"
lab_check "2: step_boundary 1 for a child of Runner.Worker (pid $worker)" \
	lab_audit_wait "$LAB_AUDIT" event_type=step_boundary step_ordinal=1 ppid="$worker"
lab_check "2: step_boundary 2 for a child of Runner.Worker" \
	lab_audit_wait "$LAB_AUDIT" event_type=step_boundary step_ordinal=2 ppid="$worker"
lab_check "2: step 2's grandchild curl (pid $s2) blocked with step_ordinal 1" \
	lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked pid="$s2" dst_port=80 \
	step_ordinal=1
lab_check "2: step 3's curl (pid $s3) blocked with step_ordinal 2" \
	lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked pid="$s3" dst_port=81 \
	step_ordinal=2
lab_check "2: the allowed connection of step 2 carries step_ordinal 1" \
	lab_audit_wait "$LAB_AUDIT" event_type=connection_allowed dst_ip="$LAB_ALLOWED_IP" \
	step_ordinal=1
lab_check "2: no step_ordinal 3 (three steps, the first before enforcement)" \
	bash -c '! grep -q "\"step_ordinal\":3" "$1"' _ "$LAB_AUDIT"
lab_check "2: the process outside the steps (pid $outside) carries no step_ordinal" \
	"$LAB_PYTHON" - "$LAB_AUDIT" "$outside" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mine = [r for r in recs if r.get("pid") == int(sys.argv[2]) and
        r.get("event_type") == "connection_blocked"]
sys.exit(0 if mine and all("step_ordinal" not in r for r in mine) else 1)
PY

echo "== 3. the summary groups by step"
lab_runner "$CW_BIN" summary --audit-log "$LAB_AUDIT" >"$LAB/summary.md" 2>&1 || true
lab_runner "$CW_BIN" summary --audit-log "$LAB_AUDIT" --format json >"$LAB/summary.json" \
	2>&1 || true
lab_check "3: markdown: a table for step 1 holding $LAB_EVIL_IP:80" \
	"$LAB_PYTHON" - "$LAB/summary.md" "$LAB_EVIL_IP" <<'PY'
import re, sys
md, ip = open(sys.argv[1]).read(), sys.argv[2]
def section(n):
    m = re.search(r"### Blocked in step %d\b.*?\n\n(.*?)(\n###|\Z)" % n, md, re.S)
    return m.group(1) if m else ""
ok = ("%s:80 " % ip in section(1) and "%s:81 " % ip not in section(1) and
      "%s:81 " % ip in section(2) and "%s:82 " % ip not in section(2) and
      re.search(r"### Blocked outside any step", md) is not None)
sys.exit(0 if ok else 1)
PY
lab_check "3: json: blocked entries carry their step, steps lists both boundaries" \
	"$LAB_PYTHON" - "$LAB/summary.json" "$LAB_EVIL_IP" <<'PY'
import json, sys
d, ip = json.load(open(sys.argv[1])), sys.argv[2]
steps = {b["destination"].split(" ")[-1]: b["step"] for b in d["blocked"]
         if b["kind"] == "connection"}
ok = (steps.get(ip + ":80") == 1 and steps.get(ip + ":81") == 2 and
      steps.get(ip + ":82") == 0 and sorted(d["steps"]) == ["1", "2"])
sys.exit(0 if ok else 1)
PY

lab_cw stop --state-dir "$LAB_STATE" || true
if ! lab_results; then
	echo "---- audit log"
	sed 's/^/  | /' "$LAB_AUDIT" 2>/dev/null || true
	echo "---- summary"
	sed 's/^/  | /' "$LAB/summary.md" 2>/dev/null || true
	for n in 1 2 3; do
		echo "---- step $n"
		sed 's/^/  | /' "$W/step$n.log" 2>/dev/null || true
	done
	exit 1
fi
