/* SPDX-License-Identifier: Apache-2.0 */
/* Map layouts shared by bpf/cargowall.bpf.c (reads) and the enforcer (writes). */
#ifndef CW_PROTO_MAPS_H
#define CW_PROTO_MAPS_H

#include <linux/types.h>

/* Pin directory and pinned object names: one place so that both sides agree. */
#define CW_BPFFS_DEFAULT "/sys/fs/bpf/cargowall"
#define CW_PIN_LPM_V4 "lpm_v4"
#define CW_PIN_LPM_V6 "lpm_v6"
#define CW_PIN_SOCKS "socks"
#define CW_PIN_DNS_ORIG "dns_orig"
#define CW_PIN_RULE_PORTS "rule_ports"
#define CW_PIN_SETTINGS "settings"
#define CW_PIN_COUNTERS "counters"
#define CW_PIN_EVENTS "events"
#define CW_PIN_STEPS "steps" /* tgid -> step ordinal; key 0 holds the last ordinal */
#define CW_PIN_LINK_FORK "link_fork"
#define CW_PIN_LINK_EXIT "link_exit"
#define CW_PIN_DNS_CLIENTS "dns_clients" /* client UDP port -> who (bpf/dnsclient.bpf.h) */
#define CW_PIN_DNS_IDENT "dns_ident"	 /* socket storage: who sent a DNS query */
#define CW_PIN_LINK_DNS_EGRESS "link_dns_egress"
#define CW_PIN_DEDUPE "dedupe" /* pinned so that its timers live on (bpf/dedupe.bpf.h) */
#define CW_PIN_LINK_CONNECT4 "link_connect4"
#define CW_PIN_LINK_CONNECT6 "link_connect6"
#define CW_PIN_LINK_SENDMSG4 "link_sendmsg4"
#define CW_PIN_LINK_SENDMSG6 "link_sendmsg6"
#define CW_PIN_LINK_RECVMSG4 "link_recvmsg4"
#define CW_PIN_LINK_RECVMSG6 "link_recvmsg6"
#define CW_PIN_LINK_GETPEERNAME4 "link_getpeername4"
#define CW_PIN_LINK_GETPEERNAME6 "link_getpeername6"
#define CW_PIN_LINK_SOCK_CREATE "link_sock_create"
#define CW_PIN_LINK_SETSOCKOPT "link_setsockopt"
#define CW_PIN_LINK_SKB_EGRESS "link_skb_egress"
#define CW_PIN_PROG_TC "prog_tc_egress"

/* TC filter identity on each uplink, so stop and a restarted enforcer find ours. */
#define CW_TC_HANDLE 0xc3a1
#define CW_TC_PRIORITY 0xc3a

enum cw_mode {
	CW_MODE_ENFORCE = 0,
	CW_MODE_AUDIT = 1,
};

enum cw_action {
	CW_ACTION_DENY = 0,
	CW_ACTION_ALLOW = 1,
};

enum cw_origin {
	CW_ORIGIN_STATIC = 0,  /* a CIDR rule of the policy */
	CW_ORIGIN_LEARNED = 1, /* an address resolved for an allowed hostname */
};

/* LPM trie key, IPv4. Written by the enforcer (host bits masked), read by BPF with
 * prefixlen 32. */
struct cw_lpm_v4_key {
	__u32 prefixlen;
	__be32 addr;
};
_Static_assert(sizeof(struct cw_lpm_v4_key) == 8, "cw_lpm_v4_key layout");

/* LPM trie key, IPv6: the same shape with a 16-byte address. */
struct cw_lpm_v6_key {
	__u32 prefixlen;
	__be32 addr[4];
};
_Static_assert(sizeof(struct cw_lpm_v6_key) == 20, "cw_lpm_v6_key layout");

/* One rule that may decide a destination: the rules of an LPM entry are tried in order and
 * the first whose port/protocol set matches decides (DESIGN.md §4 verdict order). */
struct cw_rule_ref {
	__u32 rule_id; /* 1-based index of the policy rule; 0 ends the chain */
	__u8 action;   /* enum cw_action */
	__u8 flags;    /* CW_REF_* */
	__u8 pad[2];
};
_Static_assert(sizeof(struct cw_rule_ref) == 8, "cw_rule_ref layout");

#define CW_REF_ANY_PORT 0x1 /* the rule has no port list: every port and protocol */
#define CW_REF_LEARNED 0x2  /* a hostname rule, valid only until the entry's deadline */

/* Rules per LPM entry: the CIDR rules covering the prefix (most specific first, deny first at
 * equal prefix) and, on a learned host route, the hostname rules that resolved to it. Deeper
 * nesting than this is refused at start. */
#define CW_CHAIN_MAX 16

/* LPM trie value. Written by the enforcer, read by BPF. expires_ns is a CLOCK_MONOTONIC deadline
 * (bpf_ktime_get_ns) after which the CW_REF_LEARNED rules of the entry admit nothing; 0 =
 * never. */
struct cw_lpm_val {
	__u64 expires_ns;
	__u8 origin;	/* enum cw_origin */
	__u8 prefixlen; /* of this entry's own key (a lookup returns the longest match's value) */
	__u8 pad[6];
	struct cw_rule_ref chain[CW_CHAIN_MAX];
};
_Static_assert(sizeof(struct cw_lpm_val) == 16 + 8 * CW_CHAIN_MAX, "cw_lpm_val layout");

