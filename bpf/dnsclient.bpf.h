/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Who asked dnsd (issue 5: DNS queries attributed to the client process). dnsd sees only the
 * client's address and UDP port; the process is known where the forced DNS path sees the
 * client's socket (connect/sendmsg), but a connected UDP socket has no port yet there (the
 * kernel binds it right after the hook). So:
 *  1. connect4/6 and sendmsg4/6 keep the sender's identity in the socket's local storage;
 *  2. a cgroup_skb/egress program on the hooked cgroup sees the query datagram leave that
 *     socket, now with its source port, and copies the identity into dns_clients under that
 *     port and family, which dnsd reports with every DNS event; auditd joins them.
 * TCP queries are not attributed. The key holds the client's address and port as dnsd sees them
 * (a container's own address keeps it apart from a host client with the same port).
 * Included by sock_addr.bpf.h. */
#ifndef CW_BPF_DNSCLIENT_BPF_H
#define CW_BPF_DNSCLIENT_BPF_H

#include <linux/if_ether.h>

#include "task.bpf.h"
#include "verdict.bpf.h"

/* The identity of a socket that sent a DNS query, in its local storage; exe_file is the
 * executable it was read from (see dns_client_remember). */
struct dns_ident_val {
	struct cw_conn_event e;
	__u64 exe_file;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dns_ident_val);
} dns_ident SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CW_DNS_CLIENTS_MAX);
	__type(key, struct cw_dns_client_key);
	__type(value, struct cw_conn_event);
} dns_clients SEC(".maps");

/* A DNS query is about to leave this socket for dnsd: remember who sends it. A socket sends
 * query after query from the same process (a resolver's socket, a load generator): when the
 * storage already holds this process (tgid and start time), running the same executable in the
 * same cgroup, only what may change between two queries is read again (thread, uid, comm,
 * parent, step) and the walk of the executable's path (task_identity, the costly part) is
 * skipped. An exec, a move to another cgroup or another process on the socket reads it all. */
static __always_inline void dns_client_remember(struct bpf_sock_addr *ctx)
{
	struct task_struct *t;
	struct dns_ident_val *v;
	__u64 pid_tgid, exe;

	if (ctx->protocol != IPPROTO_UDP)
		return;
	v = bpf_sk_storage_get(&dns_ident, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!v)
		return;
	t = (struct task_struct *)bpf_get_current_task();
	pid_tgid = bpf_get_current_pid_tgid();
	exe = (__u64)BPF_CORE_READ(t, mm, exe_file);
	if (exe && v->exe_file == exe && v->e.pid == pid_tgid >> 32 &&
	    v->e.start_ns == BPF_CORE_READ(t, group_leader, start_boottime) &&
	    v->e.cgroup_id == bpf_get_current_cgroup_id()) {
		v->e.tid = (__u32)pid_tgid;
		v->e.uid = (__u32)bpf_get_current_uid_gid();
		bpf_get_current_comm(v->e.comm, sizeof(v->e.comm));
		v->e.ppid = BPF_CORE_READ(t, real_parent, tgid);
		v->e.step = step_of(v->e.pid);
	} else {
		__builtin_memset(&v->e, 0, sizeof(v->e));
		task_identity(&v->e);
		v->exe_file = exe;
	}
	v->e.cookie = bpf_get_socket_cookie(ctx);
	v->e.ts_ns = bpf_ktime_get_ns();
}

/* Every packet the hooked cgroup sends (cgroup_skb/egress, before any interface): a UDP datagram
 * to dnsd's port from a socket that remembered who sent it files that identity under its
 * source port. By now the socket has its port; the datagram has not reached dnsd yet. Never
 * drops (1). It runs for every packet of the cgroup, so what is not a query leaves first and
 * cheaply: a socket connected to another port than 53 (every TCP connection among them), with
 * no helper call; then anything but a UDP socket that remembered an identity. */
SEC("cgroup_skb/egress")
int cw_dns_egress(struct __sk_buff *skb)
{
	struct cw_dns_client_key k = {};
	struct bpf_sock *sk = skb->sk;
	struct dns_ident_val *v;
	__be16 ports[2];
	__u32 off;
	__u8 proto;

	if (!sk || (sk->dst_port && sk->dst_port != bpf_htons(CW_DNS_PORT)))
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->protocol != IPPROTO_UDP)
		return 1;
	v = bpf_sk_storage_get(&dns_ident, sk, 0, 0);
	if (!v)
		return 1;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u8 vihl;

		if (bpf_skb_load_bytes(skb, 0, &vihl, 1) || bpf_skb_load_bytes(skb, 9, &proto, 1) ||
		    bpf_skb_load_bytes(skb, 12, k.addr, 4))
			return 1;
		off = (vihl & 0x0f) * 4;
		k.family = 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 6, &proto, 1) || bpf_skb_load_bytes(skb, 8, k.addr, 16))
			return 1;
		off = 40; /* a query carries no extension header */
		k.family = 6;
	} else {
		return 1;
	}
	if (proto != IPPROTO_UDP || bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) ||
	    ports[1] != bpf_htons(CW_DNS_PORT))
		return 1;
	k.port = bpf_ntohs(ports[0]);
	bpf_map_update_elem(&dns_clients, &k, &v->e, BPF_ANY);
	return 1;
}

#endif
