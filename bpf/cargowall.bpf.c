// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cargowall's kernel side (DESIGN.md §4): cgroup connect4/connect6 give EPERM at connect() time,
 * TC egress on each uplink drops what slipped past them (sockets outside the cgroup, UDP
 * sendmsg, raw packets). Maps and layouts: proto/maps.h, proto/events.h; loader: enforcer/. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "verdict.bpf.h"

/* IPv4 fragment bits of iphdr.frag_off (include/net/ip.h is not UAPI). */
#define CW_IP_OFFSET 0x1fff

/* Offset bits of the IPv6 fragment header's frag_off (the low 3 bits are flags). */
#define CW_IP6_OFFSET 0xfff8
/* IPv6 extension headers walked to find the upper-layer header (RFC 8200 recommends an order
 * with at most one of each, so six covers every sane packet). */
#define CW_IPV6_EXT_MAX 6

/* ICMPv6 neighbour discovery (RFC 4861): router solicitation .. redirect. */
#define CW_ND_FIRST 133
#define CW_ND_LAST 137
/* DHCPv4 client and server ports: lease renewals keep the runner's address. */
#define CW_DHCP_CLIENT_PORT 68
#define CW_DHCP_SERVER_PORT 67

#include "sock_addr.bpf.h"

/* ---- raw sockets and options that skip TC -------------------------------------------------- */

/* Socket families and options (UAPI values; the headers that name them are not BPF-friendly). */
#define CW_AF_INET 2
#define CW_AF_INET6 10
#define CW_SOCK_RAW 3
#define CW_SOL_PACKET 263
#define CW_PACKET_QDISC_BYPASS 20
#define CW_SOL_XDP 283

static __always_inline int protocol_refuse(const struct cw_settings *s, struct conn_info *ci)
{
	bool audit = settings_audit(s);
	__u8 flags = audit ? CW_EVF_WOULD_DENY : 0;
	struct cw_conn_event *e;
	struct dedupe_key k;

	count(audit ? CW_CNT_WOULD_DENY : CW_CNT_BLOCKED);
	dedupe_key_of(&k, bpf_get_current_pid_tgid() >> 32, ci, CW_EV_PROTOCOL_BLOCKED, flags);
	if (dedupe_absorb(&k))
		goto out;
	e = event_reserve(ci, CW_EV_PROTOCOL_BLOCKED, flags, 0);
	if (e) {
		task_identity(e);
		dedupe_open(&k, e);
		bpf_ringbuf_submit(e, 0);
	}
out:
	return audit ? SYS_PROCEED : SYS_REJECT;
}

/* A raw IPv4/IPv6 socket builds its own headers (any protocol, spoofed ports): refused in the
 * hooked cgroup unless the operator allowed raw sockets. AF_PACKET never reaches this hook. */
SEC("cgroup/sock_create")
int cw_sock_create(struct bpf_sock *sk)
{
	const struct cw_settings *s = settings_get();
	struct conn_info ci = { .hook = CW_HOOK_SOCK_CREATE };

	if (!s)
		return SYS_REJECT;
	if (sk->type != CW_SOCK_RAW || (sk->family != CW_AF_INET && sk->family != CW_AF_INET6) ||
	    (s->flags & CW_SETF_ALLOW_RAW))
		return SYS_PROCEED;
	ci.family = sk->family == CW_AF_INET6 ? 6 : 4;
	ci.protocol = (__u8)sk->protocol;
	ci.dport = bpf_htons((__u16)sk->type);
	return protocol_refuse(s, &ci);
}

/* PACKET_QDISC_BYPASS sends AF_PACKET frames straight to the driver, past TC egress; AF_XDP
 * sockets (SOL_XDP) do the same. Without them, packet-socket frames go through TC and are judged
 * like the rest. */
SEC("cgroup/setsockopt")
int cw_setsockopt(struct bpf_sockopt *ctx)
{
	const struct cw_settings *s = settings_get();
	struct conn_info ci = { .hook = CW_HOOK_SETSOCKOPT };

	if (!s)
		return SYS_REJECT;
	if (!(ctx->level == CW_SOL_PACKET && ctx->optname == CW_PACKET_QDISC_BYPASS) &&
	    ctx->level != CW_SOL_XDP)
		return SYS_PROCEED;
	ci.dport = bpf_htons((__u16)ctx->level);
	ci.saddr[0] = (__u32)ctx->optname;
	return protocol_refuse(s, &ci);
}

