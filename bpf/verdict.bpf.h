/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps, the verdict and the event/counter helpers shared by every cargowall program.
 * Included by bpf/cargowall.bpf.c only (one object). */
#ifndef CW_BPF_VERDICT_BPF_H
#define CW_BPF_VERDICT_BPF_H

#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "proto/events.h"
#include "proto/maps.h"

/* Names of the sock_addr program results (cilium bpf_sock.c). */
#define SYS_REJECT 0 /* connect() fails with EPERM */
#define SYS_PROCEED 1

/* Static CIDR rules and learned host routes. Keys are written with host bits masked, looked up
 * with prefixlen 32. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CW_LPM_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cw_lpm_v4_key);
	__type(value, struct cw_lpm_val);
} lpm_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CW_LPM_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cw_lpm_v6_key);
	__type(value, struct cw_lpm_val);
} lpm_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cw_settings);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cw_sock_val);
} socks SEC(".maps");

/* Sized by the enforcer before load (the policy's port entries, at least 1). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct cw_port_key);
	__type(value, __u8);
} rule_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CW_DNS_ORIG_MAX);
	__type(key, __u64);
	__type(value, struct cw_dns_orig);
} dns_orig SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, CW_EVENTS_RING_BYTES);
} events SEC(".maps");

/* What one hook knows about the connection or packet it judges. */
struct conn_info {
	__u32 saddr[4]; /* network order; IPv4 in saddr[0] */
	__u32 daddr[4];
	__be16 sport;
	__be16 dport; /* 0 for ICMP and when unknown */
	__u8 family;
	__u8 protocol;
	__u8 hook;
	bool later_frag; /* an IPv4 fragment after the first: no L4 header */
};

struct verdict {
	__u32 rule_id; /* 1-based; 0 = default action */
	bool allow;
	bool learned; /* decided by a DNS-learned entry, which expires */
};

static __always_inline const struct cw_settings *settings_get(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&settings, &key);
}

/* Anything but an explicit audit is enforce: a garbled settings map never lets traffic through
 * that enforce mode would stop. */
static __always_inline bool settings_audit(const struct cw_settings *s)
{
	return s->mode == CW_MODE_AUDIT;
}

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	/* Per-CPU slot: a plain increment is enough. */
	if (c)
		*c += 1;
}

static __always_inline void count_add(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += n;
}

static __always_inline bool is_loopback_v4(__be32 a)
{
	return (a & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000);
}

static __always_inline void verdict_default(const struct cw_settings *s, struct verdict *v)
{
	v->allow = s->default_action == CW_ACTION_ALLOW;
	v->rule_id = 0;
	v->learned = false;
}

/* Does the rule admit this packet's port and protocol? ICMP goes by port 0; a packet without a
 * port (a later fragment, another protocol) matches only rules without a port list. */
static __always_inline bool ref_matches(const struct cw_rule_ref *r, const struct conn_info *ci)
{
	struct cw_port_key k = {};

	if (r->flags & CW_REF_ANY_PORT)
		return true;
	if (ci->later_frag)
		return false;
	k.rule_id = r->rule_id;
	k.protocol = ci->protocol;
	if (ci->protocol == IPPROTO_TCP || ci->protocol == IPPROTO_UDP)
		k.port = ci->dport;
	else if (ci->protocol != IPPROTO_ICMP && ci->protocol != IPPROTO_ICMPV6)
		return false;
	return bpf_map_lookup_elem(&rule_ports, &k) != NULL;
}

/* Where the walk of one LPM entry's chain stands (verdict_val). */
struct chain_walk {
	__u32 some_allow; /* the first rule seen that allows the address, 0 = none yet */
	__u32 expired;	  /* the entry is past its deadline: its learned rules admit nothing */
};

#define CHAIN_NEXT 0
#define CHAIN_DECIDED 1
#define CHAIN_END 2

/* One rule of the chain: CHAIN_DECIDED when it decides (*v filled in), CHAIN_END at the end of
 * the chain, else CHAIN_NEXT. A global function, verified once: inline, the verifier explored
 * every combination of its branches (port list, protocol, expiry, action) at each of the
 * CW_CHAIN_MAX steps, 15,000 of the 21,000 instructions it processed for cw_connect4. */
__noinline int chain_step(const struct cw_rule_ref *r, const struct conn_info *ci,
			  struct chain_walk *w, struct verdict *v)
{
	if (!r || !ci || !w || !v || !r->rule_id)
		return CHAIN_END;
	if (w->expired && (r->flags & CW_REF_LEARNED))
		return CHAIN_NEXT;
	if (ref_matches(r, ci)) {
		v->allow = r->action == CW_ACTION_ALLOW;
		v->rule_id = r->rule_id;
		v->learned = r->flags & CW_REF_LEARNED;
		return CHAIN_DECIDED;
	}
	if (r->action == CW_ACTION_ALLOW && !w->some_allow)
		w->some_allow = r->rule_id;
	return CHAIN_NEXT;
}

