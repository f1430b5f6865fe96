// SPDX-License-Identifier: Apache-2.0
/* Open addressing with a short probe window and no deletion: expired slots are simply reused.
 * See learned.h. */
#include "learned.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/limits.h"
#include "zmap.h"

int learned_init(struct learned_table *t, uint32_t nslots, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	if (nslots < LEARNED_PROBE || (nslots & (nslots - 1)))
		return -EINVAL;
	t->slots = zmap(nslots, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->mask = nslots - 1;
	t->seed = seed;
	return 0;
}

void learned_free(struct learned_table *t)
{
	if (t->slots)
		zunmap(t->slots, (size_t)t->mask + 1, sizeof(*t->slots));
	t->slots = NULL;
}

int64_t learned_deadline(int64_t now_ns, uint32_t ttl)
{
	if (ttl < CW_TTL_FLOOR_S)
		ttl = CW_TTL_FLOOR_S;
	if (ttl > CW_TTL_CAP_S)
		ttl = CW_TTL_CAP_S;
	return now_ns + (int64_t)ttl * 1000000000LL;
}

/* FNV-1a over the seed, family and address, then a final mix (murmur3's fmix64). */
static uint32_t slot_of(const struct learned_table *t, uint8_t family, const uint8_t *addr)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ t->seed;
	int i;

	h = (h ^ family) * 0x100000001b3ULL;
	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (uint32_t)h & t->mask;
}

static struct learned_slot *find(const struct learned_table *t, uint8_t family, const uint8_t *addr)
{
	uint32_t s = slot_of(t, family, addr), i;

	for (i = 0; i < LEARNED_PROBE; i++) {
		struct learned_slot *e = &t->slots[(s + i) & t->mask];

		if (e->family == family && !memcmp(e->addr, addr, 16))
			return e;
	}
	return NULL;
}

void learned_put(struct learned_table *t, uint8_t family, const uint8_t addr[16], uint32_t rule_id,
		 int64_t deadline_ns, int64_t now_ns)
{
	struct learned_slot *e = find(t, family, addr), *victim = NULL;
	uint32_t s, i;

	if (e) {
		if (e->deadline_ns > deadline_ns && e->deadline_ns > now_ns)
			deadline_ns = e->deadline_ns;
		e->rule_id = rule_id;
		e->deadline_ns = deadline_ns;
		return;
	}
	s = slot_of(t, family, addr);
	for (i = 0; i < LEARNED_PROBE; i++) {
		e = &t->slots[(s + i) & t->mask];
		if (!e->family || e->deadline_ns <= now_ns) {
			victim = e;
			break;
		}
		if (!victim || e->deadline_ns < victim->deadline_ns)
			victim = e;
	}
	memcpy(victim->addr, addr, 16);
	victim->family = family;
	victim->rule_id = rule_id;
	victim->deadline_ns = deadline_ns;
}

bool learned_get(const struct learned_table *t, uint8_t family, const uint8_t addr[16],
		 int64_t now_ns, uint32_t *rule_id, int64_t *deadline_ns)
{
	const struct learned_slot *e = find(t, family, addr);

	if (!e || e->deadline_ns <= now_ns)
		return false;
	if (rule_id)
		*rule_id = e->rule_id;
	if (deadline_ns)
		*deadline_ns = e->deadline_ns;
	return true;
}