/* Port/protocol sets of rules that have one: key present = allowed combination. ICMP and ICMPv6
 * use port 0. Written by the enforcer at start, read by BPF. */
struct cw_port_key {
	__u32 rule_id;
	__be16 port;
	__u8 protocol; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
	__u8 pad;
};
_Static_assert(sizeof(struct cw_port_key) == 8, "cw_port_key layout");

/* Single entry (key 0) of the settings array. Written by the enforcer at start, read by BPF. */
struct cw_settings {
	__u64 dnsd_cgroup_id; /* dnsd's own cgroup: its upstream queries pass */
	__u32 mode;	      /* enum cw_mode */
	__u32 default_action; /* enum cw_action */
	__be32 dns_upstream;  /* IPv4 address dnsd forwards to (network order) */
	__be16 dns_upstream_port;
	__u8 flags; /* CW_SETF_* */
	__u8 pad;
	/* Step attribution: the tgid whose children each start a workflow step (the runner's
	 * Runner.Worker); 0 = off. */
	__u32 step_parent;
	/* Containers (issue 7): a socket whose network namespace is not the host's (the one the
	 * enforcer runs in, by netns cookie) sends its DNS to container_dns:53, an IPv4 address of
	 * the host where dnsd also listens (docker0's gateway): 127.0.0.1 there is the container's
	 * own loopback. 0 = none: such DNS is refused (EPERM), it never reaches another resolver. */
	__be32 container_dns;
	__u64 host_netns; /* SO_NETNS_COOKIE of the enforcer's netns; 0 = unknown (all is host) */
};
_Static_assert(sizeof(struct cw_settings) == 40, "cw_settings layout");

#define CW_SETF_ALLOW_RAW 0x1 /* raw IPv4/IPv6 sockets may be created in the hooked cgroup */

/* What a socket was allowed to reach by a DNS-learned address, in socket-local storage (map
 * "socks", BPF_MAP_TYPE_SK_STORAGE): written at connect/sendmsg by the sock_addr hooks. TC keeps
 * passing later packets of that socket to that destination after the address expired:
 * connections opened before expiry keep working while new ones fail.
 * The storage dies with the socket. One destination per socket (unconnected UDP to several
 * destinations is judged again when it changes). */
struct cw_sock_val {
	__be32 daddr[4]; /* IPv4 in daddr[0], the rest zero */
	__be16 dport;
	__u8 family; /* 4 or 6; 0: nothing allowed yet */
	__u8 pad;
	__u32 rule_id;
};
_Static_assert(sizeof(struct cw_sock_val) == 24, "cw_sock_val layout");

/* Where a redirected DNS query was going (key: socket cookie). Written by connect/sendmsg when
 * they rewrite a port-53 destination to dnsd; read by recvmsg/getpeername, which give the
 * client back the address it asked, so replies look like they came from it. */
struct cw_dns_orig {
	__be32 addr[4]; /* IPv4 in addr[0] */
	__be16 port;
	__u8 family; /* 4 or 6 */
	__u8 pad[5];
};
_Static_assert(sizeof(struct cw_dns_orig) == 24, "cw_dns_orig layout");

/* Key of the dns_clients map: the source address (IPv4 in the first four bytes, the rest zero),
 * UDP port (host order) and IP version (4 or 6) of a DNS query, as dnsd reports its client; the
 * address keeps a container's client apart from a host client with the same port. The value is
 * a struct cw_conn_event (proto/events.h) with who sent it: pid, tid, ppid, uid, start_ns,
 * comm, exe, cgname, step, cookie, and ts_ns (when the query was judged). */
struct cw_dns_client_key {
	__u8 addr[16];
	__u16 port;
	__u8 family;
	__u8 pad;
};
_Static_assert(sizeof(struct cw_dns_client_key) == 20, "cw_dns_client_key layout");

/* Where dnsd listens (the launcher binds these): the sock_addr hooks redirect DNS there. */
#define CW_DNS_PORT 53
#define CW_DNSD_ADDR4 0x7f000001 /* 127.0.0.1, host order */

/* Per-CPU counters, index = enum cw_counter. Written by BPF, read by the enforcer/status. */
enum cw_counter {
	CW_CNT_ALLOWED = 0,
	CW_CNT_BLOCKED,
	CW_CNT_WOULD_DENY,
	CW_CNT_EVENTS_LOST,
	CW_CNT_DNS_REDIRECTED,
	/* Tamper events the enforcer noticed and undid (issue 6), by what was restored. Written
	 * by the enforcer from user space (CPU 0's slot), never by BPF; auditd turns increases
	 * into `tamper` records, status shows the sum. */
	CW_CNT_TAMPER_ATTACH,	/* a cgroup link or the TC program detached, replaced, preceded */
	CW_CNT_TAMPER_PIN,	/* a pin removed or pointed elsewhere */
	CW_CNT_TAMPER_SETTINGS, /* the settings map rewritten */
	/* What auditd has reported so far, written by auditd (CPU 0's slot), never by BPF: a
	 * restarted auditd starts from these, so losses counted before a kill and not yet
	 * written are reported by the next one (auditd/main.c). */
	CW_CNT_AUD_RING_REPORTED, /* CW_CNT_EVENTS_LOST total covered by events_lost records */
	CW_CNT_AUD_EVQ_REPORTED,  /* dnsd's evq dropped_full covered by events_lost records */
	CW_CNT_MAX,
};

#endif