/* ---- TC egress and scoped cgroup egress: one packet verdict ------------------------------ */

#define PKT_PASS true
#define PKT_DROP false

/* A global function: verified once per program rather than at each of its call sites (two per
 * tc_finish, which is inlined five times). Returns 0. */
__noinline int tc_event(struct __sk_buff *skb, const struct conn_info *ci, __u8 flags,
			__u32 rule_id)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct cw_conn_event *e;
	struct dedupe_key k;

	if (!ci)
		return 0;
	dedupe_key_of(&k, cookie, ci, CW_EV_CONN_BLOCKED, flags);
	if (dedupe_absorb(&k))
		return 0;
	e = event_reserve(ci, CW_EV_CONN_BLOCKED, flags, rule_id);
	if (!e)
		return 0;
	/* No process context here: pid, uid and comm stay 0 (auditd joins the socket's identity
	 * by cookie). */
	e->cgroup_id = bpf_skb_cgroup_id(skb);
	e->cookie = cookie;
	dedupe_open(&k, e);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Allowed packets are only counted: TC sees every packet, connect() already reported the
 * connection. */
static __always_inline bool tc_finish(struct __sk_buff *skb, const struct cw_settings *s,
				      const struct conn_info *ci, const struct verdict *v)
{
	if (v->allow) {
		count(CW_CNT_ALLOWED);
		return PKT_PASS;
	}
	if (settings_audit(s)) {
		count(CW_CNT_WOULD_DENY);
		tc_event(skb, ci, CW_EVF_WOULD_DENY, v->rule_id);
		return PKT_PASS;
	}
	count(CW_CNT_BLOCKED);
	tc_event(skb, ci, 0, v->rule_id);
	return PKT_DROP;
}

/* TCP and UDP both start with source and destination port. bpf_skb_load_bytes rather than
 * direct packet access: it reads past the linear part too, and keeps the variable IPv4 header
 * length away from the verifier's packet-range tracking. */
static __always_inline void tc_ports(struct __sk_buff *skb, __u32 off, struct conn_info *ci)
{
	__be16 ports[2];

	if (ci->protocol != IPPROTO_TCP && ci->protocol != IPPROTO_UDP)
		return;
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) == 0) {
		ci->sport = ports[0];
		ci->dport = ports[1];
	}
}

/* dnsd forwarding to its upstream: only its own sockets (cgroup id of the sending socket, which
 * no other process can forge), only to the configured address and port. */
static __always_inline bool tc_is_dnsd_upstream(struct __sk_buff *skb, const struct cw_settings *s,
						const struct conn_info *ci, bool first_frag)
{
	if (!s->dnsd_cgroup_id || !s->dns_upstream || ci->daddr[0] != s->dns_upstream)
		return false;
	if (ci->protocol != IPPROTO_UDP && ci->protocol != IPPROTO_TCP)
		return false;
	/* A later fragment has no port: the socket and address are what identify it. */
	if (first_frag && ci->dport != s->dns_upstream_port)
		return false;
	return bpf_skb_cgroup_id(skb) == s->dnsd_cgroup_id;
}

/* Traffic that never leaves the link and keeps it working: link-local multicast 224.0.0.0/24
 * (IGMP, routers never forward it) and DHCP from the client port to the server port (binding
 * port 68 needs privilege). Without them default deny cuts a self-hosted runner off its
 * network when its lease runs out. */
static __always_inline bool tc_is_link_local_v4(const struct conn_info *ci, bool first_frag)
{
	if ((bpf_ntohl(ci->daddr[0]) & 0xffffff00) == 0xe0000000)
		return true;
	return first_frag && ci->protocol == IPPROTO_UDP &&
	       ci->sport == bpf_htons(CW_DHCP_CLIENT_PORT) &&
	       ci->dport == bpf_htons(CW_DHCP_SERVER_PORT);
}

/* DNS leaves only through dnsd (its upstream traffic passed above): any other packet to port
 * 53 is dropped whatever the policy says, or the forced DNS path would have a side door. Then a
 * socket that connect/sendmsg allowed to this destination by a learned address passes with one
 * socket-storage lookup, also after the address expired; the rest is judged by address (the
 * LPM lookup costs tens of ns even with 100,000 entries, BPF_PROG_TEST_RUN). */
