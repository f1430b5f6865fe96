# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2016,SC2034
#
# Network-namespace lab (DESIGN.md §9). Source it from a bash script that runs as root:
#
#   . tests/lab/lab.sh
#   lab_require_root                 # exit 77 (ctest skip) when not root
#   trap lab_teardown EXIT
#   trap 'exit 130' INT TERM          # so that the EXIT trap runs on ^C too
#   lab_setup
#   lab_workload curl http://allowed.test/
#
# Topology (one lab per process, names carry the pid of the sourcing script):
#
#   runner netns $LAB_RUNNER                 internet netns $LAB_INET
#   cw0 10.199.0.1/24  <------ veth ------>  cwup0 10.199.0.2/24 (dnsmasq :53 udp+tcp)
#       fd99:199::1/64                             fd99:199::2/64
#   default via 10.199.0.2, fd99:199::2      lo: 10.199.1.10 allowed.test  (http :80 "allowed")
#   /etc/resolv.conf: nameserver 127.0.0.1       fd99:199:1::10 allowed.test (AAAA, same http)
#                                                10.199.1.66 evil.test     (http :80 "evil")
#                                                fd99:199:1::66 evil.test  (AAAA, same http)
#                                                10.199.1.53 second resolver (own dnsmasq+log)
#                                                10.199.1.33 ttl3.test (slow stream :80)
#                                                169.254.169.254 metadata (http :80)
#                                                10.200.0.0/16 AnyIP: n<i>.fresh.test (:8000)
#
# No NAT anywhere (conntrack would reassemble fragments before TC sees them). IPv6 on the veth
# only for the addresses above: no DAD waits (nodad), no router solicitations or autoconf; the
# kernel still sends neighbour discovery and MLD on the link (tests exclude them from counts).
# Mounts made before any `ip netns exec`, so that every process sees the same pins and
# cgroups: bpffs at $LAB_BPF, cgroup2 at $LAB/cg. The workload runs in $LAB_CG; cargowall
# (lab_runner) runs in $LAB_SYSCG, a sibling, so that whatever it leaves behind is found.
#
# Every wait is bounded; teardown is idempotent and kills only pids this lab started.

# ---- configuration (override from the environment) ------------------------------------------

LAB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CW_BUILD=${CW_BUILD:-$LAB_REPO/build}
# The launcher (CMAKE_RUNTIME_OUTPUT_DIRECTORY is build/bin); it finds the trio
# (cargowall-enforcer, -dnsd, -auditd) in its own directory.
CW_BIN=${CW_BIN:-$CW_BUILD/bin/cargowall}

LAB_ID=${LAB_ID:-$$}
LAB=/run/cwlab-$LAB_ID
LAB_RUNNER=cwr-$LAB_ID
LAB_INET=cwi-$LAB_ID
LAB_IF=cw0         # runner side of the veth (inside $LAB_RUNNER)
LAB_INET_IF=cwup0  # internet side of the veth (inside $LAB_INET)
LAB_RUNNER_IP=10.199.0.1
LAB_UPSTREAM=10.199.0.2 # dnsmasq, the runner's default gateway
LAB_ALLOWED_IP=10.199.1.10
LAB_EVIL_IP=10.199.1.66
# IPv6 (fd00::/8, private like the IPv4 ranges: learned only with --allow-private-answers).
LAB_LINK_NET6=fd99:199::/64
LAB_RUNNER_IP6=fd99:199::1
LAB_UPSTREAM_IP6=fd99:199::2 # the runner's IPv6 gateway (dnsmasq listens on IPv4 only)
LAB_ALLOWED_IP6=fd99:199:1::10 # allowed.test AAAA
LAB_EVIL_IP6=fd99:199:1::66    # evil.test AAAA
LAB_RESOLVER2_IP=10.199.1.53 # a second resolver (own dnsmasq, own query log $LAB_DNSLOG2)
LAB_TTL3_IP=10.199.1.33      # ttl3.test (TTL 3) alone: nothing else keeps it learned
LAB_TTL3_PORT=80             # slow stream server: one byte every 0.5 s for 45 s per connection
LAB_META_IP=169.254.169.254  # "cloud metadata" (http :80 "metadata"), meta.wild.test's answer
LAB_FRESH_NET=10.200.0.0/16  # AnyIP (local route) in the internet netns: n<i>.fresh.test
LAB_FRESH_N=${LAB_FRESH_N:-10000}
LAB_FRESH_PORT=8000          # accept-and-close server on 0.0.0.0 (port 80 has per-IP servers)
LAB_BPF=$LAB/bpf            # a bpffs mount
LAB_PINS=$LAB_BPF/cargowall # cargowall --bpffs: the pin directory, inside a bpffs (DESIGN.md §4)
LAB_CGROOT=$LAB/cg
LAB_CG=$LAB_CGROOT/cwlab-$LAB_ID
LAB_SYSCG=$LAB_CGROOT/cwlab-$LAB_ID-sys
LAB_STATE=$LAB/state
LAB_AUDIT=$LAB/audit.log
LAB_DNSLOG=$LAB/dns-query.log   # the upstream, $LAB_UPSTREAM
LAB_DNSLOG2=$LAB/dns2-query.log # the second resolver, $LAB_RESOLVER2_IP
LAB_FRESH_HOSTS=$LAB/fresh.hosts
LAB_CWLOG=$LAB/cargowall.log # stdout+stderr of every cargowall command run by lab_cw
LAB_NETNS_ETC=/etc/netns/$LAB_RUNNER

