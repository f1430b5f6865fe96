/* SPDX-License-Identifier: Apache-2.0 */
/* Reverse (PTR) lookups: which address a reverse name names, and what the policy's CIDR rules
 * say about an address. Pure functions, unit-tested. */
#ifndef CW_DNSD_PTR_H
#define CW_DNSD_PTR_H

#include <stdint.h>

#include "../common/policy.h"

/* The address a reverse name stands for: "d.c.b.a.in-addr.arpa" (four decimal labels 0-255,
 * no leading zeros) or the 32 hex nibbles of "<nibbles>.ip6.arpa", least significant first.
 * Case-insensitive; a trailing dot is allowed.
 * Returns 1 with *family (4 or 6) and addr (network order, IPv4 in the first four bytes) set;
 * 0 when the name is not under in-addr.arpa or ip6.arpa; -EINVAL when it is under one of them
 * but names no single address (a zone like 10.in-addr.arpa, RFC 2317 labels, bad digits). */
int dnsptr_parse_name(const char *name, uint8_t *family, uint8_t addr[16]);

enum dnsptr_cidr {
	DNSPTR_CIDR_NONE = 0, /* no CIDR rule covers the address */
	DNSPTR_CIDR_ALLOW,
	DNSPTR_CIDR_DENY,
};

/* The CIDR rule that decides an address as the kernel does (DESIGN.md §4): the longest prefix
 * covering it wins, deny wins at equal prefix; ports are not considered. *rule_id gets its
 * 1-based id (0 with DNSPTR_CIDR_NONE). */
enum dnsptr_cidr dnsptr_cidr_verdict(const struct policy *p, uint8_t family, const uint8_t addr[16],
				     uint32_t *rule_id);

#endif
