/* SPDX-License-Identifier: Apache-2.0 */
/* What dnsd has seen the enforcer apply: address, rule and the deadline the kernel holds at
 * least. Used to answer PTR lookups for learned addresses, and to skip pushing an address the
 * kernel already holds for as long as a new answer would ask. A bounded cache, not a mirror of
 * the kernel map: a forgotten entry only costs one more push (or one NXDOMAIN for a PTR). */
#ifndef CW_DNSD_LEARNED_H
#define CW_DNSD_LEARNED_H

#include <stdbool.h>
#include <stdint.h>

/* Slots probed per key; past them the entry with the nearest deadline is replaced. */
#define LEARNED_PROBE 8

struct learned_slot {
	uint8_t addr[16];
	uint8_t family; /* 0 = empty */
	uint8_t pad[3];
	uint32_t rule_id;
	int64_t deadline_ns; /* CLOCK_MONOTONIC */
};

struct learned_table {
	struct learned_slot *slots;
	uint32_t mask; /* slot count - 1 */
	uint64_t seed; /* random: answers cannot be chosen to collide */
};

/* nslots: a power of two. 0 or -EINVAL / -ENOMEM. */
int learned_init(struct learned_table *t, uint32_t nslots, uint64_t seed);
void learned_free(struct learned_table *t);

/* The deadline the enforcer gives an entry pushed at now_ns with this TTL: the TTL clamped to
 * [CW_TTL_FLOOR_S, CW_TTL_CAP_S] (the enforcer applies later, so its deadline is later still). */
int64_t learned_deadline(int64_t now_ns, uint32_t ttl);

/* Record an applied entry. As the enforcer does, a deadline never shrinks and the rule is the
 * last one pushed. */
void learned_put(struct learned_table *t, uint8_t family, const uint8_t addr[16], uint32_t rule_id,
		 int64_t deadline_ns, int64_t now_ns);

/* An unexpired entry for the address: true with *rule_id and *deadline_ns (either may be
 * NULL). */
bool learned_get(const struct learned_table *t, uint8_t family, const uint8_t addr[16],
		 int64_t now_ns, uint32_t *rule_id, int64_t *deadline_ns);

#endif
