// SPDX-License-Identifier: Apache-2.0
/* Hostname rules (DESIGN.md §5): canonical forms and matching. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "../proto/maps.h"
#include "policy.h"

#define LABELS_MAX 128

static bool label_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Lowercase, drop one trailing dot, check labels. Patterns may use "*" and "**" labels. */
int policy_hostname_canon(const char *in, char *out, size_t outlen, bool pattern, const char **why)
{
	size_t n = strlen(in), i, label_len = 0;
	bool prev_dstar = false;
	const char *label;

	if (n && in[n - 1] == '.')
		n--;
	if (n == 0) {
		*why = "empty hostname";
		return -EINVAL;
	}
	if (n > 253 || n >= outlen) {
		*why = "hostname longer than 253 characters";
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = '\0';

	label = out;
	for (i = 0; i <= n; i++) {
		if (i < n && out[i] != '.') {
			label_len++;
			continue;
		}
		if (label_len == 0) {
			*why = "empty label (two dots, or a leading dot)";
			return -EINVAL;
		}
		if (label_len > 63) {
			*why = "label longer than 63 characters";
			return -EINVAL;
		}
		if (memchr(label, '*', label_len)) {
			bool star = label_len == 1, dstar = label_len == 2 && label[1] == '*';

			if (!pattern) {
				*why = "wildcard not allowed here";
				return -EINVAL;
			}
			if (!star && !dstar) {
				*why = "partial-label wildcard (only whole labels \"*\" or \"**\")";
				return -EINVAL;
			}
			if (dstar && prev_dstar) {
				*why = "consecutive \"**\" labels";
				return -EINVAL;
			}
			prev_dstar = dstar;
		} else {
			size_t k;

			for (k = 0; k < label_len; k++) {
				if (!label_char_ok((unsigned char)label[k])) {
					*why = "invalid character (letters, digits, '-', '_' only)";
					return -EINVAL;
				}
			}
			prev_dstar = false;
		}
		label = out + i + 1;
		label_len = 0;
	}
	if (pattern && strspn(out, "*.") == n) {
		*why = "pattern made of wildcards only";
		return -EINVAL;
	}
	return 0;
}

int policy_name_canon(const struct policy *p, const char *in, char *out, size_t outlen)
{
	const char *why;
	size_t i, n;

	if (policy_hostname_canon(in, out, outlen, false, &why) < 0)
		return -EINVAL;
	n = strlen(out);
	for (i = 0; i < p->n_search_domains; i++) {
		const char *sd = p->search_domains[i];
		size_t sl = strlen(sd);

		if (n > sl + 1 && out[n - sl - 1] == '.' && !strcmp(out + n - sl, sd)) {
			out[n - sl - 1] = '\0';
			break;
		}
	}
	return 0;
}

static size_t split_labels(const char *s, const char **lab, size_t *len)
{
	size_t n = 0;

	while (*s && n < LABELS_MAX) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		lab[n] = s;
		len[n] = l;
		n++;
		if (!dot)
			break;
		s = dot + 1;
	}
	return n;
}

/* Labels match right to left; "**" takes one or more labels. Consecutive "**" are rejected at
 * parse time, so the backtracking is bounded by (labels in name) per "**". */
static bool match_from(const char **pl, const size_t *pn, size_t np, const char **nl,
		       const size_t *nn, size_t nnl)
{
	size_t k;

	if (np == 0)
		return nnl == 0;
	if (nnl == 0)
		return false;
	if (pn[np - 1] == 2 && pl[np - 1][0] == '*') {
		for (k = 1; k <= nnl; k++)
			if (match_from(pl, pn, np - 1, nl, nn, nnl - k))
				return true;
		return false;
	}
	if (!(pn[np - 1] == 1 && pl[np - 1][0] == '*') &&
	    (pn[np - 1] != nn[nnl - 1] || memcmp(pl[np - 1], nl[nnl - 1], pn[np - 1])))
		return false;
	return match_from(pl, pn, np - 1, nl, nn, nnl - 1);
}

static bool is_pattern(const char *v)
{
	return strchr(v, '*') != NULL;
}

static bool is_suffix_of(const char *parent, const char *name)
{
	size_t pl = strlen(parent), nl = strlen(name);

	return nl > pl && name[nl - pl - 1] == '.' && !strcmp(name + nl - pl, parent);
}

bool policy_hostname_match(const char *pattern, const char *name)
{
	const char *pl[LABELS_MAX], *nl[LABELS_MAX];
	size_t pn[LABELS_MAX], nn[LABELS_MAX], np, nnl;

	if (!is_pattern(pattern))
		return !strcmp(pattern, name) || is_suffix_of(pattern, name);
	np = split_labels(pattern, pl, pn);
	nnl = split_labels(name, nl, nn);
	return match_from(pl, pn, np, nl, nn, nnl);
}

/* Keep the better of two candidates at one precedence level: deny wins a tie. */
static void pick(uint32_t *best, uint8_t *best_action, uint32_t id, uint8_t action)
{
	if (!*best || (action == CW_ACTION_DENY && *best_action != CW_ACTION_DENY)) {
		*best = id;
		*best_action = action;
	}
}

uint32_t policy_match_hostname(const struct policy *p, const char *name, uint8_t *action)
{
	uint32_t exact = 0, deny_pat = 0, suffix = 0, allow_pat = 0;
	uint8_t exact_a = 0, suffix_a = 0;
	size_t i, suffix_len = 0;

	for (i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		uint32_t id = (uint32_t)i + 1;

		if (r->type != POLICY_RULE_HOSTNAME)
			continue;
		if (is_pattern(r->value)) {
			if (!policy_hostname_match(r->value, name))
				continue;
			if (r->action == CW_ACTION_DENY) {
				if (!deny_pat)
					deny_pat = id;
			} else if (!allow_pat) {
				allow_pat = id;
			}
		} else if (!strcmp(r->value, name)) {
			pick(&exact, &exact_a, id, r->action);
		} else if (is_suffix_of(r->value, name)) {
			size_t l = strlen(r->value);

			if (l > suffix_len) {
				suffix = 0;
				suffix_len = l;
			}
			if (l == suffix_len)
				pick(&suffix, &suffix_a, id, r->action);
		}
	}
	if (exact) {
		*action = exact_a;
		return exact;
	}
	if (deny_pat) {
		*action = CW_ACTION_DENY;
		return deny_pat;
	}
	if (suffix) {
		*action = suffix_a;
		return suffix;
	}
	if (allow_pat) {
		*action = CW_ACTION_ALLOW;
		return allow_pat;
	}
	*action = p->default_action;
	return 0;
}
