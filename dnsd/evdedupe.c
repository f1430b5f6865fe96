// SPDX-License-Identifier: Apache-2.0
#include <stddef.h>
#include <string.h>

#include "evdedupe.h"

void evdedupe_init(struct evdedupe *t, uint64_t seed, int64_t window_ns)
{
	memset(t, 0, sizeof(*t));
	t->seed = seed;
	t->window_ns = window_ns;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* Over the fields that tell kinds apart most often; ev_same() compares them all. */
static uint64_t ev_hash(const struct evdedupe *t, const struct cw_dns_event *e)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ t->seed;
	uint64_t a[2];
	size_t i;

	memcpy(a, e->client_addr, sizeof(a));
	h = mix(h, (uint64_t)e->type << 56 | (uint64_t)e->rcode << 48 | (uint64_t)e->qtype << 32 |
			   (uint64_t)e->client_port << 16 | e->client_family);
	h = mix(h, a[0]);
	h = mix(h, a[1]);
	h = mix(h, e->rule_id);
	for (i = 0; i < sizeof(e->query) && e->query[i]; i++)
		h = mix(h, (uint8_t)e->query[i]);
	return h;
}

/* Everything but the time, the TTL and the count. Events are zeroed before they are filled
 * (dnsd_event_init), so padding and the bytes past a string's NUL compare equal. */
static bool ev_same(const struct cw_dns_event *a, const struct cw_dns_event *b)
{
	const size_t from = offsetof(struct cw_dns_event, type);
	const size_t ttl = offsetof(struct cw_dns_event, ttl);
	const size_t after_ttl = ttl + sizeof(a->ttl);
	const size_t count = offsetof(struct cw_dns_event, count);
	const size_t after_count = count + sizeof(a->count);

	return !memcmp((const char *)a + from, (const char *)b + from, ttl - from) &&
	       !memcmp((const char *)a + after_ttl, (const char *)b + after_ttl,
		       count - after_ttl) &&
	       !memcmp((const char *)a + after_count, (const char *)b + after_count,
		       sizeof(*a) - after_count);
}

static void slot_close(struct evdedupe_slot *s, evdedupe_emit_fn emit, void *ctx)
{
	if (s->pending) {
		s->ev.count = s->pending;
		emit(ctx, &s->ev);
	}
	s->until_ns = 0;
	s->pending = 0;
}

bool evdedupe_absorb(struct evdedupe *t, const struct cw_dns_event *ev, int64_t now_ns,
		     evdedupe_emit_fn emit, void *ctx)
{
	uint64_t h = ev_hash(t, ev);
	struct evdedupe_slot *s, *free_slot = NULL;
	unsigned int i;

	/* The kind's open window if it has one; ended windows on the way are closed. */
	for (i = 0; i < EVDEDUPE_PROBE; i++) {
		s = &t->slot[(h + i) & (EVDEDUPE_SLOTS - 1)];
		if (s->until_ns && s->until_ns <= now_ns)
			slot_close(s, emit, ctx);
		if (!s->until_ns) {
			if (!free_slot)
				free_slot = s;
			continue;
		}
		if (s->hash != h || !ev_same(&s->ev, ev))
			continue;
		if (s->pending < UINT32_MAX) {
			s->pending++;
			if (!t->next_due || s->until_ns < t->next_due)
				t->next_due = s->until_ns;
			return true;
		}
		slot_close(s, emit, ctx); /* 2^32 - 1 counted: report them, start over */
		free_slot = s;
		break;
	}
	if (!free_slot)
		return false; /* every slot of the window holds another kind: reported on its own */
	s = free_slot;
	s->until_ns = now_ns + t->window_ns;
	s->hash = h;
	s->pending = 0;
	memcpy(&s->ev, ev, sizeof(*ev));
	s->ev.count = 0;
	return false;
}

int64_t evdedupe_expire(struct evdedupe *t, int64_t now_ns, bool all, evdedupe_emit_fn emit,
			void *ctx)
{
	int64_t next = 0;
	unsigned int i;

	if (!all && (!t->next_due || now_ns < t->next_due))
		return t->next_due;
	for (i = 0; i < EVDEDUPE_SLOTS; i++) {
		struct evdedupe_slot *s = &t->slot[i];

		if (!s->until_ns)
			continue;
		if (all || s->until_ns <= now_ns)
			slot_close(s, emit, ctx);
		else if (s->pending && (!next || s->until_ns < next))
			next = s->until_ns;
	}
	t->next_due = next;
	return next;
}