# Every curl in the lab: bounded, no proxy from the environment, errors on stderr.
LAB_CURL=(curl -sS --noproxy '*' --max-time 5)

# Python from Debian, not a shim (a shim may fork and hide the server's pid).
LAB_PYTHON=/usr/bin/python3
[ -x "$LAB_PYTHON" ] || LAB_PYTHON=$(command -v python3)

LAB_PIDS=()      # processes started by lab_setup, killed by pid at teardown
LAB_UP=0         # 1 once lab_setup began creating things
LAB_TORN_DOWN=0

# ---- small helpers ----------------------------------------------------------------------------

lab_log() { printf 'lab: %s\n' "$*" >&2; }

lab_die() {
	lab_log "FATAL: $*"
	exit 1
}

# CW_REQUIRE_PRIVILEGED=1 (set by scripts/test.sh, so always in CI) turns the skip into a failure.
lab_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if [ "${CW_REQUIRE_PRIVILEGED:-0}" = 1 ]; then
			echo "FAIL: ${0##*/} needs root and CW_REQUIRE_PRIVILEGED=1 forbids skipping" >&2
			exit 1
		fi
		echo "SKIP: ${0##*/} needs root (network namespaces, cgroups, BPF)" >&2
		exit 77
	fi
}

# lab_retry TRIES DELAY CMD...: run CMD until it succeeds, at most TRIES times.
lab_retry() {
	local tries=$1 delay=$2 i
	shift 2
	for ((i = 0; i < tries; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep "$delay"
	done
	return 1
}

lab_pid_alive() {
	local pid=$1 state
	[ -n "$pid" ] && [ -e "/proc/$pid" ] || return 1
	# A zombie has exited; it only waits for its parent to reap it.
	state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
	[ "$state" != "Z" ]
}

# lab_kill_pid PID: TERM, wait up to 3 s, then KILL. Only for pids this lab started.
lab_kill_pid() {
	local pid=$1 i
	lab_pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 30; i++)); do
		lab_pid_alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		lab_pid_alive "$pid" || return 0
		sleep 0.1
	done
	lab_log "pid $pid survived SIGKILL"
}

lab_need_tools() {
	local t missing=()
	for t in ip dnsmasq curl dig bpftool tc timeout awk "$LAB_PYTHON"; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		lab_die "missing tools: ${missing[*]} (run scripts/install-deps.sh)"
	fi
}

# ---- running things in the lab ----------------------------------------------------------------

# lab_workload CMD...: CMD in the workload cgroup and the runner netns. The process joins the
# cgroup before `ip netns exec`: cgroup hooks follow the process, not the namespace.
lab_workload() {
	sh -c 'cg=$1; ns=$2; shift 2; echo $$ > "$cg/cgroup.procs" && exec ip netns exec "$ns" "$@"' \
		lab-workload "$LAB_CG" "$LAB_RUNNER" "$@"
}

# lab_workload_pid PIDFILE CMD...: like lab_workload, and PIDFILE receives the pid that CMD
# runs as (sh execs CMD, so the pid is CMD's own).
lab_workload_pid() {
	local pidfile=$1
	shift
	lab_workload sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@"
}

# lab_runner CMD...: CMD in the runner netns, outside the workload cgroup (in $LAB_SYSCG).
lab_runner() {
	sh -c 'cg=$1; ns=$2; shift 2; echo $$ > "$cg/cgroup.procs" && exec ip netns exec "$ns" "$@"' \
		lab-runner "$LAB_SYSCG" "$LAB_RUNNER" "$@"
}

# lab_inet CMD...: CMD in the internet netns.
lab_inet() {
	ip netns exec "$LAB_INET" "$@"
}

# lab_cw SUBCOMMAND ARGS...: the launcher in the runner netns, bounded to 60 s. Its output goes
# to $LAB_CWLOG and is echoed, never captured through a pipe: a daemon that inherited the pipe
# would keep a caller (or ctest) waiting for EOF.
lab_cw() {
	local rc=0 before
	before=$(wc -l <"$LAB_CWLOG" 2>/dev/null || echo 0)
	echo "+ cargowall $*" >>"$LAB_CWLOG"
	lab_runner timeout 60 "$CW_BIN" "$@" >>"$LAB_CWLOG" 2>&1 </dev/null || rc=$?
	tail -n +"$((before + 2))" "$LAB_CWLOG" | sed 's/^/  | /' >&2
	[ "$rc" -eq 124 ] && lab_log "cargowall $1 timed out after 60 s"
	return "$rc"
}

# ---- setup ------------------------------------------------------------------------------------

