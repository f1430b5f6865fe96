#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 5, "Must show": attribution of a blocked connection from a process that exits at once
# (pid, comm; exe, ppid, cmdline and container_id once the kernel side captures them), valid
# JSON lines for hostile DNS names through the whole path, a ring-buffer flood whose
# `events_lost` counts plus the written records equal what was sent, and the summary of an
# audit-mode run in both formats checked against its log. One PASS/FAIL line per check.
set -euo pipefail
. "$(dirname "$0")/lab.sh"
lab_require_root
[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"

trap lab_teardown EXIT
trap 'exit 130' INT TERM
LAB_FRESH_N=16 lab_setup

FLOOD_N=${FLOOD_N:-20000} # > the ring's ~9,200 records of 448 bytes
FLOOD_PORT0=20000
CID=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
CTR_CG=$LAB_CG/docker-$CID.scope

cw_start() { # MODE
	lab_cw start --mode "$1" --allow-hosts allowed.test --interface "$LAB_IF" \
		--cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM" --audit-log "$LAB_AUDIT" \
		--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers
}

# py SCRIPT ARGS...: python in the workload cgroup
py() {
	lab_workload "$LAB_PYTHON" "$@"
}

# audit_py EXPR: evaluate a Python expression over `recs` (every record of the log); prints it.
audit_py() {
	"$LAB_PYTHON" - "$LAB_AUDIT" "$1" <<'PY'
import json, sys
recs = []
for line in open(sys.argv[1], encoding="utf-8", errors="strict"):
    recs.append(json.loads(line))
print(eval("(" + sys.argv[2] + ")"))
PY
}

# ---- 1. enforce mode: attribution ------------------------------------------------------------

echo "== 1. enforce mode: who did it"
cw_start enforce || { lab_fail "cargowall start (enforce)"; lab_results; exit 1; }
lab_check "1: lifecycle: the policy this run enforces (1 rule, default deny)" lab_audit_wait \
	"$LAB_AUDIT" event_type=lifecycle "message=policy loaded: 1 rule(s), default deny" mode=enforce

# A process that is gone right after its denied connect: curl exits on EPERM.
rc=0
lab_workload_pid "$LAB/curl.pid" "${LAB_CURL[@]}" "http://$LAB_EVIL_IP:81/" >/dev/null 2>&1 || rc=$?
curl_pid=$(cat "$LAB/curl.pid")
lab_check "1: curl http://$LAB_EVIL_IP:81/ refused (exit 7, got $rc)" test "$rc" -eq 7
lab_check "1: its connection_blocked names pid $curl_pid and comm curl" lab_audit_wait \
	"$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_EVIL_IP" dst_port=81 \
	pid="$curl_pid" process=curl

# A process alive long enough for auditd to read /proc, in a container-like cgroup.
mkdir "$CTR_CG"
sh -c 'echo $$ > "$1/cgroup.procs" && exec ip netns exec "$2" "$3" -c "$4" "$5"' sh "$CTR_CG" \
	"$LAB_RUNNER" "$LAB_PYTHON" "
import os, socket, time
open('$LAB/ctr.pid', 'w').write(str(os.getpid()))
s = socket.socket()
try:
    s.connect(('$LAB_EVIL_IP', 82))
except OSError:
    pass
time.sleep(1.5)
" --marker-arg
ctr_pid=$(cat "$LAB/ctr.pid")
lab_check "1: the long-lived process's connection_blocked names pid $ctr_pid" lab_audit_wait \
	"$LAB_AUDIT" event_type=connection_blocked dst_port=82 pid="$ctr_pid"
rmdir "$CTR_CG" 2>/dev/null || true

lab_check "1: curl's record: exe ends in /curl, ppid, cmdline not another process's" \
	audit_py "[r for r in recs if r.get('dst_port') == 81 and r.get('pid') == $curl_pid
		and r['exe'].endswith('/curl') and r.get('ppid', 0) > 0
		and (r['cmdline'] == 'unknown' or r['cmdline'].startswith('curl'))][0] and 1"
lab_check "1: the live process's record: cmdline read from /proc (--marker-arg)" \
	audit_py "[r for r in recs if r.get('dst_port') == 82 and '--marker-arg' in r['cmdline']
		and r['exe'].split('/')[-1].startswith('python')][0] and 1"
lab_check "1: the container-like cgroup's record: container_id $CID" lab_audit_find \
	"$LAB_AUDIT" dst_port=82 container_id="$CID"
grep -E '"dst_port":8[12],' "$LAB_AUDIT" | sed 's/^/  record: /'

# DNS queries carry the process that asked (bpf/dnsclient.bpf.h -> auditd): a name and a denied
# name through glibc's resolver (a connected UDP socket).
lab_workload_pid "$LAB/getent.pid" getent ahostsv4 allowed.test >/dev/null 2>&1 || true
lab_workload_pid "$LAB/getent2.pid" getent ahostsv4 evil.test >/dev/null 2>&1 || true
g1=$(cat "$LAB/getent.pid") g2=$(cat "$LAB/getent2.pid")
lab_check "1: dns_allowed allowed.test names pid $g1 (getent)" lab_audit_wait "$LAB_AUDIT" \
	event_type=dns_allowed query=allowed.test pid="$g1" process=getent
