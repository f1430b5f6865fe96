// SPDX-License-Identifier: Apache-2.0
/* Rule identity across policies (issue 6, reload). A rule id is an index into one policy: the
 * learned entries in the pinned tries carry the ids of the policy that wrote them, and another
 * policy (a reload, or a restart after one) numbers its rules differently. So the enforcer pins a
 * small array next to the maps, rule id - 1 -> a 64-bit hash of the rule's identity (type,
 * action, value), written once the maps hold that policy. An adopting enforcer reads it first
 * and renumbers each learned reference by identity:
 *
 * - the hostname rule is no longer in the policy (removed, or now a deny): dropped;
 * - it is, but the new policy adds a hostname rule whose names overlap its pattern (a deny for
 *   a subdomain, a more specific allow with other ports): dropped too, since the address may
 *   have been learned for a name that rule now decides. The overlap test is on the names'
 *   domains (one is the other or under it), wider than exact but never narrower; what it drops
 *   needlessly comes back at the next DNS answer;
 * - otherwise renumbered to the rule's new id (its new port set applies).
 *
 * The pin is removed before the maps are rewritten and written again after: an enforcer that
 * dies half-way leaves no pin, and the next one then drops every learned entry (they come back
 * with the next answers) rather than trust ids of unknown origin. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "common/log.h"
#include "enforcer.h"

/* FNV-1a, 64 bit: no adversary chooses two rules to collide (both policies are the operator's),
 * and a collision could only keep an address under a rule with the same hash. */
uint64_t ruleid_hash(const struct policy_rule *r)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *s = (const unsigned char *)r->value;
	size_t i;

	h = (h ^ r->type) * 0x100000001b3ULL;
	h = (h ^ r->action) * 0x100000001b3ULL;
	for (i = 0; i < sizeof(r->value) && s[i]; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The domain a hostname pattern's names are at or under: "**.a.b" -> "a.b". */
static const char *pattern_base(const char *v)
{
	const char *star = strrchr(v, '*');

	if (!star)
		return v;
	return star[1] == '.' ? star + 2 : star + 1;
}

/* a is b or a name under b. */
static bool under(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la == lb)
		return !strcmp(a, b);
	return la > lb && a[la - lb - 1] == '.' && !strcmp(a + la - lb, b);
}

static bool overlap(const char *p, const char *q)
{
	const char *a = pattern_base(p), *b = pattern_base(q);

	return under(a, b) || under(b, a);
}

static void ruleid_reset(struct enf *e)
{
	free(e->rid.old_hash);
	free(e->rid.new_sorted);
	free(e->rid.new_only);
	free(e->rid.verdict);
	memset(&e->rid, 0, sizeof(e->rid));
}

void ruleid_free(struct enf *e)
{
	if (e->rid.pin_fd_valid)
		close(e->rid.pin_fd);
	ruleid_reset(e);
}

/* The new policy's hostname rules, sorted by hash (index in the low 32 bits does not fit a
 * 64-bit hash: a parallel search by hash then a scan of equal hashes). */
struct hid {
	uint64_t hash;
	uint32_t rule_id;
};

static int hid_cmp(const void *a, const void *b)
{
	const struct hid *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->rule_id < y->rule_id ? -1 : x->rule_id > y->rule_id;
}

static int build_new_index(struct enf *e)
{
	const struct policy *p = &e->pol;
	uint64_t *old_sorted = NULL;
	struct hid *h;
	size_t i, n = 0;

	h = calloc(p->n_rules ? p->n_rules : 1, sizeof(*h));
	e->rid.new_only = calloc(p->n_rules ? p->n_rules : 1, sizeof(*e->rid.new_only));
	e->rid.verdict = calloc(p->n_rules ? p->n_rules : 1, 1);
	old_sorted = malloc((e->rid.n_old ? e->rid.n_old : 1) * sizeof(*old_sorted));
	if (!h || !e->rid.new_only || !e->rid.verdict || !old_sorted) {
		free(h);
		free(old_sorted);
		return -ENOMEM;
	}
	memcpy(old_sorted, e->rid.old_hash, e->rid.n_old * sizeof(*old_sorted));
	qsort(old_sorted, e->rid.n_old, sizeof(*old_sorted), u64_cmp);
	for (i = 0; i < p->n_rules; i++) {
		uint64_t hash;

		if (p->rules[i].type != POLICY_RULE_HOSTNAME)
			continue;
		hash = ruleid_hash(&p->rules[i]);
		h[n].hash = hash;
		h[n++].rule_id = (uint32_t)i + 1;
		if (!bsearch(&hash, old_sorted, e->rid.n_old, sizeof(*old_sorted), u64_cmp))
			e->rid.new_only[e->rid.n_new_only++] = (uint32_t)i + 1;
	}
	free(old_sorted);
	qsort(h, n, sizeof(*h), hid_cmp);
	e->rid.new_sorted = h;
	e->rid.n_new = n;
	return 0;
}

