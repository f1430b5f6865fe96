/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The cgroup sock_addr programs of cargowall.bpf.c (one object; this part is its own file to keep
 * each readable): connect4/6 and sendmsg4/6 judge and redirect DNS, recvmsg4/6 and
 * getpeername4/6 restore the address a redirected client asked for. */
#ifndef CW_BPF_SOCK_ADDR_BPF_H
#define CW_BPF_SOCK_ADDR_BPF_H

#include "dedupe.bpf.h"
#include "dnsclient.bpf.h"
#include "task.bpf.h"
#include "verdict.bpf.h"

/* ---- cgroup sock_addr hooks ------------------------------------------------------------ */

static __always_inline void event_task(struct cw_conn_event *e, struct bpf_sock_addr *ctx)
{
	task_identity(e);
	e->cookie = bpf_get_socket_cookie(ctx);
}

/* A global function: verified once per program rather than at each of its five call sites.
 * Returns 0. */
__noinline int sock_event(struct bpf_sock_addr *ctx, const struct conn_info *ci, __u8 type,
			  __u8 flags, __u32 rule_id)
{
	struct cw_conn_event *e;
	struct dedupe_key k;

	if (!ci)
		return 0;

	/* Allowed connections go through the same burst dedupe as denials: a job that opens the
	 * same destination a thousand times a second (a test suite against a registry, a load
	 * test) is reported once at once and then as one record per second with its count;
	 * auditd writing each of them cost a tenth of the connection rate (bench/datapath). */
	dedupe_key_of(&k, bpf_get_current_pid_tgid() >> 32, ci, type, flags);
	if (dedupe_absorb(&k))
		return 0;
	e = event_reserve(ci, type, flags, rule_id);
	if (!e)
		return 0;
	event_task(e, ctx);
	dedupe_open(&k, e);
	/* Allowed events wait for auditd's next poll tick (CW_AUDIT_TICK_MS) unless the ring is
	 * filling up; denials wake it at once. */
	if (type == CW_EV_CONN_ALLOWED &&
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < CW_EVENTS_WAKE_BYTES)
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	else
		bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Apply a verdict at connect() or sendmsg(): deny in enforce mode is EPERM at once, no packet
 * leaves (a refused UDP connect is marked CW_EVF_NO_PACKET). A socket allowed by a DNS-learned
 * address is remembered with its destination in its local storage, so that TC keeps passing its
 * packets after the address expires; one allowed by a static rule needs no memory (the rule does
 * not expire), and storage per socket costs an allocation at connect and an RCU free at close
 * (a tenth of the connection rate in bench/datapath when every socket got one). For
 * unconnected UDP only the first datagram to a destination is reported. */
static __always_inline int sock_judge(struct bpf_sock_addr *ctx, const struct cw_settings *s,
				      const struct conn_info *ci)
{
	struct verdict v;
	__u8 flags = 0;
	bool fresh;

	verdict_ci(s, ci, &v);
	if (v.allow) {
		count(CW_CNT_ALLOWED);
		fresh = v.learned ? socks_remember(ctx->sk, ci, v.rule_id) : true;
		if (fresh || (ci->hook != CW_HOOK_SENDMSG4 && ci->hook != CW_HOOK_SENDMSG6))
			sock_event(ctx, ci, CW_EV_CONN_ALLOWED, 0, v.rule_id);
		return SYS_PROCEED;
	}
	if (ci->protocol == IPPROTO_UDP &&
	    (ci->hook == CW_HOOK_CONNECT4 || ci->hook == CW_HOOK_CONNECT6))
		flags = CW_EVF_NO_PACKET;
	if (settings_audit(s)) {
		count(CW_CNT_WOULD_DENY);
		sock_event(ctx, ci, CW_EV_CONN_BLOCKED, flags | CW_EVF_WOULD_DENY, v.rule_id);
		return SYS_PROCEED;
	}
	count(CW_CNT_BLOCKED);
	sock_event(ctx, ci, CW_EV_CONN_BLOCKED, flags, v.rule_id);
	return SYS_REJECT;
}

/* dnsd's own cgroup reaches its upstream; everything else it does goes through TC too. */
static __always_inline bool is_dnsd(const struct cw_settings *s)
{
	return s->dnsd_cgroup_id && bpf_get_current_cgroup_id() == s->dnsd_cgroup_id;
}

/* Linux sends a connect() to 0.0.0.0 or :: to the local host (ip_route_output_key_hash_rcu
 * routes a zero destination to loopback), so it is loopback too. */
static __always_inline bool is_local_v4(__be32 a)
{
	return a == 0 || is_loopback_v4(a);
}

static __always_inline bool is_dns(struct bpf_sock_addr *ctx)
{
	/* user_port holds the port in network order in its low 16 bits; a 4-byte load is the
	 * access every kernel accepts. */
	return (__be16)ctx->user_port == bpf_htons(CW_DNS_PORT) &&
	       (ctx->protocol == IPPROTO_UDP || ctx->protocol == IPPROTO_TCP);
}

/* Forced DNS path: a query to port 53 of any address goes to dnsd instead, which answers by
 * policy. The original destination is kept by socket cookie for recvmsg/getpeername. */
static __always_inline void dns_remember(struct bpf_sock_addr *ctx, const __be32 addr[4],
					 __u8 family)
{
	struct cw_dns_orig orig = {};
	__u64 cookie = bpf_get_socket_cookie(ctx);

	orig.addr[0] = addr[0];
	orig.addr[1] = addr[1];
	orig.addr[2] = addr[2];
	orig.addr[3] = addr[3];
	orig.port = bpf_htons(CW_DNS_PORT);
	orig.family = family;
	/* Should the update fail, the query still goes to dnsd; only the reply's source address
	 * is then not restored. */
	bpf_map_update_elem(&dns_orig, &cookie, &orig, BPF_ANY);
	count(CW_CNT_DNS_REDIRECTED);
}

/* A socket in another network namespace than the host's: a container's (Docker, podman, a CI
 * service container). The cgroup hooks run for it all the same (its processes live in cgroups
 * under the hooked one), but 127.0.0.1 there is its own loopback, where dnsd is not.
 * host_netns 0 (a kernel without SO_NETNS_COOKIE) treats every socket as the host's. */
static __always_inline bool in_other_netns(struct bpf_sock_addr *ctx, const struct cw_settings *s)
{
	return s->host_netns && bpf_get_netns_cookie(ctx) != s->host_netns;
}

/* DNS from a container to a non-loopback address (its resolv.conf, or a name server it picked
 * itself) goes to dnsd's listener on the host's container_dns address, which every bridge's
 * containers reach through their default route (a host-local address). Reported with the
 * resolver asked, so that the log names the container and what it tried. Without a
 * container_dns address the query is refused: it must never reach another resolver, in audit
 * mode either (DNS that bypasses dnsd is neither judged by name nor learned). Pure IPv6
 * destinations are refused too: container_dns is IPv4, and the kernel refuses a sendmsg6
 * rewritten to ::ffff:a.b.c.d (ENOTSUPP); resolvers then try their next (IPv4) name server.
 * Loopback destinations are left alone (the callers pass them): Docker's embedded resolver on
 * 127.0.0.11 answers container names, and what it forwards leaves through these same hooks.
 * SYS_REJECT, SYS_PROCEED, or CW_DNS_TO_CONTAINER_DNS: the caller rewrites the destination. */
#define CW_DNS_TO_CONTAINER_DNS 2
static __always_inline int dns_container(struct bpf_sock_addr *ctx, const struct cw_settings *s,
					 struct conn_info *ci)
{
	ci->protocol = (__u8)ctx->protocol;
	ci->dport = bpf_htons(CW_DNS_PORT);
	if (ci->family != 4 || !s->container_dns) {
		count(CW_CNT_BLOCKED);
		sock_event(ctx, ci, CW_EV_CONN_BLOCKED, CW_EVF_ENFORCED, 0);
		return SYS_REJECT;
	}
	if (ci->daddr[0] == s->container_dns)
		return SYS_PROCEED;
	dns_remember(ctx, ci->daddr, 4);
	sock_event(ctx, ci, CW_EV_CONN_ALLOWED, CW_EVF_DNS_REDIRECT, 0);
	return CW_DNS_TO_CONTAINER_DNS;
}

/* The destination port of a TCP or UDP socket; ICMP ("ping") sockets put their echo id there,
 * which is no port: rules match ICMP as port 0. */
static __always_inline __be16 sock_port(struct bpf_sock_addr *ctx, __u8 protocol)
{
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return 0;
	return (__be16)ctx->user_port;
}

/* dns_client_remember() (dnsclient.bpf.h) as a global function: its branches are verified once,
 * apart from the caller's (inline, they multiplied the states of sock_hook6's address checks).
 * Returns 0. */
__noinline int dns_client_note(struct bpf_sock_addr *ctx)
{
	dns_client_remember(ctx);
	return 0;
}

/* connect4 and sendmsg4: AF_INET sockets. */
static __always_inline int sock_hook4(struct bpf_sock_addr *ctx, __u8 hook)
{
	const struct cw_settings *s = settings_get();
	struct conn_info ci = {};
	__be32 daddr;
	int ret;

	/* The verifier needs the check; the one-slot array always has key 0. */
	if (!s)
		return SYS_REJECT;
	if (is_dnsd(s))
		return SYS_PROCEED;
	daddr = ctx->user_ip4;
	if (is_dns(ctx))
		dns_client_note(ctx);
	if (is_dns(ctx) && in_other_netns(ctx, s)) {
		if (is_local_v4(daddr))
			return SYS_PROCEED; /* the container's own loopback */
		ci.daddr[0] = daddr;
		ci.family = 4;
		ci.hook = hook;
		ret = dns_container(ctx, s, &ci);
		if (ret != CW_DNS_TO_CONTAINER_DNS)
			return ret;
		ctx->user_ip4 = s->container_dns;
		return SYS_PROCEED;
	}
	if (is_dns(ctx) && daddr != bpf_htonl(CW_DNSD_ADDR4)) {
		ci.daddr[0] = daddr;
		dns_remember(ctx, ci.daddr, 4);
		ctx->user_ip4 = bpf_htonl(CW_DNSD_ADDR4);
		return SYS_PROCEED;
	}
	if (is_local_v4(daddr))
		return SYS_PROCEED;
	ci.daddr[0] = daddr;
	ci.family = 4;
	ci.protocol = (__u8)ctx->protocol;
	ci.dport = sock_port(ctx, ci.protocol);
	ci.hook = hook;
	return sock_judge(ctx, s, &ci);
}

/* connect6 and sendmsg6: AF_INET6 sockets, which may also reach IPv4 through ::ffff:a.b.c.d. */
static __always_inline int sock_hook6(struct bpf_sock_addr *ctx, __u8 hook)
{
	const struct cw_settings *s = settings_get();
	struct conn_info ci = {};
	__u32 a0, a1, a2, a3;
	bool mapped;
	int ret;

	if (!s)
		return SYS_REJECT;
	if (is_dnsd(s))
		return SYS_PROCEED;
	/* One 4-byte load per word: the access the verifier allows on user_ip6. */
	a0 = ctx->user_ip6[0];
	a1 = ctx->user_ip6[1];
	a2 = ctx->user_ip6[2];
	a3 = ctx->user_ip6[3];
	mapped = !a0 && !a1 && a2 == bpf_htonl(0xffff);
	if (is_dns(ctx))
		dns_client_note(ctx);
	if (is_dns(ctx) && in_other_netns(ctx, s)) {
		if ((!a0 && !a1 && !a2 && (!a3 || a3 == bpf_htonl(1))) ||
		    (mapped && is_local_v4(a3)))
			return SYS_PROCEED; /* the container's own loopback */
		ci.hook = hook;
		if (mapped) {
			ci.daddr[0] = a3;
			ci.family = 4;
		} else {
			ci.daddr[0] = a0;
			ci.daddr[1] = a1;
			ci.daddr[2] = a2;
			ci.daddr[3] = a3;
			ci.family = 6;
		}
		ret = dns_container(ctx, s, &ci);
		if (ret != CW_DNS_TO_CONTAINER_DNS)
			return ret;
		ctx->user_ip6[3] = s->container_dns; /* stays ::ffff:a.b.c.d */
		return SYS_PROCEED;
	}
	if (is_dns(ctx) && !(mapped && a3 == bpf_htonl(CW_DNSD_ADDR4)) &&
	    !(!a0 && !a1 && !a2 && a3 == bpf_htonl(1))) {
		ci.daddr[0] = a0;
		ci.daddr[1] = a1;
		ci.daddr[2] = a2;
		ci.daddr[3] = a3;
		dns_remember(ctx, ci.daddr, 6);
		/* ::ffff:127.0.0.1 keeps an IPv4 destination IPv4; ::1 otherwise. */
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = mapped ? bpf_htonl(0xffff) : 0;
		ctx->user_ip6[3] = mapped ? bpf_htonl(CW_DNSD_ADDR4) : bpf_htonl(1);
		return SYS_PROCEED;
	}
	if (!a0 && !a1 && !a2 && (!a3 || a3 == bpf_htonl(1)))
		return SYS_PROCEED; /* :: and ::1 */
	ci.protocol = (__u8)ctx->protocol;
	ci.dport = sock_port(ctx, ci.protocol);
	ci.hook = hook;
	if (mapped) {
		/* ::ffff:a.b.c.d leaves as IPv4 to a.b.c.d: judge (and report) it as that. */
		if (is_local_v4(a3))
			return SYS_PROCEED;
		ci.daddr[0] = a3;
		ci.family = 4;
	} else {
		ci.daddr[0] = a0;
		ci.daddr[1] = a1;
		ci.daddr[2] = a2;
		ci.daddr[3] = a3;
		ci.family = 6;
	}
	return sock_judge(ctx, s, &ci);
}

SEC("cgroup/connect4")
int cw_connect4(struct bpf_sock_addr *ctx)
{
	return sock_hook4(ctx, CW_HOOK_CONNECT4);
}

SEC("cgroup/connect6")
int cw_connect6(struct bpf_sock_addr *ctx)
{
	return sock_hook6(ctx, CW_HOOK_CONNECT6);
}

/* Unconnected UDP (sendto/sendmsg with an address) is judged per destination like connect. */
SEC("cgroup/sendmsg4")
int cw_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_hook4(ctx, CW_HOOK_SENDMSG4);
}

