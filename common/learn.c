// SPDX-License-Identifier: Apache-2.0
#include "learn.h"

#include <errno.h>
#include <string.h>

#include "../proto/maps.h"

const char *learn_addr_refused(uint8_t family, const uint8_t a[16], unsigned int flags)
{
	static const uint8_t zero[16];
	bool priv = !(flags & LEARN_ALLOW_PRIVATE);

	if (family == 4) {
		if (!a[0])
			return "unspecified or 'this network' address (0.0.0.0/8)";
		if (a[0] == 127)
			return "loopback address";
		if (a[0] == 169 && a[1] == 254)
			return "link-local address (169.254.0.0/16)";
		if (a[0] >= 224 && a[0] <= 239)
			return "multicast address";
		if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255)
			return "broadcast address";
		if (priv && (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
			     (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64)))
			return "private address (learned only with --allow-private-answers)";
		return NULL;
	}
	if (family == 6) {
		if (!memcmp(a, zero, 16))
			return "unspecified address (::)";
		if (!memcmp(a, zero, 15) && a[15] == 1)
			return "loopback address (::1)";
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
			return "link-local address (fe80::/10)";
		if (a[0] == 0xff)
			return "multicast address";
		if (!memcmp(a, zero, 10) && a[10] == 0xff && a[11] == 0xff)
			return "IPv4-mapped address (learn the IPv4 address instead)";
		if (priv && (a[0] & 0xfe) == 0xfc)
			return "private address fc00::/7 (learned only with --allow-private-answers)";
		return NULL;
	}
	return "unknown address family";
}

int learn_validate(const struct policy *p, const struct cw_dnsq_entry *e, unsigned int flags,
		   struct learn_route *out, const char **why)
{
	const struct policy_rule *r;
	uint8_t action;
	uint32_t ttl;

	if (e->family != 4 && e->family != 6) {
		*why = "bad address family";
		return -EINVAL;
	}
	if (e->prefixlen != (e->family == 4 ? 32 : 128)) {
		*why = "not a host route";
		return -EINVAL;
	}
	if (!memchr(e->name, '\0', sizeof(e->name))) {
		*why = "name not NUL-terminated";
		return -EINVAL;
	}
	if (e->family == 4) {
		static const uint8_t zero[12];

		if (memcmp(e->addr + 4, zero, sizeof(zero))) {
			*why = "IPv4 entry with bytes past the address";
			return -EINVAL;
		}
	}
	if (e->rule_id == 0 || e->rule_id > p->n_rules) {
		*why = "rule id out of range";
		return -EINVAL;
	}
	r = &p->rules[e->rule_id - 1];
	if (r->type != POLICY_RULE_HOSTNAME || r->action != CW_ACTION_ALLOW) {
		*why = "rule is not an allow-hostname rule";
		return -EINVAL;
	}
	/* The rule must be the one that decides this name: a matching allow rule is not enough
	 * when a more specific deny rule covers the name. */
	if (policy_match_hostname(p, e->name, &action) != e->rule_id || action != CW_ACTION_ALLOW) {
		*why = "the policy does not allow this name by this rule";
		return -EINVAL;
	}
	*why = learn_addr_refused(e->family, e->addr, flags);
	if (*why)
		return -EINVAL;
	ttl = e->ttl;
	if (ttl < CW_TTL_FLOOR_S)
		ttl = CW_TTL_FLOOR_S;
	if (ttl > CW_TTL_CAP_S)
		ttl = CW_TTL_CAP_S;
	memset(out, 0, sizeof(*out));
	out->family = e->family;
	out->prefixlen = e->prefixlen;
	memcpy(out->addr, e->addr, sizeof(out->addr));
	out->rule_id = e->rule_id;
	out->ttl_s = ttl;
	return 0;
}
