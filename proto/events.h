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
	CW_EV_STEP_BOUNDARY = 4,    /* a child of the step parent (Runner.Worker) started a step */
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

/* Where a process's executable path is captured in the kernel: /proc/PID/exe needs ptrace
 * access (another uid, or a non-dumpable process), which auditd does not have. The path is
 * walked up from the executable's dentry across mounts, leaf first, one component per slot;
 * CW_EVF_EXE_TRUNC says a component was cut or the walk stopped before the root. */
#define CW_EXE_PARTS 8
#define CW_EXE_PART_LEN 32
/* The leaf name of the task's cgroup v2 directory (docker-<id>.scope, <id>, ...): enough to
 * tell a container id after the process is gone. Longer names are cut. */
#define CW_CGNAME_LEN 80

#define CW_EVF_EXE_TRUNC 0x4
/* A DNS query from a container (a socket in another network namespace than the host's) that the
 * sock_addr hooks sent to dnsd instead: daddr is the resolver it asked. Reported (type
 * CW_EV_CONN_ALLOWED) so that the query's container and process are in the log; dnsd's own
 * record of the name knows only the client's address. */
#define CW_EVF_DNS_REDIRECT 0x8
/* Refused in audit mode too (blocked, not would-deny): DNS from a container when there is no
 * container-DNS address, which must reach no resolver but dnsd in either mode. */
#define CW_EVF_ENFORCED 0x10

/* One connection verdict. Addresses are in network order; an IPv4 address sits in the first
 * four bytes. pid/tid/ppid/uid/start_ns/comm/exe are 0/empty when the hook has no process
 * context (TC, cgroup_skb); cgroup_id and cgname are then those of the socket if there is one.
 * A record may stand for several identical denials in a burst: `count` of them (>= 1), the
 * first at ts_ns. */
struct cw_conn_event {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cgroup_id;
	__u64 cookie;	/* socket cookie */
	__u64 start_ns; /* the thread group leader's start_boottime (ns): with pid, who it was */
	__u32 pid;	/* tgid */
	__u32 tid;
	__u32 ppid; /* real parent's tgid at the hook */
	__u32 uid;
	__u32 rule_id; /* matched rule, 1-based; 0 = default action */
	__u32 count;   /* identical events this record stands for */
	__u32 step;    /* workflow step ordinal of the process (bpf/steps.bpf.h); 0 = untagged */
	__u32 pad;
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 dport;
	__u8 type;	/* enum cw_event_type */
	__u8 hook;	/* enum cw_hook */
	__u8 family;	/* 4 or 6 */
	__u8 protocol;	/* IPPROTO_* */
	__u8 flags;	/* CW_EVF_* */
	__u8 exe_parts; /* slots of exe[] filled */
	char comm[CW_COMM_LEN];
	char cgname[CW_CGNAME_LEN];
	char exe[CW_EXE_PARTS][CW_EXE_PART_LEN]; /* leaf first: "curl", "bin", "usr" */
};
_Static_assert(sizeof(struct cw_conn_event) == 456, "cw_conn_event layout");

#endif