lab_setup_net() {
	ip netns add "$LAB_RUNNER"
	ip netns add "$LAB_INET"
	# Both ends created straight inside their namespaces: no name ever appears on the host.
	ip link add "$LAB_IF" netns "$LAB_RUNNER" type veth peer name "$LAB_INET_IF" netns "$LAB_INET"
	ip -n "$LAB_RUNNER" link set lo up
	ip -n "$LAB_INET" link set lo up
	ip -n "$LAB_RUNNER" addr add "$LAB_RUNNER_IP/24" dev "$LAB_IF"
	ip -n "$LAB_INET" addr add "$LAB_UPSTREAM/24" dev "$LAB_INET_IF"
	lab_setup_net6_quiet
	ip -n "$LAB_RUNNER" addr add "$LAB_RUNNER_IP6/64" dev "$LAB_IF" nodad
	ip -n "$LAB_INET" addr add "$LAB_UPSTREAM_IP6/64" dev "$LAB_INET_IF" nodad
	ip -n "$LAB_RUNNER" link set "$LAB_IF" up
	ip -n "$LAB_INET" link set "$LAB_INET_IF" up
	# Service addresses on the internet's loopback (no dummy driver on the CI kernel).
	ip -n "$LAB_INET" addr add "$LAB_ALLOWED_IP/32" dev lo
	ip -n "$LAB_INET" addr add "$LAB_EVIL_IP/32" dev lo
	ip -n "$LAB_INET" addr add "$LAB_ALLOWED_IP6/128" dev lo nodad
	ip -n "$LAB_INET" addr add "$LAB_EVIL_IP6/128" dev lo nodad
	ip -n "$LAB_INET" addr add "$LAB_RESOLVER2_IP/32" dev lo
	ip -n "$LAB_INET" addr add "$LAB_TTL3_IP/32" dev lo
	ip -n "$LAB_INET" addr add "$LAB_META_IP/32" dev lo
	# AnyIP: every address of the fresh range is local to the internet netns, so one server
	# on 0.0.0.0 answers all of them.
	ip -n "$LAB_INET" route add local "$LAB_FRESH_NET" dev lo
	# A default route, so that "the interfaces of the default route" means cw0.
	ip -n "$LAB_RUNNER" route add default via "$LAB_UPSTREAM" dev "$LAB_IF"
	ip -n "$LAB_RUNNER" -6 route add default via "$LAB_UPSTREAM_IP6" dev "$LAB_IF"
	ip -n "$LAB_RUNNER" route add "$LAB_FRESH_NET" via "$LAB_UPSTREAM" dev "$LAB_IF"
	# The way back is the connected route of cwup0; made explicit, replace keeps it idempotent.
	ip -n "$LAB_INET" route replace 10.199.0.0/24 dev "$LAB_INET_IF"
	ip -n "$LAB_INET" -6 route replace "$LAB_LINK_NET6" dev "$LAB_INET_IF"
	# Resolver of everything run with `ip netns exec $LAB_RUNNER` (bind-mounted over /etc).
	mkdir -p "$LAB_NETNS_ETC"
	echo "nameserver 127.0.0.1" >"$LAB_NETNS_ETC/resolv.conf"
}

# IPv6 on the veth without background chatter: no duplicate address detection (the link-local
# address would wait for it too), no router solicitations, no autoconfiguration from router
# advertisements. Set per interface while both ends are still down.
lab_setup_net6_quiet() {
	local ns dev
	[ -d /proc/sys/net/ipv6 ] || lab_die "the lab needs IPv6 (booted with ipv6.disable=1?)"
	for ns in "$LAB_RUNNER:$LAB_IF" "$LAB_INET:$LAB_INET_IF"; do
		dev=${ns#*:}
		ns=${ns%%:*}
		ip netns exec "$ns" sysctl -q -w "net.ipv6.conf.$dev.disable_ipv6=0" \
			"net.ipv6.conf.$dev.accept_dad=0" "net.ipv6.conf.$dev.accept_ra=0" \
			"net.ipv6.conf.$dev.router_solicitations=0" "net.ipv6.conf.$dev.autoconf=0"
	done
}

lab_setup_mounts() {
	mkdir -p "$LAB_BPF" "$LAB_CGROOT" "$LAB_STATE"
	mount -t bpf bpf "$LAB_BPF"
	chmod 0700 "$LAB_BPF"
	mount -t cgroup2 none "$LAB_CGROOT"
	mkdir "$LAB_CG" "$LAB_SYSCG"
}

# n<i>.fresh.test -> distinct addresses of $LAB_FRESH_NET, i = 0 .. LAB_FRESH_N-1 (hosts format).
lab_fresh_ip() { # I
	echo "10.200.$((1 + $1 / 200)).$((1 + $1 % 200))"
}

lab_write_fresh_hosts() {
	awk -v n="$LAB_FRESH_N" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "10.200.%d.%d n%d.fresh.test\n", 1 + int(i / 200), 1 + i % 200, i
	}' >"$LAB_FRESH_HOSTS"
}

# lab_dnsmasq ADDRESS LOG NAME: one dnsmasq on ADDRESS:53 (UDP and TCP) with the lab's records.
lab_dnsmasq() {
	local addr=$1 log=$2 name=$3
	: >"$log"
	# --no-daemon: stays in the foreground, one process (TCP handled in-process), no pid file,
	# no user change. --local=/test/: answers test. from its own records only, NXDOMAIN else.
	# --bind-interfaces: binds only ADDRESS, so that two instances share the netns.
	ip netns exec "$LAB_INET" dnsmasq --no-daemon --conf-file=/dev/null --pid-file= \
		--port=53 --bind-interfaces --listen-address="$addr" \
		--no-resolv --no-hosts --local=/test/ --domain-needed \
		--log-queries=extra --log-facility="$log" \
		--host-record=allowed.test,"$LAB_ALLOWED_IP","$LAB_ALLOWED_IP6" \
		--host-record=evil.test,"$LAB_EVIL_IP","$LAB_EVIL_IP6" \
		--host-record=ttl3.test,"$LAB_TTL3_IP",3 \
		--host-record=loop.wild.test,127.0.0.1 \
		--host-record=meta.wild.test,"$LAB_META_IP" \
		--cname=cname-ok.test,evil.test \
		--txt-record=allowed.test,"cargowall-lab" \
		--txt-record=txt.test,"cargowall-lab-txt" \
		--addn-hosts="$LAB_FRESH_HOSTS" \
		</dev/null >"$LAB/$name.out" 2>&1 &
	LAB_PIDS+=($!)
	echo $! >"$LAB/$name.pid"
}

