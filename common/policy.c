// SPDX-License-Identifier: Apache-2.0
/* Policy: CargoWall's config.json, CARGOWALL_* lists and command-line lists (DESIGN.md §5). */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../proto/maps.h"

static int fail(struct policy_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct policy_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->default_action = CW_ACTION_DENY;
}

void policy_free(struct policy *p)
{
	free(p->dup_index);
	free(p->rules);
	free(p->search_domains);
	policy_init(p);
}

/* Parse "a.b.c.d[/n]" or "x:y::z[/n]": mask host bits, canonical text into r->value. */
static int cidr_parse(const char *in, struct policy_rule *r, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8], txt[INET6_ADDRSTRLEN];
	unsigned long plen;
	char *slash, *end;
	int maxlen, i;

	if (strlen(in) >= sizeof(buf)) {
		*why = "not an IP address or CIDR";
		return -EINVAL;
	}
	strcpy(buf, in);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(r->addr, 0, sizeof(r->addr));
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->family = 4;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		r->family = 6;
		maxlen = 128;
	} else {
		*why = "not an IP address or CIDR";
		return -EINVAL;
	}
	plen = (unsigned long)maxlen;
	if (slash) {
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || plen > (unsigned long)maxlen || slash[1] == '+' ||
		    slash[1] == '-') {
			*why = r->family == 4 ? "prefix length must be 0-32" :
						"prefix length must be 0-128";
			return -EINVAL;
		}
	}
	r->prefixlen = (uint8_t)plen;
	for (i = 0; i < maxlen / 8; i++) {
		int bits = (int)plen - i * 8;

		if (bits <= 0)
			r->addr[i] = 0;
		else if (bits < 8)
			r->addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
	inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, txt, sizeof(txt));
	snprintf(r->value, sizeof(r->value), "%s/%u", txt, r->prefixlen);
	return 0;
}

static bool ports_equal(const struct policy_port *a, const struct policy_port *b)
{
	return a->port == b->port && a->proto == b->proto;
}

static int merge_ports(struct policy_rule *dst, const struct policy_rule *src, const char *field,
		       struct policy_error *err)
{
	size_t i, k;

	if (dst->n_ports == 0)
		return 0;
	if (src->n_ports == 0) {
		dst->n_ports = 0; /* every port */
		return 0;
	}
	for (i = 0; i < src->n_ports; i++) {
		for (k = 0; k < dst->n_ports; k++)
			if (ports_equal(&dst->ports[k], &src->ports[i]))
				break;
		if (k < dst->n_ports)
			continue;
		if (dst->n_ports == CW_PORTS_MAX)
			return fail(err, "%s: %s: more than %d ports", field, dst->value,
				    CW_PORTS_MAX);
		dst->ports[dst->n_ports++] = src->ports[i];
	}
	return 0;
}