SEC("cgroup/sendmsg6")
int cw_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_hook6(ctx, CW_HOOK_SENDMSG6);
}

/* A reply from dnsd to a redirected socket: show the client the address it queried. These
 * hooks may only rewrite, never refuse (the kernel requires 1). */
static __always_inline const struct cw_dns_orig *dns_orig_of(struct bpf_sock_addr *ctx, __u8 family)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	const struct cw_dns_orig *o = bpf_map_lookup_elem(&dns_orig, &cookie);

	return o && o->family == family ? o : NULL;
}

/* dnsd's addresses: 127.0.0.1, and container_dns for the containers' sockets. */
static __always_inline bool is_dnsd_addr4(__be32 a)
{
	const struct cw_settings *s;

	if (a == bpf_htonl(CW_DNSD_ADDR4))
		return true;
	s = settings_get();
	return s && s->container_dns && a == s->container_dns;
}

static __always_inline int restore4(struct bpf_sock_addr *ctx)
{
	const struct cw_dns_orig *o;

	if ((__be16)ctx->user_port != bpf_htons(CW_DNS_PORT) || !is_dnsd_addr4(ctx->user_ip4))
		return 1;
	o = dns_orig_of(ctx, 4);
	if (o)
		ctx->user_ip4 = o->addr[0];
	return 1;
}

