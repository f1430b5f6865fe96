/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Burst dedupe of connection events (issue 5): a process hammering a denied destination (a
 * retry loop, a UDP flood, a SYN retransmitted by a socket outside the cgroup) would fill the
 * ring and push out the records that matter; one hammering an allowed one would keep auditd
 * busy for nothing (allowed connections from the sock_addr hooks share this). The first denial of a kind is reported at once; identical
 * ones in the next CW_DEDUPE_WINDOW_NS are only counted, and a timer reports them as one record
 * carrying `count` at the end of the window. Nothing is dropped silently: a count that cannot be
 * reported is added to CW_CNT_EVENTS_LOST. Included by cargowall.bpf.c after verdict.bpf.h. */
#ifndef CW_BPF_DEDUPE_BPF_H
#define CW_BPF_DEDUPE_BPF_H

#include "verdict.bpf.h"

/* Set in `pending` by the timer when it reports: a denial that adds to a closed entry reports
 * itself instead (the entry is being deleted). */
#define CW_DEDUPE_CLOSED (1ULL << 63)
/* bpf_timer_init's clock (uapi time.h is not BPF-friendly). */
#define CW_CLOCK_MONOTONIC 1

/* "Identical": same process (or, without process context, same socket), destination, port,
 * protocol, hook and verdict kind. */
struct dedupe_key {
	__u64 who; /* tgid at the sock_addr/sock_create/setsockopt hooks, socket cookie at TC */
	__u32 daddr[4];
	__be16 dport;
	__u8 type;
	__u8 hook;
	__u8 family;
	__u8 protocol;
	__u8 flags;
	__u8 pad;
};

struct dedupe_val {
	struct bpf_timer timer;
	__u64 pending; /* denials counted but not reported yet; CW_DEDUPE_CLOSED when reporting */
	struct cw_conn_event first; /* the reported record: the template of the summary */
};

/* Never written: the zeroed value a new entry starts from (too large for the BPF stack). A byte
 * array, because a map holding a struct bpf_timer cannot be per-CPU. */
struct dedupe_zero {
	char bytes[sizeof(struct dedupe_val)];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dedupe_zero);
} dedupe_zero SEC(".maps");

/* A plain hash, not an LRU: an LRU would evict an entry with counts not reported yet. When it is
 * full, denials are reported one by one as before. Pinned by the enforcer: timers of a map
 * without user references are cancelled. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_DEDUPE_MAX);
	/* Allocated per entry: preallocating 8192 values of ~480 bytes cost start time and
	 * ~4.5 MiB of kernel memory for a map that is mostly empty. */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dedupe_key);
	__type(value, struct dedupe_val);
} dedupe SEC(".maps");

static __always_inline void dedupe_key_of(struct dedupe_key *k, __u64 who,
					  const struct conn_info *ci, __u8 type, __u8 flags)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->who = who;
	k->daddr[0] = ci->daddr[0];
	k->daddr[1] = ci->daddr[1];
	k->daddr[2] = ci->daddr[2];
	k->daddr[3] = ci->daddr[3];
	k->dport = ci->dport;
	k->type = type;
	k->hook = ci->hook;
	k->family = ci->family;
	k->protocol = ci->protocol;
	k->flags = flags;
}

/* Counted into an open window: true means the caller reports nothing. */
static __always_inline bool dedupe_absorb(const struct dedupe_key *k)
{
	struct dedupe_val *v = bpf_map_lookup_elem(&dedupe, k);

	if (!v)
		return false;
	/* One atomic add: either the timer's exchange sees it, or it sees CLOSED. */
	return !(__sync_fetch_and_add(&v->pending, 1) & CW_DEDUPE_CLOSED);
}

/* The end of a window: report what was counted as one record, then forget the entry so that
 * the next denial is reported at once again. */
static int dedupe_flush(void *map, struct dedupe_key *k, struct dedupe_val *v)
{
	__u64 n = __sync_lock_test_and_set(&v->pending, CW_DEDUPE_CLOSED) & ~CW_DEDUPE_CLOSED;
	struct cw_conn_event *e;

	if (n) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			__builtin_memcpy(e, &v->first, sizeof(*e));
			e->ts_ns = bpf_ktime_get_ns();
			e->count = n > 0xffffffffULL ? 0xffffffffU : (__u32)n;
			bpf_ringbuf_submit(e, 0);
		} else {
			count_add(CW_CNT_EVENTS_LOST, n);
		}
	}
	bpf_map_delete_elem(map, k);
	return 0;
}

/* After reporting `e` (not submitted yet): open a window for its kind. Any failure (map full,
 * timer refused) only means the next identical denial is reported on its own. */
static __always_inline void dedupe_open(const struct dedupe_key *k, const struct cw_conn_event *e)
{
	struct dedupe_val *v;
	struct dedupe_zero *z;
	__u32 zero = 0;

	/* The value is large for the BPF stack: insert zeroed, then fill in place. */
	z = bpf_map_lookup_elem(&dedupe_zero, &zero);
	if (!z || bpf_map_update_elem(&dedupe, k, z, BPF_NOEXIST))
		return;
	v = bpf_map_lookup_elem(&dedupe, k);
	if (!v)
		return;
	__builtin_memcpy(&v->first, e, sizeof(*e));
	if (bpf_timer_init(&v->timer, &dedupe, CW_CLOCK_MONOTONIC) ||
	    bpf_timer_set_callback(&v->timer, dedupe_flush) ||
	    bpf_timer_start(&v->timer, CW_DEDUPE_WINDOW_NS, 0))
		bpf_map_delete_elem(&dedupe, k);
}

#endif