/* FNV-1a over what makes two rules the same rule. */
static uint32_t rule_hash(const struct policy_rule *r)
{
	uint32_t h = 2166136261u;
	const char *c;

	h = (h ^ r->type) * 16777619u;
	h = (h ^ r->action) * 16777619u;
	for (c = r->value; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return h;
}

/* The slot holding an equal rule, or the empty slot where it would go. */
static size_t dup_slot(const struct policy *p, const struct policy_rule *r)
{
	size_t mask = p->dup_cap - 1, i = rule_hash(r) & mask;

	while (p->dup_index[i]) {
		const struct policy_rule *o = &p->rules[p->dup_index[i] - 1];

		if (o->type == r->type && o->action == r->action && !strcmp(o->value, r->value))
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static int dup_grow(struct policy *p)
{
	size_t cap = p->dup_cap ? p->dup_cap * 2 : 64, i;
	uint32_t *old = p->dup_index;
	size_t old_cap = p->dup_cap;

	p->dup_index = calloc(cap, sizeof(*p->dup_index));
	if (!p->dup_index) {
		p->dup_index = old;
		return -ENOMEM;
	}
	p->dup_cap = cap;
	for (i = 0; i < old_cap; i++)
		if (old[i])
			p->dup_index[dup_slot(p, &p->rules[old[i] - 1])] = old[i];
	free(old);
	return 0;
}

int policy_add_rule(struct policy *p, const struct policy_rule *in, const char *field,
		    struct policy_error *err)
{
	struct policy_rule r = *in;
	const char *why = NULL;
	size_t i, slot;

	if (in->action != CW_ACTION_ALLOW && in->action != CW_ACTION_DENY)
		return fail(err, "%s: action must be \"allow\" or \"deny\"", field);
	if (in->n_ports > CW_PORTS_MAX)
		return fail(err, "%s: more than %d ports", field, CW_PORTS_MAX);
	for (i = 0; i < in->n_ports; i++) {
		if (in->ports[i].proto > POLICY_PROTO_ICMP)
			return fail(err, "%s: bad protocol", field);
		if (in->ports[i].port == 0 && in->ports[i].proto != POLICY_PROTO_ICMP)
			return fail(err, "%s: port 0 is only valid with protocol \"icmp\"", field);
	}
	if (in->type == POLICY_RULE_HOSTNAME) {
		if (policy_hostname_canon(in->value, r.value, sizeof(r.value), true, &why) < 0)
			return fail(err, "%s: \"%s\": %s", field, in->value, why);
	} else if (in->type == POLICY_RULE_CIDR) {
		if (cidr_parse(in->value, &r, &why) < 0)
			return fail(err, "%s: \"%s\": %s", field, in->value, why);
	} else {
		return fail(err, "%s: type must be \"hostname\" or \"cidr\"", field);
	}
	if (p->dup_cap < 2 * (p->n_rules + 1) && dup_grow(p))
		return fail(err, "%s: out of memory", field);
	slot = dup_slot(p, &r);
	if (p->dup_index[slot])
		return merge_ports(&p->rules[p->dup_index[slot] - 1], &r, field, err);
	if (p->n_rules == CW_RULES_MAX)
		return fail(err, "%s: more than %d rules", field, CW_RULES_MAX);
	if (p->n_rules == p->rules_cap) {
		size_t cap = p->rules_cap ? p->rules_cap * 2 : 16;
		struct policy_rule *nr = realloc(p->rules, cap * sizeof(*nr));

		if (!nr)
			return fail(err, "%s: out of memory", field);
		p->rules = nr;
		p->rules_cap = cap;
	}
	p->rules[p->n_rules++] = r;
	p->dup_index[slot] = (uint32_t)p->n_rules;
	return 0;
}

static int parse_ports(const char *s, struct policy_rule *r, const char *field, const char *entry,
		       struct policy_error *err)
{
	const char *p = s;

	if (!*p)
		return fail(err, "%s: \"%s\": empty port list after ':'", field, entry);
	while (*p) {
		unsigned long v;
		char *end;

		if (*p < '0' || *p > '9')
			return fail(err, "%s: \"%s\": port must be a number 1-65535", field, entry);
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v < 1 || v > 65535 || (*end && *end != ';'))
			return fail(err, "%s: \"%s\": port must be a number 1-65535", field, entry);
		if (r->n_ports == CW_PORTS_MAX)
			return fail(err, "%s: \"%s\": more than %d ports", field, entry,
				    CW_PORTS_MAX);
		r->ports[r->n_ports].port = (uint16_t)v;
		r->ports[r->n_ports].proto = POLICY_PROTO_ALL;
		r->n_ports++;
		p = *end ? end + 1 : end;
		if (*end == ';' && !*p)
			return fail(err, "%s: \"%s\": empty port after ';'", field, entry);
	}
	return 0;
}

static bool is_ipv6_addr(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET6, s, a) == 1;
}

static bool is_ipv4_addr(const char *s)
{
	unsigned char a[4];

	return inet_pton(AF_INET, s, a) == 1;
}

/* Split one list entry into value and ports. Accepted: host, host:443, host:443;80,
 * a.b.c.d[/n][:ports], [v6][:ports], [v6/n][:ports], v6/n[:ports], bare v6. */
static int parse_entry(char *e, struct policy_rule *r, const char *field, struct policy_error *err)
{
	char *ports = NULL, *colon;

	if (e[0] == '[') {
		char *close = strchr(e, ']');

		if (!close)
			return fail(err, "%s: \"%s\": missing ']'", field, e);
		*close = '\0';
		if (close[1] == ':')
			ports = close + 2;
		else if (close[1])
			return fail(err, "%s: \"%s]%s\": expected ':' after ']'", field, e,
				    close + 1);
		memmove(e, e + 1, strlen(e + 1) + 1);
		r->type = POLICY_RULE_CIDR;
	} else if (strchr(e, ':') != strrchr(e, ':')) {
		/* Two colons or more: IPv6, bare or as a CIDR with an optional :port after /n. */
		char *slash = strchr(e, '/');

		if (slash) {
			char *c = strchr(slash, ':');

			if (c) {
				*c = '\0';
				ports = c + 1;
			}
		} else if (!is_ipv6_addr(e)) {
			return fail(err,
				    "%s: \"%s\": not an IPv6 address (write [address]:port "
				    "for a port)",
				    field, e);
		}
		r->type = POLICY_RULE_CIDR;
	} else {
		colon = strchr(e, ':');
		if (colon) {
			*colon = '\0';
			ports = colon + 1;
		}
		if (r->type == POLICY_RULE_HOSTNAME && is_ipv4_addr(e))
			r->type = POLICY_RULE_CIDR;
	}
	if (!*e)
		return fail(err, "%s: empty value before ':'", field);
	if (strlen(e) >= sizeof(r->value))
		return fail(err, "%s: entry longer than %d characters", field, CW_NAME_MAX - 1);
	strcpy(r->value, e);
	return ports ? parse_ports(ports, r, field, e, err) : 0;
}

int policy_add_list(struct policy *p, enum policy_rule_type type, uint8_t action, const char *list,
		    const char *field, struct policy_error *err)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int ret = 0;

	if (!copy)
		return fail(err, "%s: out of memory", field);
	for (tok = strtok_r(copy, ",\n\r", &save); tok; tok = strtok_r(NULL, ",\n\r", &save)) {
		struct policy_rule *r;
		size_t n;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		n = strlen(tok);
		while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
			tok[--n] = '\0';
		if (!n)
			continue;
		r = calloc(1, sizeof(*r));
		if (!r) {
			ret = fail(err, "%s: out of memory", field);
			break;
		}
		r->type = (uint8_t)type;
		r->action = action;
		ret = parse_entry(tok, r, field, err);
		if (!ret)
			ret = policy_add_rule(p, r, field, err);
		free(r);
		if (ret)
			break;
	}
	free(copy);
	return ret;
}

int policy_add_search_domain(struct policy *p, const char *domain, const char *field,
			     struct policy_error *err)
{
	char canon[CW_NAME_MAX];
	const char *why;
	char(*nsd)[CW_NAME_MAX];
	size_t i;

	if (*domain == '.')
		domain++;
	if (policy_hostname_canon(domain, canon, sizeof(canon), false, &why) < 0)
		return fail(err, "%s: \"%s\": %s", field, domain, why);
	if (!strchr(canon, '.'))
		return fail(err, "%s: \"%s\": a search domain needs at least two labels", field,
			    domain);
	for (i = 0; i < p->n_search_domains; i++)
		if (!strcmp(p->search_domains[i], canon))
			return 0;
	nsd = realloc(p->search_domains, (p->n_search_domains + 1) * sizeof(*nsd));
	if (!nsd)
		return fail(err, "%s: out of memory", field);
	p->search_domains = nsd;
	strcpy(p->search_domains[p->n_search_domains++], canon);
	return 0;
}