lab_check "1: dns_blocked evil.test names pid $g2 (getent) and its exe" audit_py \
	"[r for r in recs if r.get('event_type') == 'dns_blocked' and r.get('pid') == $g2
		and r.get('exe', '').endswith('/getent')][0] and 1"

# The same question 30 times from one socket within a second: one dns_allowed record at once
# and one carrying the other 29 as its count when the second ends (dnsd/evdedupe.h), and the
# same for a denied name; nothing lost. dns_burst prints the socket's port.
dns_burst() {
	py - <<'PY'
import socket, struct, time
def q(i, name):
    return struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"".join(
        bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("127.0.0.1", 53))
for name in ("allowed.test", "dedupe-evil.test"):
    for i in range(30):
        s.send(q(i + 1, name))
        s.recv(512)
print(s.getsockname()[1])
PY
}
DEDUP_PORT=$(dns_burst)
dedup_sum() { # QUERY EVENT_TYPE: "<records> <sum of count>" for DEDUP_PORT
	audit_py "'%d %d' % (len(rs := [r for r in recs if r.get('query') == '$1' and
		r.get('event_type') == '$2' and r.get('src_port') == $DEDUP_PORT]),
		sum(r.get('count', 0) for r in rs))"
}
for qe in allowed.test:dns_allowed dedupe-evil.test:dns_blocked; do
	qn=${qe%%:*} qev=${qe#*:}
	lab_retry 40 0.1 test "$(dedup_sum "$qn" "$qev")" = "2 30" || true
	lab_check "1: 30 identical $qn queries from one socket: 2 $qev records, counts summing \
to 30 (got $(dedup_sum "$qn" "$qev"))" test "$(dedup_sum "$qn" "$qev")" = "2 30"
done

# ---- 2. hostile names through dnsd: valid JSON lines ------------------------------------------

echo "== 2. hostile DNS names"
# dig's \DDD escapes put any byte in a label: " \ control bytes, invalid UTF-8
for q in 'q\034uote.test' 'back\092slash.test' 'ctl\001\031\127.test' 'bad\255\254utf8.test' \
	'nl\010line.test'; do
	lab_workload dig +short +tries=1 +time=2 @127.0.0.1 "$q" >/dev/null 2>&1 || true
done
lab_audit_wait "$LAB_AUDIT" event_type=dns_blocked || true
sleep 0.5
if out=$(lab_audit_validate "$LAB_AUDIT"); then
	lab_pass "2: every line is one JSON object ($(wc -l <"$LAB_AUDIT") lines)"
else
	lab_fail "2: $out"
fi
lab_check "2: the names come back escaped (quote kept, backslash doubled, bytes as \\xHH)" \
	audit_py "all(any(r.get('query', '').lower() == n for r in recs) for n in
		['q\"uote.test', 'back\\\\\\\\slash.test', 'bad\\\\xff\\\\xfeutf8.test',
		 'ctl\x01\x1f\x7f.test'])"

# ---- 3. a flood past the ring's capacity while auditd is stopped -----------------------------

echo "== 3. flood: $FLOOD_N denied connects while auditd is stopped"
aud_pid=$(cat "$LAB_STATE/auditd.pid")
kill -STOP "$aud_pid"
py -c "
import socket
n = 0
for i in range($FLOOD_N):
    s = socket.socket()
    try:
        s.connect(('$LAB_EVIL_IP', $FLOOD_PORT0 + i))
    except PermissionError:
        n += 1
    s.close()
print(n)
" >"$LAB/flood.out" 2>&1 || true
kill -CONT "$aud_pid"
lab_check "3: every flood connect refused ($(cat "$LAB/flood.out"))" \
	test "$(cat "$LAB/flood.out")" = "$FLOOD_N"
flood_sum() {
	audit_py "sum(r.get('count', 1) for r in recs if r.get('event_type') ==
		'connection_blocked' and $FLOOD_PORT0 <= r.get('dst_port', 0) < $FLOOD_PORT0 + $FLOOD_N)
		+ sum(r['count'] for r in recs if r.get('event_type') == 'events_lost'
		and r.get('source') == 'ring')"
}
for _ in $(seq 30); do # auditd drains the ring, then reports the loss on its next tick
	[ "$(flood_sum)" = "$FLOOD_N" ] && break
	sleep 0.3
done
written=$(audit_py "sum(r.get('count', 1) for r in recs if r.get('event_type') ==
	'connection_blocked' and $FLOOD_PORT0 <= r.get('dst_port', 0) < $FLOOD_PORT0 + $FLOOD_N)")
lost=$(audit_py "sum(r['count'] for r in recs if r.get('event_type') == 'events_lost'
	and r.get('source') == 'ring')")
