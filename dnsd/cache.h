/* SPDX-License-Identifier: Apache-2.0 */
/* dnsd's answer cache: released answers kept in wire format, served from the event loop's own
 * thread without a trip through libunbound's worker thread and its pipe.
 *
 * What may be cached is the caller's business (answer.c: allowed questions whose answer had
 * data, an all-allowed CNAME chain, was not truncated, and whose addresses the enforcer
 * acknowledged); a lookup happens only after the policy allowed the question (query.c), so a
 * denied name is never answered from here.
 *
 * Lifetime: an entry is served until the earliest of (a) its smallest record TTL, counted from
 * insertion, and (b) the `max_expiry_ns` its inserter gives. dnsd passes the earliest deadline
 * the kernel holds for the answer's learned addresses as (b), so a cached answer never outlives
 * the trie entries that make its addresses reachable: no re-push is needed, and a name whose
 * TTL is longer than CW_TTL_CAP_S simply goes back to the resolver (and is learned again) when
 * the trie entry would lapse. Each record's TTL is served minus the whole seconds elapsed, so a
 * client never caches an answer for longer than the upstream allowed.
 *
 * Keyed by the lowercase question name, type and class (and the policy rule that allowed the
 * question, as a belt and braces check). A hit is rewritten for the asking client: its ID, RD
 * and CD bits, and its letter case in the question (dnsmsg_fix_answer). Open addressing with a
 * short probe window and a random seed, like learned.c: a client cannot choose names that
 * collide on purpose, and a full window only evicts the entry that expires first. */
#ifndef CW_DNSD_CACHE_H
#define CW_DNSD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsmsg.h"

/* Slots probed per key. */
#define DNSCACHE_PROBE 8
/* Records of one answer whose TTLs are rewritten; an answer with more is not cached. */
#define DNSCACHE_RR_MAX 32
/* The largest answer cached (without dnsd's OPT): more than any UDP answer dnsd sends; larger
 * ones (TCP only) go to the resolver every time. */
#define DNSCACHE_PKT_MAX 4096

struct dnscache_entry {
	uint8_t *blob; /* the answer, then (16-byte aligned) the caller's aux data; NULL = empty */
	uint16_t len;
	uint16_t aux_len;
	uint16_t qtype, qclass;
	uint8_t key_len;
	uint8_t n_ttl;
	uint16_t ttl_off[DNSCACHE_RR_MAX];
	uint32_t rule_id;
	int64_t t_insert_ns;
	int64_t expires_ns;
	uint8_t key[DNS_NAME_WIRE_MAX]; /* lowercase wire name */
};

struct dnscache {
	struct dnscache_entry *slots;
	uint32_t mask;
	uint64_t seed;
	uint32_t n; /* entries in use (expired ones included until reused) */
};

/* nslots: a power of two, at least DNSCACHE_PROBE. 0, -EINVAL or -ENOMEM. */
int dnscache_init(struct dnscache *c, uint32_t nslots, uint64_t seed);
void dnscache_free(struct dnscache *c);

/* Keep pkt (len bytes: an answer to q already passed through dnsmsg_fix_answer() and
 * dnsmsg_strip_opt(), untruncated) and aux (aux_len bytes, returned on a hit) for q, inserted at
 * now_ns, served until now_ns + its smallest TTL or max_expiry_ns, whichever is first. Replaces
 * an entry for the same key. 0; -EINVAL when the answer is not cacheable (no record, a TTL of 0,
 * more than DNSCACHE_RR_MAX records, larger than DNSCACHE_PKT_MAX, does not parse, already
 * expired); -ENOMEM. */
int dnscache_put(struct dnscache *c, const struct dns_query *q, uint32_t rule_id,
		 const uint8_t *pkt, size_t len, int64_t now_ns, int64_t max_expiry_ns,
		 const void *aux, size_t aux_len);

/* A live entry for q (and rule_id): its answer copied into out (cap bytes, at least the entry's
 * length) and rewritten for q, every TTL lowered by the whole seconds since insertion; *ttl gets
 * the smallest of them (>= 1) and *aux the aux data (either may be NULL). Returns the answer's
 * length, or 0 on a miss (an expired entry is dropped on the way). */
size_t dnscache_get(struct dnscache *c, const struct dns_query *q, uint32_t rule_id, int64_t now_ns,
		    uint8_t *out, size_t cap, uint32_t *ttl, const void **aux);

#endif
