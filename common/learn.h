/* SPDX-License-Identifier: Apache-2.0 */
/* The enforcer's check of one dnsq entry from dnsd (which it treats as hostile). */
#ifndef CW_COMMON_LEARN_H
#define CW_COMMON_LEARN_H

#include <stdbool.h>
#include <stdint.h>

#include "../proto/shmq.h"
#include "policy.h"

/* What a valid entry may put in the trie. */
struct learn_route {
	uint8_t family;	   /* 4 or 6 */
	uint8_t prefixlen; /* 32 or 128 */
	uint8_t addr[16];
	uint32_t rule_id;
	uint32_t ttl_s; /* clamped to [CW_TTL_FLOOR_S, CW_TTL_CAP_S] */
};

/* Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) are learned only with this
 * flag (cargowall start --allow-private-answers): a public name that answers with an internal
 * address is the classic DNS-rebinding route into a runner's network. */
#define LEARN_ALLOW_PRIVATE 0x1

/* Addresses never learned from DNS whatever the policy: unspecified, loopback, link-local
 * (169.254.0.0/16, fe80::/10), multicast, broadcast, IPv4-mapped; private ranges unless
 * LEARN_ALLOW_PRIVATE. Returns a static reason or NULL. dnsd filters with it before pushing;
 * the enforcer checks again. */
const char *learn_addr_refused(uint8_t family, const uint8_t addr[16], unsigned int flags);

/* Validate an entry already copied out of shared memory: family and prefix (host routes only),
 * NUL-terminated name, rule id in range naming an allow-hostname rule whose pattern matches the
 * name, and learn_addr_refused(). 0 and *out filled, or -EINVAL with *why set to a static
 * reason. */
int learn_validate(const struct policy *p, const struct cw_dnsq_entry *e, unsigned int flags,
		   struct learn_route *out, const char **why);

#endif
