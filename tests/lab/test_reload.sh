#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 6, reload, in the namespace lab (tests/lab/lab.sh). cargowall starts allowing
# allowed.test (--config A); a generator in the workload cgroup tries a denied address
# ($LAB_EVIL_IP, TCP and UDP) all along; a sniffer in the internet netns watches for it. Then:
#  - `cargowall reload --config B` (B allows only n1.fresh.test:8000): exit 0; allowed.test's
#    learned address no longer admits a new connection (EPERM), n1.fresh.test works, dnsd
#    answers by B (allowed.test refused), a lifecycle record "policy reloaded";
#  - a reload with a broken config: exit 1, one precise error (file, field, reason), nothing
#    changed; a reload the supervisor refuses (more port entries than the running maps hold):
#    exit 1, "reload refused: ...", a lifecycle record, nothing changed;
#  - SIGHUP re-reads the recorded config file: broken -> "reload refused" record, nothing
#    changed; fixed (allowed.test again, n1.fresh.test gone) -> reloaded, and the change shows;
#  - the sniffer saw no packet to the denied address through it all, every try was refused;
#  - status --json carries events_lost and tamper_events.
# One PASS/FAIL line per check; exit 1 if any failed, 77 when not root.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "$0")/lab.sh"
lab_require_root

[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"
command -v tcpdump >/dev/null || lab_die "no tcpdump (run scripts/install-deps.sh)"
command -v dig >/dev/null || lab_die "no dig (run scripts/install-deps.sh)"

trap lab_teardown EXIT
trap 'exit 130' INT TERM
lab_setup

CFG_A=$LAB/a.json
CFG_B=$LAB/b.json
CFG_BAD=$LAB/bad.json
GEN_LOG=$LAB/gen.log
GEN_STOP=$LAB/gen.stop
PCAP=$LAB/sniff.pcap
FRESH=n1.fresh.test
FRESH_IP=$(lab_fresh_ip 1)

cat >"$CFG_A" <<'EOF'
{ "defaultAction": "deny",
  "rules": [ { "type": "hostname", "value": "allowed.test", "ports": [], "action": "allow" } ] }
EOF
cat >"$CFG_B" <<EOF
{ "defaultAction": "deny",
  "rules": [ { "type": "hostname", "value": "$FRESH",
               "ports": [ { "port": $LAB_FRESH_PORT, "protocol": "tcp" } ], "action": "allow" } ] }
EOF
cat >"$CFG_BAD" <<'EOF'
{ "defaultAction": "deny",
  "rules": [ { "type": "hostname", "value": "allowed.test", "ports": [], "action": "permit" } ] }
EOF

START_ARGS=(--mode enforce --interface "$LAB_IF" --cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM"
	--audit-log "$LAB_AUDIT" --state-dir "$LAB_STATE" --bpffs "$LAB_PINS"
	--allow-private-answers --config "$CFG_A")



# conn.py HOST PORT: resolve (through the redirected DNS) and connect; prints "ok" or the errno
# name ("EPERM"), or "resolve-failed".
cat >"$LAB/conn.py" <<'PY'
import errno, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    addr = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4]
except OSError:
    print("resolve-failed"); sys.exit(0)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(2)
try:
    s.connect(addr)
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "timeout")
finally:
    s.close()
PY
conn() { lab_workload "$LAB_PYTHON" "$LAB/conn.py" "$@" 2>/dev/null || echo "error"; }
# the DNS answer the workload gets (dig through the redirect), empty when refused
dns_a() { lab_workload dig +short +time=2 +tries=1 "@$LAB_UPSTREAM" "$1" A 2>/dev/null | head -n1 || true; }