/* The verdict of one LPM entry: its rules in order (most specific first, deny first at equal
 * prefix; the enforcer builds the chain), the first whose ports match decides. A learned entry
 * past its deadline keeps only its CIDR rules: a dead enforcer cannot hold a DNS-learned address
 * open. A later fragment carries no port: it passes when the first matching rule without a port
 * list allows, or, failing one, when some rule allows the address at all (its first fragment
 * was judged with its port; the kernel reassembles nothing from later fragments alone). */
static __always_inline void verdict_val(const struct cw_settings *s, const struct cw_lpm_val *val,
					const struct conn_info *ci, struct verdict *v)
{
	struct chain_walk w = {};
	int i, rc;

	w.expired = val->expires_ns && val->expires_ns <= bpf_ktime_get_ns();
	for (i = 0; i < CW_CHAIN_MAX; i++) {
		rc = chain_step(&val->chain[i], ci, &w, v);
		if (rc == CHAIN_DECIDED)
			return;
		if (rc == CHAIN_END)
			break;
	}
	if (ci->later_frag && w.some_allow) {
		v->allow = true;
		v->rule_id = w.some_allow;
		v->learned = false;
		return;
	}
	verdict_default(s, v);
}

/* Longest-prefix match of the destination, then its rule chain. A global function, verified
 * once per program rather than at each of its call sites. Returns 0. */
__noinline int verdict_ci(const struct cw_settings *s, const struct conn_info *ci,
			  struct verdict *v)
{
	const struct cw_lpm_val *val;

	if (!s || !ci || !v)
		return 0;
	if (ci->family == 4) {
		struct cw_lpm_v4_key key = { .prefixlen = 32, .addr = ci->daddr[0] };

		val = bpf_map_lookup_elem(&lpm_v4, &key);
	} else {
		struct cw_lpm_v6_key key = { .prefixlen = 128 };

		key.addr[0] = ci->daddr[0];
		key.addr[1] = ci->daddr[1];
		key.addr[2] = ci->daddr[2];
		key.addr[3] = ci->daddr[3];
		val = bpf_map_lookup_elem(&lpm_v6, &key);
	}
	if (val)
		verdict_val(s, val, ci, v);
	else
		verdict_default(s, v);
	return 0;
}

static __always_inline bool sock_val_is(const struct cw_sock_val *v, const struct conn_info *ci)
{
	return v->family == ci->family && v->dport == ci->dport && v->daddr[0] == ci->daddr[0] &&
	       v->daddr[1] == ci->daddr[1] && v->daddr[2] == ci->daddr[2] &&
	       v->daddr[3] == ci->daddr[3];
}

/* Remember that the socket may reach this destination. True when it was not known yet (also
 * when no storage could be had: then the caller reports, and TC judges by address). */
static __always_inline bool socks_remember(struct bpf_sock *sk, const struct conn_info *ci,
					   __u32 rule_id)
{
	struct cw_sock_val *v = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);

	if (!v)
		return true;
	if (sock_val_is(v, ci))
		return false;
	v->daddr[0] = ci->daddr[0];
	v->daddr[1] = ci->daddr[1];
	v->daddr[2] = ci->daddr[2];
	v->daddr[3] = ci->daddr[3];
	v->dport = ci->dport;
	v->family = ci->family;
	v->rule_id = rule_id;
	return true;
}

static __always_inline bool socks_known(struct bpf_sock *sk, const struct conn_info *ci)
{
	struct cw_sock_val *v = bpf_sk_storage_get(&socks, sk, 0, 0);

	return v && sock_val_is(v, ci);
}

/* A reserved record, zeroed and stamped, or NULL (counted as lost: never silent). */
static __always_inline struct cw_conn_event *event_reserve(const struct conn_info *ci, __u8 type,
							   __u8 flags, __u32 rule_id)
{
	struct cw_conn_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CW_CNT_EVENTS_LOST);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->count = 1;
	e->rule_id = rule_id;
	__builtin_memcpy(e->saddr, ci->saddr, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, ci->daddr, sizeof(e->daddr));
	e->dport = ci->dport;
	e->type = type;
	e->hook = ci->hook;
	e->family = ci->family;
	e->protocol = ci->protocol;
	e->flags = flags;
	return e;
}

#endif
