/* SPDX-License-Identifier: Apache-2.0 */
/* Records of the BPF event ring buffer: written by bpf/cargowall.bpf.c, read by auditd. */
#ifndef CW_PROTO_EVENTS_H
#define CW_PROTO_EVENTS_H

#include <linux/types.h>

#include "limits.h"

enum cw_event_type {
	CW_EV_CONN_ALLOWED = 1,
	CW_EV_CONN_BLOCKED = 2,
	CW_EV_PROTOCOL_BLOCKED = 3, /* a raw socket, or a socket option that skips TC */
};

/* Where the verdict was taken. */
enum cw_hook {
	CW_HOOK_CONNECT4 = 1,
	CW_HOOK_CONNECT6 = 2,
	CW_HOOK_TC_EGRESS = 3,
	CW_HOOK_SENDMSG4 = 4,
	CW_HOOK_SENDMSG6 = 5,
	CW_HOOK_SOCK_CREATE = 6, /* protocol = the socket's protocol, dport = its type */
	CW_HOOK_SETSOCKOPT = 7,	 /* protocol = 0, dport = the option level, saddr[0] = optname */
	CW_HOOK_CGROUP_SKB = 8,	 /* scoped mode: the hooked cgroup's egress packets */
};

#define CW_EVF_WOULD_DENY 0x1 /* audit mode: let through, enforce mode would deny */
/* A UDP connect() refused: connect on UDP sends nothing, and glibc's getaddrinfo connects a UDP
 * socket to every answer of a name only to sort them (RFC 6724). Refused all the same (a denied
 * UDP destination must fail on every interface, not only the uplinks TC watches), and marked so
 * that summaries do not list allowed names' other addresses as blocked traffic. */
#define CW_EVF_NO_PACKET 0x2

/* One connection verdict. Addresses are in network order; an IPv4 address sits in the first
 * four bytes. pid/tid/uid/comm are 0/empty when the hook has no process context (TC). */
struct cw_conn_event {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cgroup_id;
	__u64 cookie; /* socket cookie */
	__u32 pid;    /* tgid */
	__u32 tid;
	__u32 uid;
	__u32 rule_id; /* matched rule, 1-based; 0 = default action */
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 dport;
	__u8 type;     /* enum cw_event_type */
	__u8 hook;     /* enum cw_hook */
	__u8 family;   /* 4 or 6 */
	__u8 protocol; /* IPPROTO_* */
	__u8 flags;    /* CW_EVF_* */
	__u8 pad;
	char comm[CW_COMM_LEN];
};
_Static_assert(sizeof(struct cw_conn_event) == 96, "cw_conn_event layout");

#endif