allowed_works() { test "$(lab_workload "${LAB_CURL[@]}" http://allowed.test/ 2>/dev/null)" = allowed; }
reloaded_twice() { test "$(grep -c '"message":"policy reloaded' "$LAB_AUDIT")" -ge 2; }
lifecycle_has() {
	grep '"event_type":"lifecycle"' "$LAB_AUDIT" 2>/dev/null | grep -qE "\"message\":\"$1"
}
# reload ARGS...: `cargowall reload` in the runner netns; stdout+stderr in $LAB/reload.out.
reload() {
	local rc=0
	lab_runner timeout 60 "$CW_BIN" reload --state-dir "$LAB_STATE" "$@" >"$LAB/reload.out" 2>&1 \
		</dev/null || rc=$?
	sed 's/^/  | /' "$LAB/reload.out" >&2
	return "$rc"
}
# the state B gives: allowed.test's address refused, n1.fresh.test admitted, dnsd by B
check_b() {
	local what=$1 r
	r=$(lab_workload "$LAB_PYTHON" "$LAB/conn.py" "$LAB_ALLOWED_IP" 80 2>/dev/null || echo error)
	lab_check "$what: allowed.test's learned address $LAB_ALLOWED_IP:80 refused ($r)" test "$r" = EPERM
	r=$(conn "$FRESH" "$LAB_FRESH_PORT")
	lab_check "$what: $FRESH:$LAB_FRESH_PORT admitted ($r)" test "$r" = ok
	r=$(dns_a allowed.test)
	lab_check "$what: dnsd refuses allowed.test ('$r')" test -z "$r"
	r=$(dns_a "$FRESH")
	lab_check "$what: dnsd answers $FRESH ('$r')" test "$r" = "$FRESH_IP"
}

# ---- start, sniffer, generator -----------------------------------------------------------------

lab_cw start "${START_ARGS[@]}" || lab_die "start failed: $(tail -n 5 "$LAB_CWLOG"; tail -n 8 "$LAB_STATE/daemon.log")"
lab_check "A: allowed.test works from the workload" \
	test "$(lab_workload "${LAB_CURL[@]}" http://allowed.test/ 2>/dev/null)" = allowed
r=$(conn "$FRESH" "$LAB_FRESH_PORT")
lab_check "A: $FRESH is not allowed ($r)" test "$r" != ok

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
sleep 0.3

# ---- reload to B ----------------------------------------------------------------------------------

echo "== reload --config B"
enf_old=$(lab_state_pid enforcer)
rc=0
reload --config "$CFG_B" || rc=$?
lab_check "reload B: exit 0 ($rc)" test "$rc" -eq 0
lab_check "reload B: says policy reloaded" grep -q "policy reloaded" "$LAB/reload.out"
lab_check "reload B: a new enforcer (pid $enf_old -> $(lab_state_pid enforcer))" \
	test -n "$(lab_state_pid enforcer)" -a "$(lab_state_pid enforcer)" != "$enf_old"
check_b "B"
lab_check "reload B: lifecycle record 'policy reloaded'" \
	lab_retry 50 0.1 lifecycle_has "policy reloaded: 1 rules"

# ---- refused reloads ------------------------------------------------------------------------------

echo "== reload with a broken config"
enf_b=$(lab_state_pid enforcer)
rc=0
reload --config "$CFG_BAD" || rc=$?
lab_check "broken: exit 1 ($rc)" test "$rc" -eq 1
lab_check "broken: one line naming file, field and reason: $(head -n1 "$LAB/reload.out")" \
	sh -c "test \$(wc -l <'$LAB/reload.out') -eq 1 && grep -q 'bad policy: $CFG_BAD' '$LAB/reload.out' && grep -q 'action' '$LAB/reload.out'"
lab_check "broken: the enforcer is the same one" test "$(lab_state_pid enforcer)" = "$enf_b"
check_b "after broken"

echo "== reload the supervisor refuses: more port entries than the maps hold"
LIST=""
for h in 1 2 3 4 5; do
	ports=$(seq -s ';' 1 64)
	LIST="$LIST${LIST:+,}p$h.test:$ports"
done
rc=0
reload --allow-hosts "$LIST" || rc=$?
lab_check "too many ports: exit 1 ($rc)" test "$rc" -eq 1
lab_check "too many ports: 'reload refused: the new policy needs ... port entries'" \
	grep -q "reload refused: the new policy needs 1280 port entries" "$LAB/reload.out"
lab_check "too many ports: lifecycle record 'reload refused'" \
	lab_retry 50 0.1 lifecycle_has "reload refused: the new policy needs"
lab_check "too many ports: the enforcer is the same one" test "$(lab_state_pid enforcer)" = "$enf_b"
check_b "after refused"

# ---- SIGHUP: the recorded config file read again ------------------------------------------------

echo "== SIGHUP with the recorded config (B) broken"
sup=$(lab_state_pid cargowall)
cp "$CFG_B" "$LAB/b.good"
cp "$CFG_BAD" "$CFG_B"
kill -HUP "$sup"
lab_check "SIGHUP broken: lifecycle record 'reload refused: bad policy: $CFG_B'" \
	lab_retry 50 0.1 lifecycle_has "reload refused: bad policy: $CFG_B"
sleep 0.3
lab_check "SIGHUP broken: the enforcer is the same one" test "$(lab_state_pid enforcer)" = "$enf_b"
check_b "after SIGHUP broken"

echo "== SIGHUP with the recorded config (B) rewritten to allow allowed.test only"
cp "$CFG_A" "$CFG_B"
kill -HUP "$sup"
lab_check "SIGHUP fixed: lifecycle record 'policy reloaded'" \
	lab_retry 100 0.1 reloaded_twice
lab_check "SIGHUP fixed: allowed.test works again" lab_retry 30 0.1 allowed_works
r=$(lab_workload "$LAB_PYTHON" "$LAB/conn.py" "$FRESH_IP" "$LAB_FRESH_PORT" 2>/dev/null || echo error)
lab_check "SIGHUP fixed: $FRESH's learned address refused ($r)" test "$r" = EPERM
lab_check "SIGHUP fixed: the audit log was reopened too" \
	lab_retry 50 0.1 lifecycle_has "audit log .* reopened \\(SIGHUP\\)"

# ---- the denied address, all along ------------------------------------------------------------

touch "$GEN_STOP"
lab_retry 50 0.1 sh -c "! kill -0 $GEN_PID 2>/dev/null" || true
sleep 0.3
lab_kill_pid "$SNIFF_PID"
n_tries=$(wc -l <"$GEN_LOG")
errs=$(awk '{print $3}' "$GEN_LOG" | sort -u | tr '\n' ' ')
lab_check "generator: $n_tries tries, each refused (errnos: $errs)" \
	sh -c "test $n_tries -gt 20 && test \"$errs\" = '1 '"
pk=$(tcpdump -n -r "$PCAP" 2>/dev/null | wc -l)
lab_check "sniffer: no packet to $LAB_EVIL_IP through the whole sequence ($pk)" test "$pk" -eq 0

# ---- status -----------------------------------------------------------------------------------

lab_runner timeout 10 "$CW_BIN" status --state-dir "$LAB_STATE" --json >"$LAB/status.json" 2>&1 || true
lab_check "status --json: events_lost and tamper_events are numbers ($(cat "$LAB/status.json"))" \
	"$LAB_PYTHON" -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if isinstance(o["events_lost"], int) and isinstance(o["tamper_events"], int) else 1)' "$LAB/status.json"

lab_cw stop --state-dir "$LAB_STATE" || lab_fail "stop failed"
lab_check "stop: nothing left under $LAB_PINS" test ! -e "$LAB_PINS"
lab_results