lab_setup_dns() {
	lab_write_fresh_hosts
	lab_dnsmasq "$LAB_UPSTREAM" "$LAB_DNSLOG" dnsmasq
	lab_dnsmasq "$LAB_RESOLVER2_IP" "$LAB_DNSLOG2" dnsmasq2
}

# One http.server per address (it binds one address; given an IPv6 one it opens an AF_INET6
# socket). allowed6 and evil6 serve the same pages as allowed and evil.
lab_setup_http() {
	local name ip page
	for name in allowed evil metadata allowed6 evil6; do
		case $name in
		allowed) ip=$LAB_ALLOWED_IP ;;
		evil) ip=$LAB_EVIL_IP ;;
		metadata) ip=$LAB_META_IP ;;
		allowed6) ip=$LAB_ALLOWED_IP6 ;;
		evil6) ip=$LAB_EVIL_IP6 ;;
		esac
		page=${name%6}
		mkdir -p "$LAB/www-$page"
		echo "$page" >"$LAB/www-$page/index.html"
		ip netns exec "$LAB_INET" "$LAB_PYTHON" -m http.server --bind "$ip" \
			--directory "$LAB/www-$page" 80 </dev/null >"$LAB/http-$name.log" 2>&1 &
		LAB_PIDS+=($!)
		echo $! >"$LAB/http-$name.pid"
	done
}

# One asyncio process in the internet netns: on $LAB_TTL3_IP:$LAB_TTL3_PORT each connection gets
# one byte every 0.5 s, 90 bytes in all (45 s), then EOF (sooner when the client closes); on 0.0.0.0:$LAB_FRESH_PORT each
# connection gets "fresh\n" and is closed.
lab_setup_tcp() {
	cat >"$LAB/labsrv.py" <<'PY'
import asyncio, sys

async def stream(reader, writer):
    try:
        for _ in range(90):
            writer.write(b".")
            await writer.drain()
            # Half a second between bytes, but stop when the client has gone (a readiness
            # probe): a stream that outlives its client makes the runner answer with resets,
            # which a running cargowall drops and reports.
            try:
                if await asyncio.wait_for(reader.read(1), 0.5) == b"":
                    break
            except asyncio.TimeoutError:
                pass
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()

async def fresh(reader, writer):
    try:
        writer.write(b"fresh\n")
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()

async def main(ttl3_ip, ttl3_port, fresh_port):
    s1 = await asyncio.start_server(stream, ttl3_ip, ttl3_port)
    s2 = await asyncio.start_server(fresh, "0.0.0.0", fresh_port, backlog=4096)
    print("listening", flush=True)
    async with s1, s2:
        await asyncio.gather(s1.serve_forever(), s2.serve_forever())

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
PY
	ip netns exec "$LAB_INET" "$LAB_PYTHON" "$LAB/labsrv.py" "$LAB_TTL3_IP" "$LAB_TTL3_PORT" \
		"$LAB_FRESH_PORT" </dev/null >"$LAB/labsrv.log" 2>&1 &
	LAB_PIDS+=($!)
	echo $! >"$LAB/labsrv.pid"
}

lab_dig_ok() { # SERVER NAME EXPECTED-ADDRESS, from the runner netns
	[ "$(ip netns exec "$LAB_RUNNER" dig +short +time=1 +tries=1 @"$1" "$2" A)" = "$3" ]
}

lab_dig6_ok() { # SERVER NAME EXPECTED-ADDRESS: the AAAA record, from the runner netns
	[ "$(ip netns exec "$LAB_RUNNER" dig +short +time=1 +tries=1 @"$1" "$2" AAAA)" = "$3" ]
}

# lab_url IP [PATH]: http://IP/PATH, an IPv6 address in brackets.
lab_url() {
	case $1 in
	*:*) echo "http://[$1]/${2:-}" ;;
	*) echo "http://$1/${2:-}" ;;
	esac
}

lab_http_ok() { # IP EXPECTED-BODY, from the runner netns (outside any cgroup of the lab)
	# --globoff: curl would read the brackets of an IPv6 literal as a glob.
	[ "$(ip netns exec "$LAB_RUNNER" "${LAB_CURL[@]}" --globoff --max-time 2 \
		"$(lab_url "$1")")" = "$2" ]
}

# lab_tcp_read IP PORT N: the first N bytes a TCP server at IP:PORT sends, from the runner netns
# (outside any cgroup of the lab), within 2 s.
lab_tcp_read() {
	ip netns exec "$LAB_RUNNER" timeout 2 bash -c \
		'exec 3<>"/dev/tcp/$1/$2" && head -c "$3" <&3' lab-tcp "$@" 2>/dev/null
}