[ "$lost" -gt 0 ] && [ "$((written + lost))" -eq "$FLOOD_N" ] &&
	lab_pass "3: written $written + events_lost $lost = sent $FLOOD_N" ||
	lab_fail "3: written $written + events_lost $lost != sent $FLOOD_N"

lab_check "cargowall stop (enforce)" lab_cw stop --state-dir "$LAB_STATE"

# ---- 4. audit mode and its summary ----------------------------------------------------------

echo "== 4. audit mode: summary in both formats against the log"
: >"$LAB_AUDIT.enforce"
cat "$LAB_AUDIT" >"$LAB_AUDIT.enforce"
: >"$LAB_AUDIT"
cw_start audit || { lab_fail "cargowall start (audit)"; lab_results; exit 1; }
fresh=$(lab_fresh_ip 3)
lab_workload "${LAB_CURL[@]}" -4 http://evil.test/ >/dev/null 2>&1 || true
lab_workload "${LAB_CURL[@]}" -4 http://allowed.test/ >/dev/null 2>&1 || true
lab_workload "${LAB_CURL[@]}" "http://$fresh:$LAB_FRESH_PORT/" >/dev/null 2>&1 || true
lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked dst_ip="$fresh" || true
# Deduplicated DNS records (count 29) in the log: the summary counts what they stand for.
DEDUP_PORT=$(dns_burst)
lab_retry 40 0.1 test "$(dedup_sum allowed.test dns_allowed)" = "2 30" || true
lab_check "cargowall stop (audit)" lab_cw stop --state-dir "$LAB_STATE"

"$CW_BIN" summary --audit-log "$LAB_AUDIT" >"$LAB/summary.md" 2>&1 || true
"$CW_BIN" summary --audit-log "$LAB_AUDIT" --format json >"$LAB/summary.json" 2>&1 || true
if out=$("$LAB_PYTHON" - "$LAB_AUDIT" "$LAB/summary.json" "$LAB/summary.md" "$fresh" \
	"$LAB_FRESH_PORT" <<'PY'
import json, sys
log, sj, smd, fresh, fport = sys.argv[1:6]
recs = [json.loads(l) for l in open(log)]
s = json.load(open(sj))
md = open(smd).read()
errs = []
def cnt(r):
    return r.get("count", 1)
real = [r for r in recs if r["event_type"] == "connection_blocked" and not r.get("no_packet")]
want = {
    "connections_blocked": sum(cnt(r) for r in real),
    "dns_blocked": sum(cnt(r) for r in recs if r["event_type"] == "dns_blocked"),
    "dns_allowed": sum(cnt(r) for r in recs if r["event_type"] == "dns_allowed"),
    "connections_allowed": sum(cnt(r) for r in recs if r["event_type"] == "connection_allowed"),
    "events_lost": sum(r["count"] for r in recs if r["event_type"] == "events_lost"),
}
for k, v in want.items():
    if s["totals"].get(k) != v:
        errs.append(f"totals.{k} = {s['totals'].get(k)}, the log says {v}")
if s["mode"] != "audit":
    errs.append(f"mode {s['mode']}")
sug = s.get("suggested_allowlist") or {}
hosts, cidrs = sug.get("allowed_hosts", []), sug.get("allowed_cidrs", [])
if not any(h.startswith("evil.test") for h in hosts):
    errs.append(f"evil.test not suggested by name: {hosts}")
if any(c.startswith("10.199.1.66") for c in cidrs):
    errs.append(f"evil.test's address suggested bare although the log names it: {cidrs}")
if f"{fresh}:{fport}" not in cidrs:
    errs.append(f"{fresh}:{fport} (no name in the log) not suggested as an address: {cidrs}")
if any(h.startswith("allowed.test") for h in hosts):
    errs.append("allowed.test suggested although allowed")
blocked = {(b["destination"], b["process"]): b["count"] for b in s["blocked"]}
for r in real:
    if not any(r["dst_ip"] in d and p == r.get("process", "") for d, p in blocked):
        errs.append(f"blocked table lacks {r['dst_ip']} from {r.get('process')}")
for h in hosts + cidrs:
    if "  " + h not in md:
        errs.append(f"markdown lacks the entry {h}")
if "Audit Mode" not in md or "allowed-hosts: |" not in md:
    errs.append("markdown lacks the header or the allowed-hosts block")
json.dump({"defaultAction": "deny", "rules": sug.get("config", {}).get("rules", [])},
          open(sys.argv[2] + ".config", "w"))
print("; ".join(errs) if errs else f"hosts {hosts} cidrs {cidrs}")
sys.exit(1 if errs else 0)
PY
); then
	lab_pass "4: summary JSON and Markdown agree with the log ($out)"
else
	lab_fail "4: summary: $out"
fi
lab_check "4: the suggested config passes cargowall check-config" \
	"$CW_BIN" check-config "$LAB/summary.json.config"

lab_results
