// SPDX-License-Identifier: Apache-2.0
/* See cache.h. */
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "zmap.h"

/* Where the aux data starts in an entry's blob: aligned for any type the caller keeps there. */
static size_t aux_off(size_t len)
{
	return (len + 15) & ~(size_t)15;
}

int dnscache_init(struct dnscache *c, uint32_t nslots, uint64_t seed)
{
	memset(c, 0, sizeof(*c));
	if (nslots < DNSCACHE_PROBE || (nslots & (nslots - 1)))
		return -EINVAL;
	c->slots = zmap(nslots, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	c->mask = nslots - 1;
	c->seed = seed;
	return 0;
}

static void drop(struct dnscache *c, struct dnscache_entry *e)
{
	free(e->blob);
	e->blob = NULL;
	c->n--;
}

void dnscache_free(struct dnscache *c)
{
	uint32_t i;

	if (!c->slots)
		return;
	for (i = 0; i <= c->mask; i++)
		free(c->slots[i].blob);
	zunmap(c->slots, (size_t)c->mask + 1, sizeof(*c->slots));
	c->slots = NULL;
	c->n = 0;
}

/* FNV-1a over the seed, the lowercase name, type and class, then murmur3's fmix64. */
static uint32_t slot_of(const struct dnscache *c, const uint8_t *key, size_t klen, uint16_t qtype,
			uint16_t qclass)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ c->seed;
	size_t i;

	for (i = 0; i < klen; i++)
		h = (h ^ key[i]) * 0x100000001b3ULL;
	h = (h ^ qtype) * 0x100000001b3ULL;
	h = (h ^ qclass) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (uint32_t)h & c->mask;
}

static size_t lower_key(const struct dns_query *q, uint8_t *key)
{
	size_t i;

	for (i = 0; i < q->qname_len; i++)
		key[i] = wire_lower(q->qname[i]);
	return q->qname_len;
}

static bool same_key(const struct dnscache_entry *e, const uint8_t *key, size_t klen,
		     const struct dns_query *q)
{
	return e->blob && e->key_len == klen && e->qtype == q->qtype && e->qclass == q->qclass &&
	       !memcmp(e->key, key, klen);
}

int dnscache_put(struct dnscache *c, const struct dns_query *q, uint32_t rule_id,
		 const uint8_t *pkt, size_t len, int64_t now_ns, int64_t max_expiry_ns,
		 const void *aux, size_t aux_len)
{
	uint8_t key[DNS_NAME_WIRE_MAX];
	uint16_t offs[DNSCACHE_RR_MAX];
	struct dnscache_entry *e = NULL, *victim = NULL;
	unsigned int n, i;
	uint32_t min_ttl, s;
	int64_t expires, score, best = 0;
	size_t klen;
	uint8_t *blob;

	if (!q->has_question || len > DNSCACHE_PKT_MAX || aux_len > UINT16_MAX ||
	    dnsmsg_ttl_offsets(pkt, len, offs, DNSCACHE_RR_MAX, &n, &min_ttl) || !min_ttl)
		return -EINVAL;
	expires = now_ns + (int64_t)min_ttl * 1000000000LL;
	if (max_expiry_ns < expires)
		expires = max_expiry_ns;
	if (expires <= now_ns)
		return -EINVAL;
	klen = lower_key(q, key);
	s = slot_of(c, key, klen, q->qtype, q->qclass);
	/* The same key if it is in the window; else an empty or expired slot; else the entry that
	 * expires first. */
	for (i = 0; i < DNSCACHE_PROBE; i++) {
		struct dnscache_entry *x = &c->slots[(s + i) & c->mask];

		if (same_key(x, key, klen, q)) {
			e = x;
			break;
		}
		score = !x->blob || x->expires_ns <= now_ns ? INT64_MIN : x->expires_ns;
		if (!victim || score < best) {
			victim = x;
			best = score;
		}
	}
	if (!e)
		e = victim;
	blob = malloc(aux_off(len) + aux_len);
	if (!blob)
		return -ENOMEM;
	memcpy(blob, pkt, len);
	if (aux_len)
		memcpy(blob + aux_off(len), aux, aux_len);
	if (e->blob)
		drop(c, e);
	e->blob = blob;
	c->n++;
	e->len = (uint16_t)len;
	e->aux_len = (uint16_t)aux_len;
	e->qtype = q->qtype;
	e->qclass = q->qclass;
	e->key_len = (uint8_t)klen;
	memcpy(e->key, key, klen);
	e->n_ttl = (uint8_t)n;
	memcpy(e->ttl_off, offs, n * sizeof(offs[0]));
	e->rule_id = rule_id;
	e->t_insert_ns = now_ns;
	e->expires_ns = expires;
	return 0;
}

size_t dnscache_get(struct dnscache *c, const struct dns_query *q, uint32_t rule_id, int64_t now_ns,
		    uint8_t *out, size_t cap, uint32_t *ttl, const void **aux)
{
	uint8_t key[DNS_NAME_WIRE_MAX];
	struct dnscache_entry *e = NULL;
	uint32_t s, elapsed, min_ttl = UINT32_MAX;
	size_t klen;
	unsigned int i;

	if (!q->has_question || !c->n)
		return 0;
	klen = lower_key(q, key);
	s = slot_of(c, key, klen, q->qtype, q->qclass);
	for (i = 0; i < DNSCACHE_PROBE; i++) {
		struct dnscache_entry *x = &c->slots[(s + i) & c->mask];

		if (same_key(x, key, klen, q)) {
			e = x;
			break;
		}
	}
	if (!e)
		return 0;
	if (e->expires_ns <= now_ns || now_ns < e->t_insert_ns) {
		drop(c, e);
		return 0;
	}
	if (e->rule_id != rule_id || e->len > cap)
		return 0;
	memcpy(out, e->blob, e->len);
	if (dnsmsg_fix_answer(out, e->len, q))
		return 0; /* cannot happen: the key matched the question */
	/* Below the entry's expiry, which is at most insertion + its smallest TTL: every record
	 * keeps at least one second. */
	elapsed = (uint32_t)((now_ns - e->t_insert_ns) / 1000000000LL);
	for (i = 0; i < e->n_ttl; i++) {
		uint8_t *p = out + e->ttl_off[i];
		uint32_t t = (uint32_t)wire_get16(p) << 16 | wire_get16(p + 2);

		t = t > INT32_MAX ? 0 : t;
		t = t > elapsed ? t - elapsed : 0;
		wire_put16(p, (uint16_t)(t >> 16));
		wire_put16(p + 2, (uint16_t)t);
		if (t < min_ttl)
			min_ttl = t;
	}
	if (ttl)
		*ttl = min_ttl;
	if (aux)
		*aux = e->aux_len ? e->blob + aux_off(e->len) : NULL;
	return e->len;
}