lab_tcp_ok() { # IP PORT EXPECTED-FIRST-BYTES
	[ "$(lab_tcp_read "$1" "$2" "${#3}")" = "$3" ]
}

lab_setup() {
	lab_need_tools
	if [ -e "$LAB" ] || ip netns list | grep -qw "$LAB_RUNNER"; then
		lab_die "$LAB or netns $LAB_RUNNER exists already (LAB_ID=$LAB_ID reused?)"
	fi
	LAB_UP=1
	mkdir -p "$LAB"
	: >"$LAB_CWLOG"
	lab_setup_mounts
	lab_setup_net
	lab_setup_dns
	lab_setup_http
	lab_setup_tcp
	# Readiness: bounded. Only allowed.test is ever asked here: tests check that evil.test
	# never reaches the upstream.
	lab_retry 50 0.1 lab_dig_ok "$LAB_UPSTREAM" allowed.test "$LAB_ALLOWED_IP" ||
		lab_die "dnsmasq does not answer on $LAB_UPSTREAM ($(cat "$LAB/dnsmasq.out"))"
	lab_retry 50 0.1 lab_http_ok "$LAB_ALLOWED_IP" allowed ||
		lab_die "http server on $LAB_ALLOWED_IP not answering ($(cat "$LAB/http-allowed.log"))"
	lab_retry 50 0.1 lab_http_ok "$LAB_EVIL_IP" evil ||
		lab_die "http server on $LAB_EVIL_IP not answering ($(cat "$LAB/http-evil.log"))"
	lab_retry 50 0.1 lab_dig6_ok "$LAB_UPSTREAM" allowed.test "$LAB_ALLOWED_IP6" ||
		lab_die "dnsmasq has no AAAA for allowed.test ($(cat "$LAB/dnsmasq.out"))"
	lab_retry 50 0.1 lab_http_ok "$LAB_ALLOWED_IP6" allowed ||
		lab_die "http server on $LAB_ALLOWED_IP6 silent ($(cat "$LAB/http-allowed6.log"))"
	lab_retry 50 0.1 lab_http_ok "$LAB_EVIL_IP6" evil ||
		lab_die "http server on $LAB_EVIL_IP6 not answering ($(cat "$LAB/http-evil6.log"))"
	lab_retry 50 0.1 lab_dig_ok "$LAB_RESOLVER2_IP" allowed.test "$LAB_ALLOWED_IP" ||
		lab_die "dnsmasq does not answer on $LAB_RESOLVER2_IP ($(cat "$LAB/dnsmasq2.out"))"
	lab_retry 50 0.1 lab_http_ok "$LAB_META_IP" metadata ||
		lab_die "http server on $LAB_META_IP not answering ($(cat "$LAB/http-metadata.log"))"
	lab_retry 50 0.1 lab_tcp_ok "$LAB_TTL3_IP" "$LAB_TTL3_PORT" . ||
		lab_die "stream server on $LAB_TTL3_IP:$LAB_TTL3_PORT silent ($(cat "$LAB/labsrv.log"))"
	lab_retry 50 0.1 lab_tcp_ok "$(lab_fresh_ip 0)" "$LAB_FRESH_PORT" fresh ||
		lab_die "server on $(lab_fresh_ip 0):$LAB_FRESH_PORT silent ($(cat "$LAB/labsrv.log"))"
	lab_log "up: runner=$LAB_RUNNER internet=$LAB_INET dir=$LAB cgroup=$LAB_CG"
}

# ---- teardown ---------------------------------------------------------------------------------

# Pids in a cgroup subtree (the lab's own cgroups: every process there was started by the lab).
lab_cgroup_pids() {
	[ -d "$1" ] || return 0
	find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null || true
}

lab_teardown() {
	local pid pids mp
	[ "$LAB_TORN_DOWN" = 1 ] && return 0
	LAB_TORN_DOWN=1
	[ "$LAB_UP" = 1 ] || return 0
	set +e

	# cargowall first: it detaches its programs while the interface and cgroup still exist.
	if compgen -G "$LAB_STATE/*.pid" >/dev/null && [ -x "$CW_BIN" ]; then
		lab_log "teardown: cargowall stop"
		lab_runner timeout 30 "$CW_BIN" stop --state-dir "$LAB_STATE" \
			>>"$LAB_CWLOG" 2>&1 </dev/null
	fi
	for pid in "${LAB_PIDS[@]}"; do
		lab_kill_pid "$pid"
	done
	# Whatever is still in the lab's cgroups or namespaces was started by the lab.
	pids=$( (lab_cgroup_pids "$LAB_CG"; lab_cgroup_pids "$LAB_SYSCG"
		ip netns pids "$LAB_RUNNER" 2>/dev/null; ip netns pids "$LAB_INET" 2>/dev/null) |
		sort -un)
	for pid in $pids; do
		lab_log "teardown: leftover process $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
		lab_kill_pid "$pid"
	done
	ip netns del "$LAB_RUNNER" 2>/dev/null
	ip netns del "$LAB_INET" 2>/dev/null
	# Children first (cargowall may create cgroups below its own).
	for mp in "$LAB_CG" "$LAB_SYSCG"; do
		[ -d "$mp" ] && find "$mp" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$mp" ] && lab_log "teardown: cannot remove cgroup $mp"
	done
	for mp in "$LAB_BPF" "$LAB_CGROOT"; do
		if mountpoint -q "$mp"; then
			umount "$mp" 2>/dev/null || umount -l "$mp"
		fi
	done
	rm -rf "$LAB_NETNS_ETC"
	rmdir /etc/netns 2>/dev/null
	# Never rm -r through a mount point: on cgroup2 that would rmdir the host's cgroups.
	if [ -n "$(awk -v p="$LAB/" 'index($5, p) == 1' /proc/self/mountinfo)" ]; then
		lab_log "teardown: mounts left under $LAB, not removing it"
	else
		rm -rf "$LAB"
	fi
	set -e
	return 0
}

# ---- checks shared by the tests ---------------------------------------------------------------

LAB_NPASS=0
LAB_NFAIL=0

lab_pass() {
	LAB_NPASS=$((LAB_NPASS + 1))
	echo "PASS: $*"
}

lab_fail() {
	LAB_NFAIL=$((LAB_NFAIL + 1))
	echo "FAIL: $*"
}

# lab_check DESCRIPTION CMD...: PASS or FAIL line from CMD's status (CMD's output discarded:
# the description says what was seen).
lab_check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then lab_pass "$what"; else lab_fail "$what"; fi
}

# lab_bpffs_pins: what is pinned in $LAB_BPF, one path a line, without the iterators that the
# kernel's bpf_preload puts in every new bpffs (maps.debug, progs.debug).
lab_bpffs_pins() {
	(cd "$LAB_BPF" && find . -mindepth 1 ! -path ./maps.debug ! -path ./progs.debug) 2>/dev/null |
		sed 's|^\./||'
}

# lab_results: summary line; status 0 only when nothing failed.
lab_results() {
	echo "${0##*/}: $LAB_NPASS passed, $LAB_NFAIL failed"
	[ "$LAB_NFAIL" -eq 0 ]
}

# ---- audit log (NDJSON, DESIGN.md §7) ------------------------------------------------------------

# lab_audit_validate FILE: every line is one JSON object with a string event_type; names the
# first bad lines. An empty or missing file fails.
lab_audit_validate() {
	"$LAB_PYTHON" - "$1" <<'PY'
import json, sys
bad, n = [], 0
try:
    lines = open(sys.argv[1], encoding="utf-8", errors="strict").read().split("\n")
except (OSError, UnicodeDecodeError) as e:
    print(f"cannot read {sys.argv[1]}: {e}"); sys.exit(1)
if lines and lines[-1] == "":
    lines.pop()
for i, line in enumerate(lines, 1):
    try:
        o = json.loads(line)
        if not isinstance(o, dict) or not isinstance(o.get("event_type"), str):
            raise ValueError("not an object with a string event_type")
        n += 1
    except ValueError as e:
        bad.append(f"line {i}: {e}: {line[:200]!r}")
for b in bad[:5]:
    print(b)
if n == 0 and not bad:
    print("no events in the log")
sys.exit(1 if bad or n == 0 else 0)
PY
}

# lab_audit_find FILE FIELD=VALUE...: some line matches every FIELD=VALUE. Strings compare
# case-insensitively without a trailing dot (DNS names), numbers as decimal text.
lab_audit_find() {
	"$LAB_PYTHON" - "$@" <<'PY'
import json, sys
def norm(v):
    if isinstance(v, bool):
        return str(v).lower()
    return str(v).lower().rstrip(".")
want = [a.split("=", 1) for a in sys.argv[2:]]
try:
    lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
except OSError:
    sys.exit(1)
for line in lines:
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if isinstance(o, dict) and all(k in o and norm(o[k]) == norm(v) for k, v in want):
        sys.exit(0)
sys.exit(1)
PY
}

# lab_audit_wait FILE FIELD=VALUE...: lab_audit_find, polled for up to 5 s (auditd is async).
lab_audit_wait() {
	lab_retry 50 0.1 lab_audit_find "$@"
}

# lab_audit_print FILE: the log, one pretty JSON object per event.
lab_audit_print() {
	"$LAB_PYTHON" - "$1" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
except OSError as e:
    print(f"(no audit log: {e})"); sys.exit(0)
for line in lines:
    try:
        print(json.dumps(json.loads(line), indent=2, sort_keys=False))
    except ValueError:
        print(f"(not JSON) {line}")
PY
}

# ---- self test: `bash tests/lab/lab.sh selftest` checks the lab alone, without cargowall -----

lab_selftest() {
	local gone=1 cgv2 pid
	lab_setup
	lab_check "dnsmasq answers allowed.test from the runner netns" \
		lab_dig_ok "$LAB_UPSTREAM" allowed.test "$LAB_ALLOWED_IP"
	lab_check "second resolver $LAB_RESOLVER2_IP answers" \
		lab_dig_ok "$LAB_RESOLVER2_IP" allowed.test "$LAB_ALLOWED_IP"
	lab_check "second resolver logs to its own file" \
		grep -q "query\[A\] allowed.test from $LAB_RUNNER_IP" "$LAB_DNSLOG2"
	lab_check "ttl3.test has TTL 3" test "$(ip netns exec "$LAB_RUNNER" \
		dig +noall +answer +time=1 +tries=1 @"$LAB_UPSTREAM" ttl3.test A | awk '{print $2}')" = 3
	lab_check "ttl3.test is $LAB_TTL3_IP" lab_dig_ok "$LAB_UPSTREAM" ttl3.test "$LAB_TTL3_IP"
	lab_check "loop.wild.test is 127.0.0.1" lab_dig_ok "$LAB_UPSTREAM" loop.wild.test 127.0.0.1
	lab_check "meta.wild.test is $LAB_META_IP" lab_dig_ok "$LAB_UPSTREAM" meta.wild.test "$LAB_META_IP"
	lab_check "n$((LAB_FRESH_N - 1)).fresh.test is $(lab_fresh_ip $((LAB_FRESH_N - 1)))" \
		lab_dig_ok "$LAB_UPSTREAM" "n$((LAB_FRESH_N - 1)).fresh.test" \
		"$(lab_fresh_ip $((LAB_FRESH_N - 1)))"
	lab_check "fresh server answers on $(lab_fresh_ip $((LAB_FRESH_N - 1))):$LAB_FRESH_PORT" \
		lab_tcp_ok "$(lab_fresh_ip $((LAB_FRESH_N - 1)))" "$LAB_FRESH_PORT" fresh
	lab_check "stream server on $LAB_TTL3_IP:$LAB_TTL3_PORT sends 3 bytes in ~1 s" \
		lab_tcp_ok "$LAB_TTL3_IP" "$LAB_TTL3_PORT" ...
	lab_check "metadata server on $LAB_META_IP" lab_http_ok "$LAB_META_IP" metadata
	lab_check "cname-ok.test -> evil.test" test "$(ip netns exec "$LAB_RUNNER" \
		dig +short +time=1 +tries=1 @"$LAB_UPSTREAM" cname-ok.test A | tr '\n' ' ')" = \
		"evil.test. $LAB_EVIL_IP "
	lab_check "TXT record of txt.test" test "$(ip netns exec "$LAB_RUNNER" \
		dig +short +time=1 +tries=1 @"$LAB_UPSTREAM" txt.test TXT)" = '"cargowall-lab-txt"'
	lab_check "DNS over TCP" lab_retry 1 0 ip netns exec "$LAB_RUNNER" \
		dig +tcp +short +time=1 +tries=1 @"$LAB_UPSTREAM" allowed.test
	lab_check "unknown name under test. is NXDOMAIN" test "$(ip netns exec "$LAB_RUNNER" \
		dig +time=1 +tries=1 @"$LAB_UPSTREAM" nope.test | grep -o 'status: [A-Z]*')" = \
		"status: NXDOMAIN"
	lab_check "query log records queries" grep -q 'query\[A\] allowed.test' "$LAB_DNSLOG"
	lab_check "resolv.conf in the runner netns is 127.0.0.1" test \
		"$(ip netns exec "$LAB_RUNNER" cat /etc/resolv.conf)" = "nameserver 127.0.0.1"
	lab_check "workload curl reaches allowed" test \
		"$(lab_workload "${LAB_CURL[@]}" "http://$LAB_ALLOWED_IP/")" = allowed
	lab_check "workload curl reaches evil" test \
		"$(lab_workload "${LAB_CURL[@]}" "http://$LAB_EVIL_IP/")" = evil
	lab_check "allowed.test AAAA is $LAB_ALLOWED_IP6" \
		lab_dig6_ok "$LAB_UPSTREAM" allowed.test "$LAB_ALLOWED_IP6"
	lab_check "evil.test AAAA is $LAB_EVIL_IP6" \
		lab_dig6_ok "$LAB_UPSTREAM" evil.test "$LAB_EVIL_IP6"
	lab_check "ttl3.test has no AAAA" test -z "$(ip netns exec "$LAB_RUNNER" \
		dig +short +time=1 +tries=1 @"$LAB_UPSTREAM" ttl3.test AAAA)"
	lab_check "workload curl -6 reaches allowed at $LAB_ALLOWED_IP6" test \
		"$(lab_workload "${LAB_CURL[@]}" -6 -g "$(lab_url "$LAB_ALLOWED_IP6")")" = allowed
	lab_check "workload curl -6 reaches evil at $LAB_EVIL_IP6" test \
		"$(lab_workload "${LAB_CURL[@]}" -6 -g "$(lab_url "$LAB_EVIL_IP6")")" = evil
	# What name-based tests rely on: curl prefers the AAAA once a name has one.
	# (No dnsd here: the runner netns, its own mount namespace, gets the upstream as resolver.)
	echo "nameserver $LAB_UPSTREAM" >"$LAB/resolv-upstream.conf"
	lab_check "curl http://allowed.test/ goes over IPv6 (to $LAB_ALLOWED_IP6)" test \
		"$(ip netns exec "$LAB_RUNNER" sh -c 'mount --bind "$0" /etc/resolv.conf &&
			exec "$@"' "$LAB/resolv-upstream.conf" \
			"${LAB_CURL[@]}" -o /dev/null -w '%{remote_ip}' http://allowed.test/)" = \
		"$LAB_ALLOWED_IP6"
	lab_check "runner IPv6 default route via $LAB_UPSTREAM_IP6 dev $LAB_IF" test \
		"$(ip -n "$LAB_RUNNER" -6 route show default | awk '{ print $1,$2,$3,$4,$5 }')" = \
		"default via $LAB_UPSTREAM_IP6 dev $LAB_IF"
	lab_check "no tentative (DAD) address on either end of the veth" test -z \
		"$(ip -n "$LAB_RUNNER" -6 addr show tentative
		ip -n "$LAB_INET" -6 addr show tentative)"
	lab_workload_pid "$LAB/wl.pid" sh -c 'cat /proc/self/cgroup; readlink /proc/self/ns/net' \
		>"$LAB/wl.out"
	lab_check "workload runs in $LAB_CG" grep -qx "0::/${LAB_CG##*/}" "$LAB/wl.out"
	lab_check "workload runs in the runner netns" test \
		"$(tail -n1 "$LAB/wl.out")" = "$(ip netns exec "$LAB_RUNNER" readlink /proc/self/ns/net)"
	lab_check "lab_workload_pid records a pid" grep -qE '^[0-9]+$' "$LAB/wl.pid"
	lab_runner cat /proc/self/cgroup >"$LAB/runner.out"
	lab_check "runner runs in $LAB_SYSCG" grep -qx "0::/${LAB_SYSCG##*/}" "$LAB/runner.out"
	lab_check "runner default route via $LAB_UPSTREAM dev $LAB_IF" test \
		"$(ip -n "$LAB_RUNNER" route show default)" = "default via $LAB_UPSTREAM dev $LAB_IF "
	lab_check "bpffs mounted at $LAB_BPF, seen inside the netns" \
		ip netns exec "$LAB_RUNNER" sh -c "stat -f -c %T '$LAB_BPF' | grep -q bpf"

	lab_teardown
	ip netns list | grep -qE "^($LAB_RUNNER|$LAB_INET)( |$)" && gone=0
	lab_check "teardown: namespaces gone" test "$gone" = 1
	lab_check "teardown: no mounts under $LAB" test -z \
		"$(awk -v p="$LAB" 'index($5, p) == 1' /proc/self/mountinfo)"
	lab_check "teardown: lab dir gone" test ! -e "$LAB"
	lab_check "teardown: /etc/netns/$LAB_RUNNER gone" test ! -e "$LAB_NETNS_ETC"
	cgv2=$(findmnt -n -t cgroup2 -o TARGET | head -n1)
	lab_check "teardown: cgroups gone (looked in ${cgv2:-?})" test -n "$cgv2" -a \
		! -e "$cgv2/${LAB_CG##*/}" -a ! -e "$cgv2/${LAB_SYSCG##*/}"
	gone=1
	for pid in "${LAB_PIDS[@]}"; do
		lab_pid_alive "$pid" && gone=0
	done
	lab_check "teardown: lab processes gone (${LAB_PIDS[*]})" test "$gone" = 1
	lab_results
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	case "${1:-}" in
	selftest)
		lab_require_root
		trap lab_teardown EXIT
		trap 'exit 130' INT TERM
		lab_selftest
		;;
	*)
		echo "usage: bash ${0##*/} selftest   (or source it from a test script)" >&2
		exit 2
		;;
	esac