static __always_inline bool tc_judge(struct __sk_buff *skb, const struct cw_settings *s,
				     const struct conn_info *ci, bool first_frag)
{
	struct bpf_sock *sk = skb->sk;
	struct verdict v;

	if (first_frag && (ci->protocol == IPPROTO_UDP || ci->protocol == IPPROTO_TCP) &&
	    ci->dport == bpf_htons(CW_DNS_PORT)) {
		v.allow = false;
		v.rule_id = 0;
		v.learned = false;
		return tc_finish(skb, s, ci, &v);
	}
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk && socks_known(sk, ci)) {
		count(CW_CNT_ALLOWED);
		return PKT_PASS;
	}
	verdict_ci(s, ci, &v);
	return tc_finish(skb, s, ci, &v);
}

static __always_inline bool pkt_ipv4(struct __sk_buff *skb, const struct cw_settings *s, __u32 l3,
				     __u8 hook)
{
	struct conn_info ci = { .family = 4, .hook = hook };
	struct iphdr ip;
	struct verdict v;
	bool first_frag;

	if (bpf_skb_load_bytes(skb, l3, &ip, sizeof(ip)) < 0 || ip.ihl < 5) {
		/* Unparseable: nothing to match, the default action decides. */
		verdict_default(s, &v);
		return tc_finish(skb, s, &ci, &v);
	}
	ci.saddr[0] = ip.saddr;
	ci.daddr[0] = ip.daddr;
	ci.protocol = ip.protocol;
	/* The first fragment (offset 0) carries the L4 header; later ones have no ports. */
	first_frag = !(ip.frag_off & bpf_htons(CW_IP_OFFSET));
	ci.later_frag = !first_frag;
	if (first_frag)
		tc_ports(skb, l3 + ip.ihl * 4, &ci);
	if (is_loopback_v4(ip.daddr) || tc_is_link_local_v4(&ci, first_frag) ||
	    tc_is_dnsd_upstream(skb, s, &ci, first_frag)) {
		count(CW_CNT_ALLOWED);
		return PKT_PASS;
	}
	return tc_judge(skb, s, &ci, first_frag);
}

/* Walk the IPv6 extension headers (a bounded number) to the upper-layer header. A fragment
 * header with a non-zero offset marks a later fragment: no L4 header follows. Past the bound the
 * packet is judged without ports, so only rules without a port list can admit it. */
static __always_inline void tc_ipv6_ext(struct __sk_buff *skb, struct conn_info *ci, __u32 *off)
{
	struct {
		__u8 nexthdr;
		__u8 len;
		__be16 frag_off; /* fragment header only */
	} h;
	int i;

	for (i = 0; i < CW_IPV6_EXT_MAX; i++) {
		__u8 nh = ci->protocol;

		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS &&
		    nh != IPPROTO_FRAGMENT && nh != IPPROTO_AH)
			return;
		if (bpf_skb_load_bytes(skb, *off, &h, sizeof(h)) < 0)
			return;
		ci->protocol = h.nexthdr;
		if (nh == IPPROTO_FRAGMENT) {
			*off += 8;
			if (h.frag_off & bpf_htons(CW_IP6_OFFSET)) {
				ci->later_frag = true;
				return;
			}
		} else if (nh == IPPROTO_AH) {
			*off += ((__u32)h.len + 2) * 4;
		} else {
			*off += ((__u32)h.len + 1) * 8;
		}
	}
}

static __always_inline bool pkt_ipv6(struct __sk_buff *skb, const struct cw_settings *s, __u32 l3,
				     __u8 hook)
{
	struct conn_info ci = { .family = 6, .hook = hook };
	struct ipv6hdr ip6;
	struct verdict v;
	__u32 off;
	__u8 type;

	if (bpf_skb_load_bytes(skb, l3, &ip6, sizeof(ip6)) < 0) {
		verdict_default(s, &v);
		return tc_finish(skb, s, &ci, &v);
	}
	/* Link-local multicast (ff02::/16: neighbour solicitation, MLD reports, DHCPv6) never
	 * leaves the link. */
	if (ip6.daddr.in6_u.u6_addr8[0] == 0xff && (ip6.daddr.in6_u.u6_addr8[1] & 0x0f) == 0x02) {
		count(CW_CNT_ALLOWED);
		return PKT_PASS;
	}
	__builtin_memcpy(ci.saddr, &ip6.saddr, sizeof(ci.saddr));
	__builtin_memcpy(ci.daddr, &ip6.daddr, sizeof(ci.daddr));
	ci.protocol = ip6.nexthdr;
	off = l3 + sizeof(ip6);
	tc_ipv6_ext(skb, &ci, &off);
	/* Neighbour discovery keeps the link usable (to unicast neighbours too). */
	if (ci.protocol == IPPROTO_ICMPV6 && !ci.later_frag &&
	    bpf_skb_load_bytes(skb, off, &type, sizeof(type)) == 0 && type >= CW_ND_FIRST &&
	    type <= CW_ND_LAST) {
		count(CW_CNT_ALLOWED);
		return PKT_PASS;
	}
	if (!ci.later_frag)
		tc_ports(skb, off, &ci);
	return tc_judge(skb, s, &ci, !ci.later_frag);
}

