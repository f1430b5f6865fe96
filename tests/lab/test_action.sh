#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 7, the GitHub Action (the parts that need no kernel change), in the namespace lab:
#  1. action/main.js runs the way a runner runs it: as a non-root user with password-less sudo
#     (the test user cwtest-sudo), INPUT_* variables, fresh GITHUB_OUTPUT, GITHUB_ENV,
#     GITHUB_STATE and GITHUB_STEP_SUMMARY files; enforce mode, a config file merged with the
#     inputs, sudo-lockdown with one allowed command. It returns with enforcement live.
#  2. A stand-in Runner.Worker (in the workload cgroup, as the runner user) runs three "steps":
#     allowed traffic (allowed.test from the config file, the metadata server from
#     allowed-cidrs), blocked traffic (evil.test by name, its address), more blocked traffic
#     (another address and port; sudo; the gate without the job's token).
#  3. Sudo lockdown: `sudo -n true` fails as the user, the allowed command works.
#  4. action/post.js with the saved state: the job summary names the blocked destinations; the
#     host is restored (nothing attached, no pins, no state, no process, sudoers as before, sudo
#     works again for the user).
# Step attribution: main runs as step 0 of the stand-in Runner.Worker, the way the action is a
# step on a runner; later steps' events and the summary carry their ordinals. Not checked here
# (see the NOTE line): containers. The test user and its sudoers file are removed even on failure.
# shellcheck disable=SC2016 # bash -c '...' _ ARGS: the inner shell expands them
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "$0")/lab.sh"
lab_require_root

TUSER=cwtest-sudo
TSUDOERS=/etc/sudoers.d/$TUSER
DROPIN=/etc/sudoers.d/zzzz-cargowall-action
NODE=$(command -v node || true)
META_IP=${LAB_META_IP:-}