static __always_inline int restore6(struct bpf_sock_addr *ctx)
{
	const struct cw_dns_orig *o;
	__u32 a0, a1, a2, a3;

	if ((__be16)ctx->user_port != bpf_htons(CW_DNS_PORT))
		return 1;
	a0 = ctx->user_ip6[0];
	a1 = ctx->user_ip6[1];
	a2 = ctx->user_ip6[2];
	a3 = ctx->user_ip6[3];
	if (a0 || a1 ||
	    !((!a2 && a3 == bpf_htonl(1)) || (a2 == bpf_htonl(0xffff) && is_dnsd_addr4(a3))))
		return 1;
	/* An AF_INET6 socket that sent to ::ffff:a.b.c.d unconnected went through sendmsg4 (the
	 * kernel hands v4-mapped datagrams to the IPv4 path), which kept an IPv4 original. */
	o = a2 ? dns_orig_of(ctx, 4) : NULL;
	if (o) {
		ctx->user_ip6[3] = o->addr[0];
		return 1;
	}
	o = dns_orig_of(ctx, 6);
	if (o) {
		ctx->user_ip6[0] = o->addr[0];
		ctx->user_ip6[1] = o->addr[1];
		ctx->user_ip6[2] = o->addr[2];
		ctx->user_ip6[3] = o->addr[3];
	}
	return 1;
}

SEC("cgroup/recvmsg4")
int cw_recvmsg4(struct bpf_sock_addr *ctx)
{
	return restore4(ctx);
}

SEC("cgroup/recvmsg6")
int cw_recvmsg6(struct bpf_sock_addr *ctx)
{
	return restore6(ctx);
}

SEC("cgroup/getpeername4")
int cw_getpeername4(struct bpf_sock_addr *ctx)
{
	return restore4(ctx);
}

SEC("cgroup/getpeername6")
int cw_getpeername6(struct bpf_sock_addr *ctx)
{
	return restore6(ctx);
}

#endif
