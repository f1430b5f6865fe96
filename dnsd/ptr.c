// SPDX-License-Identifier: Apache-2.0
/* Reverse names and CIDR verdicts for dnsd's PTR decisions (see ptr.h). */
#include "ptr.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "../proto/maps.h"

/* Does name end with "." + zone (case-insensitive)? *prefix_len gets the length before the
 * dot. A bare zone name ("in-addr.arpa") counts, with prefix length 0. */
static bool under_zone(const char *name, size_t len, const char *zone, size_t *prefix_len)
{
	size_t zl = strlen(zone);

	if (len == zl && !strncasecmp(name, zone, zl)) {
		*prefix_len = 0;
		return true;
	}
	if (len <= zl || name[len - zl - 1] != '.' || strncasecmp(name + len - zl, zone, zl))
		return false;
	*prefix_len = len - zl - 1;
	return true;
}

static int parse_v4(const char *s, size_t len, uint8_t addr[16])
{
	unsigned int labels = 0, v = 0, digits = 0;
	size_t i;

	memset(addr, 0, 16);
	for (i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';

		if (c >= '0' && c <= '9') {
			if (digits == 1 && v == 0)
				return -EINVAL; /* leading zero: not the canonical form */
			v = v * 10 + (unsigned int)(c - '0');
			if (++digits > 3 || v > 255)
				return -EINVAL;
			continue;
		}
		if (c != '.' || !digits || labels == 4)
			return -EINVAL;
		/* least significant byte first */
		addr[3 - labels++] = (uint8_t)v;
		v = 0;
		digits = 0;
	}
	return labels == 4 ? 1 : -EINVAL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_v6(const char *s, size_t len, uint8_t addr[16])
{
	unsigned int i;

	memset(addr, 0, 16);
	/* 32 nibbles, each a label of its own: "n.n.n....n" is 63 characters */
	if (len != 63)
		return -EINVAL;
	for (i = 0; i < 32; i++) {
		int v = hexval(s[2 * i]);

		if (v < 0 || (i < 31 && s[2 * i + 1] != '.'))
			return -EINVAL;
		/* nibble i counts from the least significant end */
		addr[15 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
	}
	return 1;
}

int dnsptr_parse_name(const char *name, uint8_t *family, uint8_t addr[16])
{
	size_t len = strlen(name), pl;

	if (len && name[len - 1] == '.')
		len--;
	if (under_zone(name, len, "in-addr.arpa", &pl)) {
		*family = 4;
		return parse_v4(name, pl, addr);
	}
	if (under_zone(name, len, "ip6.arpa", &pl)) {
		*family = 6;
		return parse_v6(name, pl, addr);
	}
	return 0;
}

static bool prefix_covers(const uint8_t *net, unsigned int plen, const uint8_t *addr)
{
	unsigned int full = plen / 8, rest = plen % 8;

	if (memcmp(net, addr, full))
		return false;
	if (!rest)
		return true;
	return ((net[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

enum dnsptr_cidr dnsptr_cidr_verdict(const struct policy *p, uint8_t family, const uint8_t addr[16],
				     uint32_t *rule_id)
{
	enum dnsptr_cidr v = DNSPTR_CIDR_NONE;
	int best = -1;
	size_t i;

	*rule_id = 0;
	for (i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (r->type != POLICY_RULE_CIDR || r->family != family ||
		    r->prefixlen > (family == 4 ? 32 : 128) ||
		    !prefix_covers(r->addr, r->prefixlen, addr))
			continue;
		if ((int)r->prefixlen < best)
			continue;
		if ((int)r->prefixlen == best &&
		    (v == DNSPTR_CIDR_DENY || r->action == CW_ACTION_ALLOW))
			continue; /* deny wins at equal prefix; the first rule stays otherwise */
		best = r->prefixlen;
		v = r->action == CW_ACTION_ALLOW ? DNSPTR_CIDR_ALLOW : DNSPTR_CIDR_DENY;
		*rule_id = (uint32_t)(i + 1);
	}
	return v;
}