/* Attached only to Ethernet uplinks (the enforcer checks the device type), so the frame starts
 * with an Ethernet header. ARP and other non-IP frames pass. A packet that passes goes on to
 * the programs after ours (TC_ACT_UNSPEC: TCX_NEXT under TCX, the next filter under clsact), so
 * that being first on the device never switches off another tool's egress programs; only a
 * drop ends the chain. */
#define CW_TC_PASS TC_ACT_UNSPEC
SEC("tc")
int cw_tc_egress(struct __sk_buff *skb)
{
	const struct cw_settings *s = settings_get();
	struct ethhdr eth;

	if (!s)
		return TC_ACT_SHOT;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return CW_TC_PASS; /* shorter than an Ethernet header: carries no IP */
	if (eth.h_proto == bpf_htons(ETH_P_IP))
		return pkt_ipv4(skb, s, ETH_HLEN, CW_HOOK_TC_EGRESS) ? CW_TC_PASS : TC_ACT_SHOT;
	if (eth.h_proto == bpf_htons(ETH_P_IPV6))
		return pkt_ipv6(skb, s, ETH_HLEN, CW_HOOK_TC_EGRESS) ? CW_TC_PASS : TC_ACT_SHOT;
	return CW_TC_PASS;
}

/* Scoped mode (cargowall run): the packets of the hooked cgroup only, starting at the IP
 * header; nothing on the host's interfaces is touched. 1 passes, 0 drops. */
SEC("cgroup_skb/egress")
int cw_skb_egress(struct __sk_buff *skb)
{
	const struct cw_settings *s = settings_get();

	if (!s)
		return 0;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return pkt_ipv4(skb, s, 0, CW_HOOK_CGROUP_SKB) ? 1 : 0;
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return pkt_ipv6(skb, s, 0, CW_HOOK_CGROUP_SKB) ? 1 : 0;
	return 1;
}

/* ---- step attribution (bpf/steps.bpf.h) ---------------------------------------------------- */

/* Runs in the parent's context. Threads share their process's tgid, hence its tag already. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(cw_fork, struct task_struct *parent, struct task_struct *child)
{
	const struct cw_settings *s = settings_get();
	__u32 ptgid, ctgid, step;
	struct cw_conn_event *e;

	if (!s || !s->step_parent)
		return 0;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	if (ctgid == ptgid)
		return 0;
	if (ptgid != s->step_parent) {
		step = step_of(ptgid);
		if (step)
			bpf_map_update_elem(&steps, &ctgid, &step, BPF_ANY);
		return 0;
	}
	step = step_next();
	if (!step || bpf_map_update_elem(&steps, &ctgid, &step, BPF_ANY))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CW_CNT_EVENTS_LOST);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->count = 1;
	e->type = CW_EV_STEP_BOUNDARY;
	e->step = step;
	e->pid = ctgid;
	e->tid = BPF_CORE_READ(child, pid);
	e->ppid = ptgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	BPF_CORE_READ_STR_INTO(&e->comm, parent, comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* A process's last thread is gone: free its slot. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(cw_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (BPF_CORE_READ(task, pid) == (__s32)tgid && tgid)
		bpf_map_delete_elem(&steps, &tgid);
	return 0;
}

/* The kernel admits the helpers that read the current task (bpf_get_current_task,
 * bpf_probe_read_kernel: who is connecting, task.bpf.h) only to GPL-compatible programs; the
 * BPF sources are therefore dual-licensed, as cilium's and libbpf-bootstrap's are. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
