#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 7, "Must show", Docker: container-like network namespaces behind bridges in the runner
# netns (one on a bridge named docker0, one on a "user-defined" bridge), masqueraded out of the
# uplink, their processes in docker-<id>.scope cgroups under the hooked one, their resolv.conf
# pointing at the lab's second resolver. cargowall started without --container-dns picks
# docker0's address; containers' DNS reaches dnsd there whatever resolv.conf says (UDP and TCP),
# the second resolver never sees a query, direct connections to a denied address fail with EPERM
# and nothing arrives in the internet netns, and the audit log's records carry the container id.
# Then --container-dns none (enforce and audit): containers' DNS is refused, still never reaching
# another resolver. One PASS/FAIL line per check.
set -euo pipefail
. "$(dirname "$0")/lab.sh"
lab_require_root
[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"
command -v nft >/dev/null || lab_die "no nft (run scripts/install-deps.sh)"
command -v tcpdump >/dev/null || lab_die "no tcpdump (run scripts/install-deps.sh)"

SNIFF_PID=
cleanup() {
	[ -n "$SNIFF_PID" ] && kill "$SNIFF_PID" 2>/dev/null
	lab_teardown
	lab_ctr_teardown
}
trap cleanup EXIT
trap 'exit 130' INT TERM
LAB_FRESH_N=16 lab_setup

CID1=c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c1
CID2=b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2
NET1=172.31.199 # docker0
NET2=172.31.198 # a user-defined bridge
GW1=$NET1.1
PCAP=$LAB/inet.pcap

lab_ctr_add 1 docker0 "$NET1" "$CID1" "$LAB_RESOLVER2_IP"
lab_ctr_add 2 br-cwlab "$NET2" "$CID2" "$LAB_RESOLVER2_IP"

c1() { lab_ctr 1 "$CID1" "$@"; }
c2() { lab_ctr 2 "$CID2" "$@"; }

# dig_a CTR NAME [DIG-OPTIONS...]: the A records that container CTR's resolver gives for NAME
dig_a() {
	{ "c$1" dig +short +time=2 +tries=1 "${@:3}" "$2" A 2>&1 || true; } | tr '\n' ' ' |
		sed 's/ $//'
}
# dig_status CTR NAME [DIG-OPTIONS...]: the rcode (NOERROR, NXDOMAIN, ...) or "none"
dig_status() {
	local s
	s=$({ "c$1" dig +time=2 +tries=1 "${@:3}" "$2" A 2>/dev/null || true; } |
		sed -n 's/.*status: \([A-Z]*\).*/\1/p')
	echo "${s:-none}"
}
# py_ctr CTR CODE: python in container CTR; prints what CODE prints
py_ctr() {
	"c$1" "$LAB_PYTHON" -c "$2" 2>&1 || true
}
# connect_errno CTR FAMILY ADDR PORT TYPE: "ok" or the errno name of connect()/sendto()
ERRNO_PY='
import errno, socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
typ = socket.SOCK_DGRAM if sys.argv[4] == "udp" else socket.SOCK_STREAM
s = socket.socket(fam, typ)
s.settimeout(3)
try:
    if typ == socket.SOCK_DGRAM:
        s.sendto(b"\0" * 12, (sys.argv[2], int(sys.argv[3])))
    else:
        s.connect((sys.argv[2], int(sys.argv[3])))
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
'
connect_errno() {
	"c$1" "$LAB_PYTHON" -c "$ERRNO_PY" "${@:2}" 2>&1 || true
}
dns2_lines() { wc -l <"$LAB_DNSLOG2"; }
# sniffed FILTER: captured packets matching FILTER
sniffed() {
	tcpdump -n -r "$PCAP" "$1" 2>/dev/null | wc -l
}
cw_start() { # MODE [START-OPTIONS...]
	lab_cw start --mode "$1" --allow-hosts allowed.test --interface "$LAB_IF" \
		--cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM" --audit-log "$LAB_AUDIT" \
		--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers "${@:2}"
}

# ---- 0. the lab's containers work without cargowall -----------------------------------------

echo "== 0. containers without cargowall"
lab_check "0: container 1 (docker0) resolves allowed.test through $LAB_RESOLVER2_IP" \
	test "$(dig_a 1 allowed.test)" = "$LAB_ALLOWED_IP"
lab_check "0: container 2 (user-defined bridge) reaches http://$LAB_EVIL_IP/" \
	test "$(c2 "${LAB_CURL[@]}" "http://$LAB_EVIL_IP/")" = evil
lab_check "0: the second resolver logged container 1's query (masqueraded)" \
	grep -q "query\[A\] allowed.test from $LAB_RUNNER_IP" "$LAB_DNSLOG2"

ip netns exec "$LAB_INET" tcpdump -i "$LAB_INET_IF" -n -U -w "$PCAP" \
	"host $LAB_EVIL_IP or host $LAB_RESOLVER2_IP" >/dev/null 2>&1 &
SNIFF_PID=$!
sleep 1

# ---- 1. enforce, containers' DNS on docker0's address (the default) ---------------------------

echo "== 1. enforce mode, --container-dns by default (docker0: $GW1)"
cw_start enforce || { lab_fail "cargowall start"; lab_results; exit 1; }
n2=$(dns2_lines)
lab_check "1: dnsd listens on $GW1:53 (UDP and TCP) in the runner netns" \
	sh -c "ip netns exec '$LAB_RUNNER' ss -Hlun 'sport = :53' | grep -q '$GW1:53' &&
		ip netns exec '$LAB_RUNNER' ss -Hltn 'sport = :53' | grep -q '$GW1:53'"

for c in 1 2; do
	got=$(dig_a "$c" allowed.test)
	lab_check "1: container $c: allowed.test resolves over UDP through dnsd ($got)" \
		test "$got" = "$LAB_ALLOWED_IP"
	got=$(dig_a "$c" allowed.test +tcp)
	lab_check "1: container $c: allowed.test resolves over TCP ($got)" \
		test "$got" = "$LAB_ALLOWED_IP"
	got=$(dig_status "$c" evil.test)
	lab_check "1: container $c: evil.test is NXDOMAIN over UDP ($got)" test "$got" = NXDOMAIN
	got=$(dig_status "$c" evil.test +tcp)
	lab_check "1: container $c: evil.test is NXDOMAIN over TCP ($got)" test "$got" = NXDOMAIN
	got=$("c$c" "${LAB_CURL[@]}" -4 http://allowed.test/ 2>&1 || true)
	lab_check "1: container $c: curl http://allowed.test/ gets the page ($got)" \
		test "$got" = allowed
done
got=$(dig_a 1 allowed.test @"$LAB_UPSTREAM")
lab_check "1: a resolver named on dig's command line goes to dnsd too ($got)" \
	test "$got" = "$LAB_ALLOWED_IP"
# The reply looks like it came from the resolver asked (recvmsg), and so does the peer of a TCP
# connection (getpeername).
got=$(py_ctr 2 "
import socket
q = bytes.fromhex('abcd01000001000000000000') + b'\\x07allowed\\x04test\\x00\\x00\\x01\\x00\\x01'
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(3)
u.sendto(q, ('$LAB_RESOLVER2_IP', 53))
data, peer = u.recvfrom(512)
t = socket.create_connection(('$LAB_RESOLVER2_IP', 53), timeout=3)
print(peer[0], data[:2].hex(), t.getpeername()[0])
")
lab_check "1: container 2: the reply comes from $LAB_RESOLVER2_IP, so does the TCP peer ($got)" \
	test "$got" = "$LAB_RESOLVER2_IP abcd $LAB_RESOLVER2_IP"
got=$(connect_errno 1 4 "$LAB_EVIL_IP" 80 tcp)
lab_check "1: container 1: connect to $LAB_EVIL_IP:80 fails with EPERM ($got)" test "$got" = EPERM
got=$(connect_errno 2 4 "$LAB_EVIL_IP" 9 udp)
lab_check "1: container 2: UDP to $LAB_EVIL_IP:9 fails with EPERM ($got)" test "$got" = EPERM
rc=0
c1 "${LAB_CURL[@]}" "http://$LAB_EVIL_IP/" >/dev/null 2>&1 || rc=$?
lab_check "1: container 1: curl http://$LAB_EVIL_IP/ refused (exit 7, got $rc)" test "$rc" -eq 7
got=$(connect_errno 1 6 "$LAB_UPSTREAM_IP6" 53 udp)
lab_check "1: container 1: DNS to an IPv6 resolver is refused, EPERM ($got)" test "$got" = EPERM
# Docker's embedded resolver listens on the container's loopback (127.0.0.11): left alone.
got=$(py_ctr 1 "
import socket
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(('127.0.0.11', 53))
srv.settimeout(2)
cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
cli.settimeout(2)
cli.sendto(b'ping', ('127.0.0.11', 53))
data, peer = srv.recvfrom(64)
srv.sendto(data, peer)
print(cli.recvfrom(64)[1][0])
")
lab_check "1: container 1: DNS to its own 127.0.0.11:53 stays on its loopback ($got)" \
	test "$got" = 127.0.0.11
lab_check "1: the host (runner netns) still resolves through 127.0.0.1" \
	test "$(lab_workload dig +short +time=2 +tries=1 @127.0.0.1 allowed.test A)" = \
	"$LAB_ALLOWED_IP"

lab_check "1: the second resolver saw no query since start ($(($(dns2_lines) - n2)) lines)" \
	test "$(dns2_lines)" = "$n2"
lab_check "1: the upstream never saw evil.test" sh -c "! grep -q 'evil\.test' '$LAB_DNSLOG'"

# The audit log: who, with the container id.
lab_check "1: connection_blocked to $LAB_EVIL_IP:80 carries container_id of container 1" \
	lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_EVIL_IP" \
	dst_port=80 container_id="$CID1"
lab_check "1: connection_blocked UDP $LAB_EVIL_IP:9 carries container_id of container 2" \
	lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_EVIL_IP" \
	dst_port=9 container_id="$CID2"
for c in 1 2; do
	cid=CID$c
	lab_check "1: connection_allowed to $LAB_ALLOWED_IP:80 carries container $c's id" \
		lab_audit_wait "$LAB_AUDIT" event_type=connection_allowed dst_ip="$LAB_ALLOWED_IP" \
		dst_port=80 container_id="${!cid}"
	lab_check "1: container $c's DNS to $LAB_RESOLVER2_IP is logged (sent to dnsd) with its id" \
		lab_audit_wait "$LAB_AUDIT" event_type=connection_allowed \
		dst_ip="$LAB_RESOLVER2_IP" dst_port=53 container_id="${!cid}" auto_allowed_type=dns
done
lab_check "1: the refused IPv6 DNS is logged with container 1's id" \
	lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_UPSTREAM_IP6" \
	dst_port=53 container_id="$CID1"
lab_check "1: dns_blocked evil.test carries container 1's id (the asking process)" \
	lab_audit_wait "$LAB_AUDIT" event_type=dns_blocked query=evil.test container_id="$CID1"

lab_check "cargowall stop" lab_cw stop --state-dir "$LAB_STATE"

# ---- 2. --container-dns none: refused, in enforce and in audit mode ---------------------------

for mode in enforce audit; do
	echo "== 2. $mode mode, --container-dns none"
	cw_start "$mode" --container-dns none || { lab_fail "cargowall start ($mode)"; continue; }
	n2=$(dns2_lines)
	lab_check "2 ($mode): nothing listens on $GW1:53" \
		sh -c "! ip netns exec '$LAB_RUNNER' ss -Hlun 'sport = :53' | grep -q '$GW1:53'"
	got=$(dig_a 1 allowed.test)
	lab_check "2 ($mode): container 1 gets no answer ($got)" \
		sh -c "! echo '$got' | grep -q '^$LAB_ALLOWED_IP'"
	got=$(connect_errno 2 4 "$LAB_RESOLVER2_IP" 53 udp)
	lab_check "2 ($mode): container 2: UDP to $LAB_RESOLVER2_IP:53 is EPERM ($got)" \
		test "$got" = EPERM
	got=$(connect_errno 2 4 "$LAB_RESOLVER2_IP" 53 tcp)
	lab_check "2 ($mode): container 2: TCP to $LAB_RESOLVER2_IP:53 is EPERM ($got)" \
		test "$got" = EPERM
	lab_check "2 ($mode): the host still resolves through 127.0.0.1" \
		test "$(lab_workload dig +short +time=2 +tries=1 @127.0.0.1 allowed.test A)" = \
		"$LAB_ALLOWED_IP"
	lab_check "2 ($mode): the second resolver saw nothing ($(($(dns2_lines) - n2)) lines)" \
		test "$(dns2_lines)" = "$n2"
	lab_check "2 ($mode): the refusal is logged with container 2's id" \
		lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked \
		dst_ip="$LAB_RESOLVER2_IP" dst_port=53 container_id="$CID2"
	[ "$mode" = enforce ] && lab_check "2 (enforce): ... as blocked" lab_audit_find \
		"$LAB_AUDIT" event_type=connection_blocked blocked=true dst_ip="$LAB_RESOLVER2_IP" \
		dst_port=53 container_id="$CID2"
	[ "$mode" = audit ] && lab_check "2 (audit): ... as blocked, not would_deny" \
		lab_audit_find "$LAB_AUDIT" event_type=connection_blocked blocked=true \
		would_deny=false dst_ip="$LAB_RESOLVER2_IP" dst_port=53 container_id="$CID2"
	lab_check "cargowall stop ($mode)" lab_cw stop --state-dir "$LAB_STATE"
	: >"$LAB_AUDIT"
done

kill "$SNIFF_PID" 2>/dev/null || true
wait "$SNIFF_PID" 2>/dev/null || true
SNIFF_PID=
n=$(sniffed "dst host $LAB_EVIL_IP")
lab_check "sniffer: no packet reached $LAB_EVIL_IP while cargowall ran ($n)" test "$n" = 0
n=$(sniffed "dst host $LAB_RESOLVER2_IP")
lab_check "sniffer: no packet reached $LAB_RESOLVER2_IP while cargowall ran ($n)" test "$n" = 0

lab_results
