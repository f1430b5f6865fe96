/* SPDX-License-Identifier: Apache-2.0 */
/* Shared-memory queue between two processes (DESIGN.md §3).
 *
 * One memfd created by the launcher: a header page, then `capacity` slots of `slot_size` bytes.
 * Single producer, single consumer; `head` and `tail` are free-running 64-bit counters, slot =
 * counter % capacity. Only the producer writes `head`, `dropped_full` and `ack_want`; only the
 * consumer writes `tail`, `applied_seq` and `ack_futex`. Each side trusts the geometry it was
 * configured with, never what the header says after attach, and the consumer copies each slot
 * out before checking it: the producer may be compromised.
 *
 * Two queues exist: dnsq (dnsd -> enforcer, struct cw_dnsq_entry) and evq (dnsd -> auditd,
 * struct cw_dns_event).
 */
#ifndef CW_PROTO_SHMQ_H
#define CW_PROTO_SHMQ_H

#include <linux/types.h>

#include "limits.h"

#define CW_SHMQ_MAGIC 0x5157574341524743ULL /* "CGRACWWQ" */
#define CW_SHMQ_VERSION 1
#define CW_SHMQ_HDR_SIZE 4096

/* Slot counts: powers of two. Every slot is touched as the counters go round, so a queue's
 * whole size stays resident in both processes that map it (issue 6: the three processes
 * together at most 15 MiB). dnsq: 2048 x 288 bytes (576 KiB); dnsd has at most
 * DNSD_INFLIGHT_MAX (1024) answers in flight and waits for each one's acknowledgement, and
 * an answer has a few addresses (past a full queue: SERVFAIL, counted). evq: 2048 x 832
 * bytes (1.6 MiB); auditd drains it on dnsd's doorbell (every 64 events or 5 ms), 1024
 * decisions at a time: ~90 ms of bench/dns's uncached rate (22,000 distinct decisions/s;
 * cached ones are deduped) while auditd waits for a CPU. 1024 lost ~600 of bench/dns's
 * 120,000 uncached events; past it dnsd counts the loss and auditd writes an events_lost
 * record. */
#define CW_DNSQ_CAPACITY 2048
#define CW_EVQ_CAPACITY 2048

struct cw_shmq_hdr {
	__u64 magic;
	__u32 version;
	__u32 slot_size;
	__u32 capacity;
	__u32 pad0;
	/* producer's cache line */
	__u64 head __attribute__((aligned(64)));
	__u64 dropped_full; /* pushes refused because the ring was full */
	/* The sequence number the producer waits for (0 = none): the consumer wakes it (futex
	 * waiters, and the enforcer's ack pipe to dnsd) only when applied_seq reaches it, once per
	 * value. A lying producer gets at most one wake-up per store. */
	__u64 ack_want;
	/* consumer's cache line */
	__u64 tail __attribute__((aligned(64)));
	__u64 applied_seq; /* every entry with seq <= applied_seq is applied (seq = head after push) */
	__u32 ack_futex; /* bumped after each applied_seq store; futex word for waiters */
	__u32 pad1;
	__u64 rejected; /* entries the consumer refused (hostile or invalid) */
};
_Static_assert(sizeof(struct cw_shmq_hdr) <= CW_SHMQ_HDR_SIZE, "cw_shmq_hdr fits its page");

/* dnsq: an address resolved for an allowed hostname. Written by dnsd, read by the enforcer,
 * which accepts it only as a host route (/32, /128) tied to an allow-hostname rule whose
 * pattern matches `name`. */
struct cw_dnsq_entry {
	__u8 family;	/* 4 or 6 */
	__u8 prefixlen; /* must be 32 or 128 */
	__u8 pad[2];
	__u32 rule_id; /* 1-based index of the allow-hostname rule */
	__u32 ttl;     /* seconds, clamped by the enforcer to [CW_TTL_FLOOR_S, CW_TTL_CAP_S] */
	/* When dnsd had the upstream's answer: CLOCK_MONOTONIC in µs, mod 2^32 (0: unknown). Only
	 * for the enforcer's answer-to-trie statistic; never trusted for anything else. */
	__u32 t_answer_us;
	__u8 addr[16];		/* network order; IPv4 in the first four bytes */
	char name[CW_NAME_MAX]; /* the question name, lowercase, no trailing dot, NUL-terminated */
};
_Static_assert(sizeof(struct cw_dnsq_entry) == 288, "cw_dnsq_entry layout");

enum cw_dns_event_type {
	CW_DNSEV_ALLOWED = 1,
	CW_DNSEV_BLOCKED = 2,
};

/* evq: one DNS decision. Written by dnsd, read by auditd. */
struct cw_dns_event {
	__u64 ts_realtime_ns; /* CLOCK_REALTIME at the decision */
	__u8 type;	      /* enum cw_dns_event_type */
	__u8 rcode;	      /* rcode sent to the client */
	__u16 qtype;
	__u8 flags;	    /* CW_EVF_* from events.h (would_deny) */
	__u8 n_answers;	    /* addresses in answers[], at most CW_ANSWERS_MAX */
	__u8 client_family; /* 4 or 6 */
	__u8 pad;
	__u32 rule_id; /* 1-based; 0 = default action */
	__u32 ttl;     /* smallest TTL of the answer, seconds */
	__be16 client_port;
	__u8 pad2[2];
	__u8 client_addr[16];
	__u32 count; /* identical events this one stands for (dnsd/evdedupe.h); 0 means 1 */
	__u8 answer_family[CW_ANSWERS_MAX]; /* 4 or 6 per answer */
	__u8 answers[CW_ANSWERS_MAX][16];
	char query[CW_NAME_MAX]; /* NUL-terminated; may hold any byte a client sent */
	/* The answer's CNAME chain when it has one: the names from the question on, separated by
	 * single spaces, NUL-terminated (cut at a name boundary when longer). */
	char cname_chain[CW_NAME_MAX];
};
_Static_assert(sizeof(struct cw_dns_event) == 832, "cw_dns_event layout");

#endif