fi

# ---- containers (issue 7): container-like namespaces behind bridges in the runner netns -------
#
#   runner netns: bridge BR, NET.1/24  <--- veth cwv<N> / eth0 --->  netns cwc<N>-$LAB_ID:
#                                                                     eth0 NET.2/24, default via
#                                                                     NET.1, lo up
# Forwarding on and masquerading (nftables, table ip cwlab_ctr) out of $LAB_IF in the runner
# netns, as Docker does; a NAT rule turns on conntrack there (see the note at the top: not for
# fragment tests). The container's processes run in $LAB_CG/docker-<ID>.scope (under the hooked
# cgroup, like system.slice/docker-<id>.scope on a runner) and see /etc/netns/cwc<N>-$LAB_ID/
# resolv.conf. Torn down by lab_ctr_teardown (after lab_teardown, which kills what is in the
# cgroups and removes them).

LAB_CTRS=() # container namespaces made by lab_ctr_add

lab_ctr_ns() { echo "cwc$1-$LAB_ID"; } # N

# lab_ctr_add N BRIDGE NET ID RESOLVER: container N on BRIDGE (made with NET.1/24 unless it
# exists), address NET.2, cgroup docker-ID.scope, resolv.conf "nameserver RESOLVER".
lab_ctr_add() {
	local n=$1 br=$2 net=$3 id=$4 resolver=$5 ns
	ns=$(lab_ctr_ns "$n")
	ip netns add "$ns"
	LAB_CTRS+=("$ns")
	if ! ip -n "$LAB_RUNNER" link show "$br" >/dev/null 2>&1; then
		ip -n "$LAB_RUNNER" link add "$br" type bridge
		ip -n "$LAB_RUNNER" addr add "$net.1/24" dev "$br"
		ip -n "$LAB_RUNNER" link set "$br" up
	fi
	ip link add "cwv$n" netns "$LAB_RUNNER" type veth peer name eth0 netns "$ns"
	ip -n "$LAB_RUNNER" link set "cwv$n" master "$br" up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$net.2/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$net.1"
	ip netns exec "$LAB_RUNNER" sysctl -q -w net.ipv4.ip_forward=1
	if ! ip netns exec "$LAB_RUNNER" nft list table ip cwlab_ctr >/dev/null 2>&1; then
		ip netns exec "$LAB_RUNNER" nft -f - <<EOF
table ip cwlab_ctr {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$LAB_IF" ip saddr != 10.199.0.0/24 masquerade
	}
}
EOF
	fi
	mkdir "$LAB_CG/docker-$id.scope"
	mkdir -p "/etc/netns/$ns"
	echo "nameserver $resolver" >"/etc/netns/$ns/resolv.conf"
}

# lab_ctr N ID CMD...: CMD in container N (its netns) and its cgroup docker-ID.scope.
lab_ctr() {
	local ns
	ns=$(lab_ctr_ns "$1")
	sh -c 'cg=$1; ns=$2; shift 2; echo $$ > "$cg/cgroup.procs" && exec ip netns exec "$ns" "$@"' \
		lab-ctr "$LAB_CG/docker-$2.scope" "$ns" "${@:3}"
}

lab_ctr_teardown() {
	local ns pid
	set +e
	for ns in "${LAB_CTRS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			lab_log "teardown: leftover process $pid in $ns"
			lab_kill_pid "$pid"
		done
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	LAB_CTRS=()
	rmdir /etc/netns 2>/dev/null
	set -e
	return 0
}

# lab_state_pid NAME: the pid cargowall recorded in $LAB_STATE/NAME.pid (digits only), or "".
lab_state_pid() { tr -dc '0-9' 2>/dev/null <"$LAB_STATE/$1.pid" || true; }
