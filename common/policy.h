/* SPDX-License-Identifier: Apache-2.0 */
/* The policy (DESIGN.md §5): parsed from CargoWall's config.json, the CARGOWALL_* environment
 * and command-line lists; matched against hostnames. Every process parses the same normalized
 * JSON that the launcher hands it, with this one parser. */
#ifndef CW_COMMON_POLICY_H
#define CW_COMMON_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/limits.h"

enum policy_rule_type {
	POLICY_RULE_HOSTNAME = 0,
	POLICY_RULE_CIDR = 1,
};

enum policy_proto {
	POLICY_PROTO_ALL = 0,
	POLICY_PROTO_TCP,
	POLICY_PROTO_UDP,
	POLICY_PROTO_ICMP,
};

struct policy_port {
	uint16_t port;
	uint8_t proto; /* enum policy_proto */
};

struct policy_rule {
	uint8_t type;	/* enum policy_rule_type */
	uint8_t action; /* enum cw_action (proto/maps.h): 0 deny, 1 allow */
	/* hostname: lowercase, no trailing dot; cidr: canonical "a.b.c.d/n" or "x::/n" */
	char value[CW_NAME_MAX];
	/* cidr rules: parsed form, host bits masked */
	uint8_t family; /* 4 or 6 */
	uint8_t prefixlen;
	uint8_t addr[16];
	size_t n_ports; /* 0 = every port and protocol */
	struct policy_port ports[CW_PORTS_MAX];
};

struct policy {
	uint8_t default_action; /* enum cw_action */
	size_t n_rules;
	struct policy_rule *rules; /* rule id = index + 1 */
	size_t rules_cap;
	/* open-addressing index of (type, action, value) -> index + 1, to merge duplicates in
	 * constant time (a 65,536-rule policy must not take seconds to read) */
	uint32_t *dup_index;
	size_t dup_cap; /* a power of two, at least twice n_rules */
	size_t n_search_domains;
	char (*search_domains)[CW_NAME_MAX];
};

/* An error names where (file or source), the field and the reason. */
struct policy_error {
	char msg[512];
};

void policy_init(struct policy *p);
void policy_free(struct policy *p);

/* Parse a CargoWall config.json document. `source` names it in errors (a path, "<policy fd>").
 * Unknown fields, wrong types and bad values are errors; on error *p is left empty. */
int policy_parse_json(struct policy *p, const char *text, size_t len, const char *source,
		      struct policy_error *err);
int policy_load_file(struct policy *p, const char *path, struct policy_error *err);
int policy_load_fd(struct policy *p, int fd, const char *source, struct policy_error *err);

/* Add rules from a list "host[:port[;port...]]" or "cidr[:port...]" separated by commas or
 * newlines (CargoWall's environment syntax; ports mean protocol "all"). `field` names the
 * option or variable in errors. */
int policy_add_list(struct policy *p, enum policy_rule_type type, uint8_t action, const char *list,
		    const char *field, struct policy_error *err);
/* Add one rule after validating and canonicalising its value; merges ports of a duplicate. */
int policy_add_rule(struct policy *p, const struct policy_rule *r, const char *field,
		    struct policy_error *err);

/* Add a search domain (".compute.internal" or "compute.internal"): at least two labels. */
int policy_add_search_domain(struct policy *p, const char *domain, const char *field,
			     struct policy_error *err);

/* Serialize to the normalized JSON that children parse (caller frees). */
char *policy_to_json(const struct policy *p);

/* Validate a hostname or hostname pattern as a rule value: canonical form into out. */
int policy_hostname_canon(const char *in, char *out, size_t outlen, bool pattern, const char **why);
/* Normalize a query name for matching: lowercase, trailing dot removed, search domain stripped.
 * Returns -EINVAL for names that are not valid hostnames. */
int policy_name_canon(const struct policy *p, const char *in, char *out, size_t outlen);

/* Does hostname rule `pattern` match canonical `name`? */
bool policy_hostname_match(const char *pattern, const char *name);

/* Decide a canonical name. Returns the 1-based rule id that decided it and stores its action,
 * or 0 with the default action. Precedence: exact rule, then deny pattern, then the longest
 * parent-suffix rule, then allow pattern; deny wins at equal specificity. */
uint32_t policy_match_hostname(const struct policy *p, const char *name, uint8_t *action);

#endif