int ruleid_old_load(struct enf *e)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), k;
	char path[PATH_MAX];
	int fd, err;

	ruleid_reset(e);
	err = enf_pin_path(path, sizeof(path), e->o->bpffs, ENF_PIN_RULE_IDS);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		log_info("adopting: no %s: the rule ids of the learned entries are of unknown "
			 "origin; they are all dropped (the next DNS answers learn them again)",
			 path);
		return build_new_index(e);
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 || info.type != BPF_MAP_TYPE_ARRAY ||
	    info.key_size != sizeof(__u32) || info.value_size != sizeof(__u64) ||
	    info.max_entries > CW_RULES_MAX) {
		log_warnx("adopting: %s is not our rule id map; learned entries are dropped", path);
		close(fd);
		goto out_unpin;
	}
	e->rid.old_hash = calloc(info.max_entries ? info.max_entries : 1, sizeof(uint64_t));
	if (!e->rid.old_hash) {
		close(fd);
		return -ENOMEM;
	}
	for (k = 0; k < info.max_entries; k++)
		if (bpf_map_lookup_elem(fd, &k, &e->rid.old_hash[k]) < 0) {
			err = -errno;
			log_warnx("adopting: reading %s: %s", path, strerror(-err));
			close(fd);
			return err;
		}
	e->rid.n_old = info.max_entries;
	e->rid.have_old = true;
	close(fd);
out_unpin:
	/* From here until ruleid_pin() the maps are being rewritten: no pin says what they
	 * hold, so an enforcer that dies meanwhile leaves the next one dropping learned entries
	 * rather than misreading them. */
	if (unlink(path) < 0 && errno != ENOENT) {
		err = -errno;
		log_warn("adopting: unpinning %s", path);
		return err;
	}
	return build_new_index(e);
}

/* Does a hostname rule added by the new policy decide names the pattern of rule_id covers? */
static bool overlapped(struct enf *e, uint32_t rule_id)
{
	const char *v = e->pol.rules[rule_id - 1].value;
	size_t i;

	for (i = 0; i < e->rid.n_new_only; i++)
		if (e->rid.new_only[i] != rule_id &&
		    overlap(v, e->pol.rules[e->rid.new_only[i] - 1].value))
			return true;
	return false;
}

uint32_t ruleid_map(struct enf *e, uint32_t old_id)
{
	struct hid key, *h;
	uint32_t id;
	uint8_t *v;

	if (!e->rid.have_old || !old_id || old_id > e->rid.n_old)
		return 0;
	key.hash = e->rid.old_hash[old_id - 1];
	key.rule_id = 0;
	/* the first of equal hashes: rule_id 0 sorts before any */
	h = e->rid.new_sorted;
	{
		size_t lo = 0, hi = e->rid.n_new;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (hid_cmp(&h[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == e->rid.n_new || h[lo].hash != key.hash)
			return 0;
		id = h[lo].rule_id;
	}
	if (e->pol.rules[id - 1].type != POLICY_RULE_HOSTNAME ||
	    e->pol.rules[id - 1].action != CW_ACTION_ALLOW)
		return 0;
	/* 0: not decided yet, 1: kept, 2: overlapped by a new rule */
	v = &e->rid.verdict[id - 1];
	if (!*v)
		*v = overlapped(e, id) ? 2 : 1;
	return *v == 1 ? id : 0;
}

int ruleid_pin(struct enf *e)
{
	size_t i, n = e->pol.n_rules ? e->pol.n_rules : 1;
	char path[PATH_MAX];
	int fd, err;

	err = enf_pin_path(path, sizeof(path), e->o->bpffs, ENF_PIN_RULE_IDS);
	if (err)
		return err;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cw_rule_ids", sizeof(__u32), sizeof(__u64),
			    (__u32)n, NULL);
	if (fd < 0) {
		log_warnx("rule id map: %s", strerror(-fd));
		return fd;
	}
	for (i = 0; i < e->pol.n_rules; i++) {
		__u32 k = (__u32)i;
		__u64 h = ruleid_hash(&e->pol.rules[i]);

		if (bpf_map_update_elem(fd, &k, &h, BPF_ANY) < 0) {
			err = -errno;
			goto fail;
		}
	}
	/* bpffs has no rename: the old pin goes first. An enforcer that dies between the two
	 * leaves none, which the next one reads as "drop the learned entries" (safe). */
	if ((unlink(path) < 0 && errno != ENOENT) || bpf_obj_pin(fd, path) < 0) {
		err = -errno;
		goto fail;
	}
	if (e->rid.pin_fd_valid)
		close(e->rid.pin_fd);
	e->rid.pin_fd = fd;
	e->rid.pin_fd_valid = true;
	return 0;
fail:
	log_warnx("rule id map %s: %s", path, strerror(-err));
	close(fd);
	return err;
}