[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"
for t in "$NODE" sudo visudo setpriv useradd userdel; do
	command -v "$t" >/dev/null 2>&1 || lab_die "missing $t (run scripts/install-deps.sh)"
done
if [ -e "$DROPIN" ]; then
	lab_die "$DROPIN exists: a cargowall action job is running on this machine"
fi

DROPIN_OURS=0
USER_OURS=0
cleanup() {
	set +e
	# lab_teardown's `cargowall stop` must be the installed copy (it checks its children's
	# directory against its own).
	[ -x "$LAB/action/bin/cargowall" ] && CW_BIN=$LAB/action/bin/cargowall
	lab_teardown
	[ "$DROPIN_OURS" = 1 ] && rm -f "$DROPIN" "$DROPIN.cwtmp"
	if [ "$USER_OURS" = 1 ]; then
		rm -f "$TSUDOERS"
		userdel "$TUSER" 2>/dev/null
		id "$TUSER" >/dev/null 2>&1 && lab_log "cleanup: cannot delete user $TUSER"
	fi
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the test user: a runner user with password-less sudo ---------------------------------------

if id "$TUSER" >/dev/null 2>&1; then # left by a run that was killed
	lab_log "removing $TUSER left by an earlier run"
	rm -f "$TSUDOERS"
	userdel "$TUSER"
fi
USER_OURS=1
DROPIN_OURS=1
useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /bin/sh "$TUSER"
echo "$TUSER ALL=(ALL) NOPASSWD:ALL" >"$TSUDOERS.tmp"
chmod 0440 "$TSUDOERS.tmp"
visudo -cf "$TSUDOERS.tmp" >/dev/null
mv "$TSUDOERS.tmp" "$TSUDOERS"

as_user() { setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups "$@"; }
sudoers_snapshot() { (cd /etc/sudoers.d && sha256sum -- * | sort); }

lab_setup

lab_check "0: (control) $TUSER has password-less sudo before the job" as_user sudo -n true
SUDOERS_BEFORE=$(sudoers_snapshot)

# The runner's per-job files, the workspace and the steps' scratch space: the user's.
GH=$LAB/gh
STEPS=$LAB/steps
RUNNERD=$LAB/runner
mkdir -p "$GH/workspace" "$GH/tmp" "$STEPS" "$RUNNERD"
for f in output env state summary output-post env-post state-post summary-post; do
	: >"$GH/$f"
done
cat >"$GH/workspace/cargowall.json" <<'JSON'
{ "defaultAction": "deny",
  "rules": [ { "type": "hostname", "value": "allowed.test",
               "ports": [ { "port": 80, "protocol": "tcp" } ], "action": "allow" } ] }
JSON
chown -R "$TUSER:$TUSER" "$GH" "$STEPS"
chmod 0700 "$GH"

ALLOWED_CIDRS="# the lab's metadata server, by address (merged with the config file)"$'\n'
[ -n "$META_IP" ] && ALLOWED_CIDRS+="$META_IP/32:80"$'\n\n'
INPUTS=(
	"INPUT_MODE=enforce"
	"INPUT_CONFIG-FILE=cargowall.json"
	"INPUT_ALLOWED-HOSTS="
	"INPUT_ALLOWED-CIDRS=$ALLOWED_CIDRS"
	"INPUT_DNS-UPSTREAM=$LAB_UPSTREAM"
	"INPUT_SUDO-LOCKDOWN=true"
	"INPUT_SUDO-ALLOW-COMMANDS=/usr/bin/id"
	"INPUT_AUDIT-SUMMARY=true"
	"INPUT_FAIL-ON-UNSUPPORTED=true"
	"INPUT_ALLOW-EXISTING-CONNECTIONS=true"
	"INPUT_BINARY-PATH=$CW_BIN"
	"INPUT_AUDIT-LOG=$LAB_AUDIT"
	"INPUT_EXTRA-ARGS=--interface $LAB_IF --cgroup $LAB_CG --state-dir $LAB_STATE --bpffs $LAB_PINS --allow-private-answers"
)
# What the runner puts in every step's environment (the URLs are never resolved in the lab).
RUNNER_ENV=(
	"PATH=/usr/local/bin:/usr/bin:/bin" "HOME=$GH" "USER=$TUSER" "LANG=C.UTF-8"
	"GITHUB_ACTIONS=true" "RUNNER_TEMP=$GH/tmp" "GITHUB_WORKSPACE=$GH/workspace"
	"GITHUB_RUN_ID=4242" "GITHUB_RUN_ATTEMPT=1"
	"ACTIONS_RUNTIME_URL=https://pipelines.actions.githubusercontent.com/lab/"
	"ACTIONS_RESULTS_URL=https://results-receiver.actions.githubusercontent.com/"
	"CARGOWALL_ACTION_DIR=$LAB/action"
)

# run_js SCRIPT SUFFIX [STATE...]: action/SCRIPT.js as the runner would: as the user, in the
# runner netns outside the workload cgroup, only the runner's variables; output to a file.
run_js() {
	local js=$1 sfx=$2 rc=0
	shift 2
	lab_runner timeout 180 setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups \
		env -i "${RUNNER_ENV[@]}" "${INPUTS[@]}" "$@" \
		"GITHUB_OUTPUT=$GH/output$sfx" "GITHUB_ENV=$GH/env$sfx" \
		"GITHUB_STATE=$GH/state$sfx" "GITHUB_STEP_SUMMARY=$GH/summary$sfx" \
		"$NODE" "$LAB_REPO/action/$js.js" >"$LAB/$js.out" 2>&1 </dev/null || rc=$?
	sed 's/^/  | /' "$LAB/$js.out" >&2
	return "$rc"
}

# file_commands FILE: the runner's file-command format (name<<DELIM ... DELIM) as NAME=VALUE
# lines, newlines in values shown as \n.
file_commands() {
	"$LAB_PYTHON" - "$1" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
for m in re.finditer(r"^([^<=\n]+)<<(\S+)\n(.*?)\n\2\n", text, re.S | re.M):
    print(f"{m.group(1)}={m.group(3)}".replace("\n", "\\n"))
PY
}

kv() { # FILE NAME
	file_commands "$1" | awk -v n="$2=" 'index($0, n) == 1 { print substr($0, length(n) + 1) }'
}

dump_diagnostics() {
	echo "---- cargowall daemon log ($LAB_STATE/daemon.log)"
	sed 's/^/  | /' "$LAB_STATE/daemon.log" 2>/dev/null || true
	echo "---- audit log ($LAB_AUDIT)"
	sed 's/^/  | /' "$LAB_AUDIT" 2>/dev/null || true
	echo "---- steps"
	for f in "$STEPS"/*; do
		[ -f "$f" ] && echo "  | ${f##*/}: $(head -c 300 "$f" | tr '\n' ' ')"
	done
}

# ---- 1. main ------------------------------------------------------------------------------------

cat >"$RUNNERD/Runner.Worker" <<'SH'
#!/bin/bash
# Stand-in for the runner's worker: each step is a child process, one after the other. Step 0
# is the action's main (the command line after OUT), as on a runner, where the action is one of
# the job's steps; the test looks at its results before it lets the other steps run (a line on
# the FIFO OUT/go). Every child of this process starts a step: between steps it runs builtins
# only (no $(...), no sleep).
out=$1 dir=${0%/*}
shift
read -r comm </proc/$$/comm
echo "$comm" >"$out/worker.comm"
echo $$ >"$out/worker.pid"
"$@" >"$out/step0.log" 2>&1
echo $? >"$out/step0.rc"
exec 3<>"$out/go"
read -r -t 240 _ <&3 || true
for n in 1 2 3; do
	bash "$dir/step$n.sh" "$out" >"$out/step$n.log" 2>&1
	echo $? >"$out/step$n.rc"
done
SH
# fetch NAME URL: curl with its pid, body, status and error recorded under $out/NAME.*
cat >"$RUNNERD/fetch.sh" <<'SH'
fetch() {
	local rc=0
	sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$out/$1.pid" \
		curl -sS --noproxy '*' --max-time 5 "$2" >"$out/$1.body" 2>"$out/$1.err" || rc=$?
	echo "$rc" >"$out/$1.rc"
}
SH
cat >"$RUNNERD/step1.sh" <<SH
out=\$1; . "$RUNNERD/fetch.sh"
# allowed: by name from the config file, by address from allowed-cidrs
fetch s1-allowed http://allowed.test/
${META_IP:+fetch s1-meta http://$META_IP/}
SH
cat >"$RUNNERD/step2.sh" <<SH
out=\$1; . "$RUNNERD/fetch.sh"
fetch s2-evil-name http://evil.test/
fetch s2-evil-ip http://$LAB_EVIL_IP/
SH
cat >"$RUNNERD/step3.sh" <<SH
out=\$1; . "$RUNNERD/fetch.sh"
fetch s3-other http://$LAB_RESOLVER2_IP:8080/
# the workload tries to get root back, and to use the gate without the job's token
sudo -n true >"\$out/s3-sudo.err" 2>&1; echo \$? >"\$out/s3-sudo.rc"
sudo -n "$LAB/action/gate" post </dev/null >"\$out/s3-gate.err" 2>&1; echo \$? >"\$out/s3-gate.rc"
echo 0000 | sudo -n "$LAB/action/gate" post >"\$out/s3-gate2.err" 2>&1; echo \$? >"\$out/s3-gate2.rc"
SH
chmod 0755 "$RUNNERD" "$RUNNERD"/*
mkfifo -m 0600 "$STEPS/go"
chown "$TUSER:$TUSER" "$STEPS/go"

echo "== 1. action/main.js as $TUSER, the first step of Runner.Worker (enforce, config file +"
echo "   inputs, sudo lockdown)"
# The worker in the workload cgroup, as the user, with only the runner's variables for main.
lab_workload timeout 300 setpriv --reuid="$TUSER" --regid="$TUSER" --init-groups \
	"$RUNNERD/Runner.Worker" "$STEPS" env -i "${RUNNER_ENV[@]}" "${INPUTS[@]}" \
	"GITHUB_OUTPUT=$GH/output" "GITHUB_ENV=$GH/env" "GITHUB_STATE=$GH/state" \
	"GITHUB_STEP_SUMMARY=$GH/summary" "$NODE" "$LAB_REPO/action/main.js" \
	</dev/null >"$LAB/worker.out" 2>&1 &
WORKER_BG=$!
lab_retry 1800 0.1 test -s "$STEPS/step0.rc" || true
cp "$STEPS/step0.log" "$LAB/main.out" 2>/dev/null || : >"$LAB/main.out"
sed 's/^/  | /' "$LAB/main.out" >&2
if [ "$(cat "$STEPS/step0.rc" 2>/dev/null)" = 0 ]; then
	lab_pass "1: main.js exited 0"
else
	lab_fail "1: main.js failed (status $?); nothing else can be checked"
	dump_diagnostics
	lab_results || exit 1
fi
out_supported=$(kv "$GH/output" supported)
out_pid=$(kv "$GH/output" pid)
out_log=$(kv "$GH/output" audit-log)
lab_check "1: output supported=true (got '$out_supported')" test "$out_supported" = true
lab_check "1: output pid $out_pid is the running supervisor" \
	test -n "$out_pid" -a "$(cat "/proc/$out_pid/comm" 2>/dev/null)" = cargowall
lab_check "1: output audit-log=$LAB_AUDIT (got '$out_log')" test "$out_log" = "$LAB_AUDIT"
lab_check "1: GITHUB_ENV exports CARGOWALL_AUDIT_LOG" \
	test "$(kv "$GH/env" CARGOWALL_AUDIT_LOG)" = "$LAB_AUDIT"
lab_check "1: state for post: a 64-hex token, the gate" \
	grep -qE '^token=[0-9a-f]{64}$' <(file_commands "$GH/state")
lab_check "1: the token is in no output, log or root file" \
	bash -c '! grep -rqF -- "$1" "$2" "$3" "$4" "$5" "$6"' _ "$(kv "$GH/state" token)" \
	"$GH/output" "$GH/env" "$LAB/main.out" "$LAB/action" "$LAB_STATE"
lab_check "1: the TC trial ran on $LAB_IF (the lab's interface)" \
	grep -q "ok   TC clsact on $LAB_IF: clsact added and removed" "$LAB/main.out"
lab_check "1: programs installed root-owned in $LAB/action/bin" \
	test "$(stat -c %U:%a "$LAB/action/bin/cargowall-enforcer")" = root:755
lab_check "1: gate root-owned, token hash root-only" test \
	"$(stat -c %U:%a "$LAB/action/gate") $(stat -c %U:%a "$LAB/action/token.sha256")" = \
	"root:755 root:600"
lab_check "1: audit log readable by the job (0644, root's)" \
	test "$(stat -c %U:%a "$LAB_AUDIT")" = root:644
lab_check "1: start got the config file, the inputs and the GitHub hosts" grep -q \
	"cargowall start --mode enforce --config $GH/workspace/cargowall.json --allow-hosts github.com:443,.*pipelines.actions.githubusercontent.com:443" \
	"$LAB/main.out"

# ---- 3. (before the steps) sudo lockdown --------------------------------------------------------

echo "== 3. sudo lockdown of $TUSER"
lab_check "3: $DROPIN in place, root 0440" test "$(stat -c %U:%a "$DROPIN" 2>/dev/null)" = root:440
rc=0
as_user sudo -n true >"$LAB/sudo-true.out" 2>&1 || rc=$?
lab_check "3: sudo -n true as $TUSER fails (exit $rc: $(head -c 100 "$LAB/sudo-true.out"))" \
	test "$rc" -ne 0
lab_check "3: the allowed command works: sudo -n /usr/bin/id -u -> 0" \
	test "$(as_user sudo -n /usr/bin/id -u 2>&1)" = 0
lab_check "3: not through another path either: sudo -n /bin/sh -c true fails" \
	bash -c '! setpriv --reuid="$1" --regid="$1" --init-groups sudo -n /bin/sh -c true' _ "$TUSER"

# ---- 2. the stand-in runner and its three steps -------------------------------------------------

echo "== 2. Runner.Worker runs three steps"
# bounded: a worker that died would leave the FIFO without a reader
timeout 5 sh -c 'echo go >"$1"' _ "$STEPS/go" || true
wait "$WORKER_BG" || true

st() { cat "$STEPS/$1" 2>/dev/null || echo "?"; }
lab_check "2: the worker's comm is Runner.Worker" test "$(st worker.comm)" = Runner.Worker
lab_check "2: the steps ran ($(st step1.rc) $(st step2.rc) $(st step3.rc))" \
	test "$(st step1.rc)$(st step2.rc)$(st step3.rc)" = 000
lab_check "2: step 1: curl http://allowed.test/ -> allowed (exit $(st s1-allowed.rc))" \
	test "$(st s1-allowed.body)" = allowed
if [ -n "$META_IP" ]; then
	lab_check "2: step 1: curl http://$META_IP/ (allowed-cidrs input) -> metadata (exit $(st s1-meta.rc))" \
		test "$(st s1-meta.body)" = metadata
fi
lab_check "2: step 2: curl http://evil.test/ fails to resolve (exit $(st s2-evil-name.rc): $(st s2-evil-name.err))" \
	test "$(st s2-evil-name.rc)" = 6
lab_check "2: step 2: curl http://$LAB_EVIL_IP/ fails (exit $(st s2-evil-ip.rc): $(st s2-evil-ip.err))" \
	test "$(st s2-evil-ip.rc)" != 0 -a "$(st s2-evil-ip.body)" != evil
lab_check "2: step 3: curl http://$LAB_RESOLVER2_IP:8080/ fails (exit $(st s3-other.rc): $(st s3-other.err))" \
	test "$(st s3-other.rc)" != 0
lab_check "2: step 3: sudo -n true fails in the step (exit $(st s3-sudo.rc))" test "$(st s3-sudo.rc)" != 0
lab_check "2: step 3: the gate refuses without the token (exit $(st s3-gate.rc): $(st s3-gate.err))" \
	test "$(st s3-gate.rc)" = 2
lab_check "2: step 3: the gate refuses a wrong token (exit $(st s3-gate2.rc): $(st s3-gate2.err))" \
	test "$(st s3-gate2.rc)" = 2
lab_check "2: the firewall is still running after the step's gate attempts" \
	lab_runner "$LAB/action/bin/cargowall" status --state-dir "$LAB_STATE"
lab_check "2: sudo still locked after the step's gate attempts" \
	bash -c '! setpriv --reuid="$1" --regid="$1" --init-groups sudo -n true' _ "$TUSER"
if grep -qi 'evil\.test' "$LAB_DNSLOG"; then
	lab_fail "2: the upstream saw evil.test"
else
	lab_pass "2: the upstream query log never shows evil.test"
fi
evil_pid=$(st s2-evil-ip.pid)
lab_check "2: audit log: connection_blocked $LAB_EVIL_IP, pid $evil_pid, curl" lab_audit_wait \
	"$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_EVIL_IP" pid="$evil_pid" process=curl
lab_check "2: audit log: dns_blocked evil.test" lab_audit_wait "$LAB_AUDIT" \
	event_type=dns_blocked query=evil.test
lab_check "2: audit log: connection_blocked $LAB_RESOLVER2_IP:8080, pid $(st s3-other.pid)" \
	lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_RESOLVER2_IP" \
	dst_port=8080 pid="$(st s3-other.pid)"

# ---- 4. post --------------------------------------------------------------------------------------

echo "== 4. action/post.js with the saved state"
mapfile -t STATE < <(file_commands "$GH/state" | sed 's/^/STATE_/')
if run_js post -post "${STATE[@]}"; then
	lab_pass "4: post.js exited 0"
else
	lab_fail "4: post.js failed (status $?)"
fi
SUMMARY=$GH/summary-post
echo "   job summary ($SUMMARY):"
sed 's/^/  | /' "$SUMMARY"
lab_check "4: summary: enforce mode" grep -q 'Enforce Mode' "$SUMMARY"
lab_check "4: summary names $LAB_EVIL_IP (step 2)" grep -qF "$LAB_EVIL_IP" "$SUMMARY"
lab_check "4: summary names evil.test (step 2)" grep -qF 'evil.test' "$SUMMARY"
lab_check "4: summary names $LAB_RESOLVER2_IP:8080 (step 3)" grep -qF "$LAB_RESOLVER2_IP:8080" "$SUMMARY"
lab_check "4: summary does not list $LAB_ALLOWED_IP as blocked" \
	bash -c '! grep -F "$1" "$2" | grep -q connection' _ "$LAB_ALLOWED_IP" "$SUMMARY"
lab_check "4: summary says where the audit log is" grep -qF "$LAB_AUDIT" "$SUMMARY"
# Step 0 (main) forked before the firewall was live: steps 1, 2, 3 are ordinals 1, 2, 3.
lab_check "4: audit log: step 2's blocked connection carries step_ordinal 2" lab_audit_find \
	"$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_EVIL_IP" step_ordinal=2
lab_check "4: audit log: step 3's carries step_ordinal 3" lab_audit_find "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_RESOLVER2_IP" dst_port=8080 step_ordinal=3
lab_check "4: audit log: step_boundary records for ordinals 1-3, children of the worker" \
	"$LAB_PYTHON" - "$LAB_AUDIT" "$(st worker.pid)" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
b = sorted(r["step_ordinal"] for r in recs if r.get("event_type") == "step_boundary"
           and r.get("ppid") == int(sys.argv[2]))
sys.exit(0 if b[:3] == [1, 2, 3] else 1)
PY
lab_check "4: summary: step 2's table names $LAB_EVIL_IP, step 3's $LAB_RESOLVER2_IP:8080" \
	"$LAB_PYTHON" - "$SUMMARY" "$LAB_EVIL_IP" "$LAB_RESOLVER2_IP:8080" <<'PY'
import re, sys
md = open(sys.argv[1]).read()
def section(n):
    m = re.search(r"### Blocked in step %d\b.*?\n\n(.*?)(\n###|\Z)" % n, md, re.S)
    return m.group(1) if m else ""
sys.exit(0 if sys.argv[2] in section(2) and sys.argv[3] in section(3)
         and sys.argv[3] not in section(2) else 1)
PY
echo "NOTE: not checked, kernel and dnsd work of issue 7: containers behind a bridge (docker0,"
echo "      user-defined bridges), their DNS reaching dnsd, container_id in events."

lab_check "4: the audit log is still at $LAB_AUDIT" test -s "$LAB_AUDIT"
if out=$(lab_audit_validate "$LAB_AUDIT"); then
	lab_pass "4: audit log: every line a JSON object ($(wc -l <"$LAB_AUDIT") lines)"
else
	lab_fail "4: audit log: $out"
fi
out=$(ip netns exec "$LAB_RUNNER" tc filter show dev "$LAB_IF" egress 2>/dev/null || true)
lab_check "4: restored: no TC egress filter on $LAB_IF${out:+: $out}" test -z "$out"
out=$(bpftool cgroup show "$LAB_CG" 2>/dev/null || true)
lab_check "4: restored: no program on $LAB_CG${out:+: $out}" test -z "$out"
out=$(lab_bpffs_pins | tr '\n' ' ')
lab_check "4: restored: no pins in $LAB_BPF${out:+: $out}" test -z "$out"
out=$(find "$LAB_STATE" -name '*.pid' -o -name state.json | tr '\n' ' ')
lab_check "4: restored: no state or pid files in $LAB_STATE${out:+: $out}" test -z "$out"
# Gone, or exited and waiting for init to reap it (stop returns when the supervisor has exited;
# its parent, `cargowall start`, is long gone).
lab_check "4: restored: supervisor $out_pid gone" bash -c \
	'! kill -0 "$1" 2>/dev/null || [ "$(awk "{ print \$3 }" "/proc/$1/stat" 2>/dev/null)" = Z ]' \
	_ "$out_pid"
out=$(lab_cgroup_pids "$LAB_SYSCG" | tr '\n' ' ')
lab_check "4: restored: no process left in $LAB_SYSCG${out:+: $out}" test -z "$out"
lab_check "4: restored: $DROPIN removed" test ! -e "$DROPIN"
lab_check "4: restored: /etc/sudoers.d as before the job" \
	test "$(sudoers_snapshot)" = "$SUDOERS_BEFORE"
lab_check "4: restored: $TUSER has password-less sudo again" as_user sudo -n true
lab_check "4: the token works once only (hash gone)" test ! -e "$LAB/action/token.sha256"

[ "$LAB_NFAIL" -eq 0 ] || dump_diagnostics
lab_results
