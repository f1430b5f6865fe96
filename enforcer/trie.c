// SPDX-License-Identifier: Apache-2.0
/* The LPM tries (IPv4 and IPv6): static CIDR rules at start, host routes learned from dnsd
 * while running, and the sweep that frees learned entries past their deadline. dnsd is treated as hostile
 * (DESIGN.md §3): every entry is copied out, validated, checked against the static rules and
 * bounded in number and lifetime. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cargowall.skel.h"
#include "common/learn.h"
#include "common/log.h"
#include "enforcer.h"

uint64_t enf_now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC: deadlines compare in the kernel. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Both tries take {__u32 prefixlen; address bytes}: one key buffer serves both, the map reads
 * only its own key size (proto/maps.h). */
struct lpm_key {
	uint32_t prefixlen;
	uint8_t addr[16];
};

struct trie {
	int fd;
	uint8_t family;
	uint8_t maxlen; /* 32 or 128: a host route */
	size_t alen;	/* address bytes in a key */
};

static struct trie trie_of(const struct enf *e, uint8_t family)
{
	struct trie t;

	t.family = family;
	t.fd = bpf_map__fd(family == 4 ? e->skel->maps.lpm_v4 : e->skel->maps.lpm_v6);
	t.maxlen = family == 4 ? 32 : 128;
	t.alen = family == 4 ? 4 : 16;
	return t;
}

static const char *addr_str(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	return inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)len);
}

/* ---- static rules ----------------------------------------------------------------------- */

struct static_ent {
	struct lpm_key key;
	uint32_t rule_id;
	uint8_t family;
	uint8_t action;
};

/* Equal prefixes end up adjacent with deny first, then the lowest rule id: the first of each
 * run is the one that goes in (deny wins at equal prefix). */
static int static_cmp(const void *pa, const void *pb)
{
	const struct static_ent *a = pa, *b = pb;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->key.prefixlen != b->key.prefixlen)
		return a->key.prefixlen < b->key.prefixlen ? -1 : 1;
	c = memcmp(a->key.addr, b->key.addr, sizeof(a->key.addr));
	if (c)
		return c;
	if (a->action != b->action)
		return a->action == CW_ACTION_DENY ? -1 : 1;
	return a->rule_id < b->rule_id ? -1 : a->rule_id > b->rule_id;
}

/* The policy masks already; masking again keeps a key from ever carrying host bits. */
static void mask_addr(uint8_t *out, const uint8_t *in, size_t alen, uint8_t plen)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		int bits = (int)plen - (int)i * 8;

		out[i] = bits >= 8 ? in[i] : bits <= 0 ? 0 : in[i] & (uint8_t)(0xff << (8 - bits));
	}
}

int trie_load_static(struct enf *e)
{
	const struct policy *p = &e->pol;
	struct static_ent *ents = NULL;
	size_t i, n = 0, loaded[2] = { 0, 0 }, count[2] = { 0, 0 };
	int err = 0;

	ents = calloc(p->n_rules ? p->n_rules : 1, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		size_t alen = r->family == 4 ? 4 : 16;

		if (r->type != POLICY_RULE_CIDR)
			continue;
		if ((r->family != 4 && r->family != 6) || r->prefixlen > alen * 8) {
			log_warnx("rule %zu (%s): bad family or prefix", i + 1, r->value);
			err = -EINVAL;
			goto out;
		}
		if (r->n_ports)
			log_warnx("rule %zu (%s): port lists are not enforced yet; the rule "
				  "applies to every port",
				  i + 1, r->value);
		ents[n].family = r->family;
		ents[n].key.prefixlen = r->prefixlen;
		mask_addr(ents[n].key.addr, r->addr, alen, r->prefixlen);
		ents[n].rule_id = (uint32_t)(i + 1);
		ents[n].action = r->action == CW_ACTION_ALLOW ? CW_ACTION_ALLOW : CW_ACTION_DENY;
		count[r->family == 6]++;
		n++;
	}
	if (count[0] > CW_STATIC_PREFIXES_MAX || count[1] > CW_STATIC_PREFIXES_MAX) {
		log_warnx("policy: %zu IPv4 and %zu IPv6 CIDR rules, at most %d of each", count[0],
			  count[1], CW_STATIC_PREFIXES_MAX);
		err = -E2BIG;
		goto out;
	}
	qsort(ents, n, sizeof(*ents), static_cmp);
	for (i = 0; i < n; i++) {
		struct trie t = trie_of(e, ents[i].family);
		struct cw_lpm_val val;
		char buf[INET6_ADDRSTRLEN];

		if (i && ents[i].family == ents[i - 1].family &&
		    !memcmp(&ents[i].key, &ents[i - 1].key, sizeof(ents[i].key)))
			continue;
		memset(&val, 0, sizeof(val));
		val.rule_id = ents[i].rule_id;
		val.action = ents[i].action;
		val.origin = CW_ORIGIN_STATIC;
		if (bpf_map_update_elem(t.fd, &ents[i].key, &val, BPF_ANY) < 0) {
			err = -errno;
			log_warnx("LPM trie: inserting rule %u: %s", ents[i].rule_id,
				  strerror(-err));
			goto out;
		}
		log_debug("rule %u: %s/%u %s", ents[i].rule_id,
			  addr_str(t.family, ents[i].key.addr, buf, sizeof(buf)),
			  ents[i].key.prefixlen,
			  ents[i].action == CW_ACTION_ALLOW ? "allow" : "deny");
		loaded[t.family == 6]++;
	}
	log_info("%zu IPv4 and %zu IPv6 CIDR prefix(es) loaded", loaded[0], loaded[1]);
out:
	free(ents);
	return err;
}

/* ---- learned host routes ---------------------------------------------------------------- */

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_' || c == '*';
}

/* A name from shared memory, made safe for a log line: hostname characters only, the rest '?'.
 * Works on entries that failed validation too (no NUL within the field). */
static void name_for_log(char *out, size_t outlen, const char *in, size_t inlen)
{
	size_t i;

	for (i = 0; i + 1 < outlen && i < inlen && in[i]; i++)
		out[i] = host_char(in[i]) ? in[i] : '?';
	out[i] = '\0';
}

static void learn_one(struct enf *e, const struct cw_dnsq_entry *ent)
{
	char name[CW_NAME_MAX], addr[INET6_ADDRSTRLEN];
	struct cw_lpm_val val;
	struct learn_route r;
	struct lpm_key key;
	struct trie t;
	const char *why;
	uint64_t deadline;
	bool exists;

	name_for_log(name, sizeof(name), ent->name, sizeof(ent->name));
	if (learn_validate(&e->pol, ent, e->o->learn_flags, &r, &why)) {
		shmq_count_rejected(&e->q);
		log_warnx("dnsq: refused an entry for '%s' (rule %u): %s", name, ent->rule_id, why);
		return;
	}
	t = trie_of(e, r.family);
	addr_str(r.family, r.addr, addr, sizeof(addr));
	memset(&key, 0, sizeof(key));
	key.prefixlen = t.maxlen;
	memcpy(key.addr, r.addr, t.alen);
	/* Longest match for the host route: a learned entry is always the host route itself; a
	 * static one is the most specific CIDR rule that covers the address. */
	exists = bpf_map_lookup_elem(t.fd, &key, &val) == 0;
	if (!exists && errno != ENOENT) {
		log_warn("dnsq: %s -> %s: LPM lookup", name, addr);
		return;
	}
	if (exists && val.origin != CW_ORIGIN_LEARNED) {
		if (val.action != CW_ACTION_ALLOW) {
			/* DNS never opens what the policy closed. */
			shmq_count_rejected(&e->q);
			log_warnx("dnsq: refused %s -> %s (rule %u): denied by CIDR rule %u", name,
				  addr, r.rule_id, val.rule_id);
		} else {
			log_debug("dnsq: %s -> %s: already allowed by CIDR rule %u", name, addr,
				  val.rule_id);
		}
		return;
	}
	if (!exists && e->n_learned >= CW_LEARNED_MAX) {
		shmq_count_rejected(&e->q);
		log_warnx("dnsq: refused %s -> %s (rule %u): %d learned addresses already", name,
			  addr, r.rule_id, CW_LEARNED_MAX);
		return;
	}
	deadline = enf_now_ns() + (uint64_t)r.ttl_s * 1000000000ULL;
	/* Two names may share an address: a refresh never shortens what another granted. */
	if (exists && val.expires_ns > deadline)
		deadline = val.expires_ns;
	memset(&val, 0, sizeof(val));
	val.expires_ns = deadline;
	val.rule_id = r.rule_id;
	val.action = CW_ACTION_ALLOW;
	val.origin = CW_ORIGIN_LEARNED;
	if (bpf_map_update_elem(t.fd, &key, &val, BPF_ANY) < 0) {
		log_warn("dnsq: %s -> %s: LPM update", name, addr);
		return;
	}
	if (!exists)
		e->n_learned++;
	log_info("learned %s -> %s (rule %u, ttl %u s)", name, addr, r.rule_id, r.ttl_s);
}

unsigned int trie_drain(struct enf *e)
{
	struct cw_dnsq_entry ent;
	unsigned int n = 0;

	/* Bounded: a producer that keeps pushing cannot keep us from signals and the sweep. */
	while (n < CW_DNSQ_CAPACITY && shmq_pop(&e->q, &ent) == 1) {
		n++;
		learn_one(e, &ent);
	}
	shmq_publish_applied(&e->q);
	return n;
}

/* Walk one trie, collect the learned entries past their deadline, then delete them (deleting
 * while walking would restart get_next_key from the first key). Returns the learned entries
 * still there. The kernel already ignores expired entries: this only frees their slots. */
static uint64_t sweep_one(const struct trie *t, uint64_t now)
{
	struct lpm_key key, next, *dead = NULL;
	size_t n_dead = 0, cap = 0, i;
	uint64_t seen = 0;
	void *prev = NULL;

	memset(&next, 0, sizeof(next));
	while (bpf_map_get_next_key(t->fd, prev, &next) == 0) {
		struct cw_lpm_val val;

		key = next;
		prev = &key;
		if (key.prefixlen != t->maxlen || bpf_map_lookup_elem(t->fd, &key, &val) < 0 ||
		    val.origin != CW_ORIGIN_LEARNED)
			continue;
		seen++;
		if (!val.expires_ns || val.expires_ns > now)
			continue;
		if (n_dead == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *nd = realloc(dead, ncap * sizeof(*dead));

			if (!nd)
				break; /* the rest waits for the next sweep */
			dead = nd;
			cap = ncap;
		}
		dead[n_dead++] = key;
	}
	for (i = 0; i < n_dead; i++) {
		char buf[INET6_ADDRSTRLEN];

		addr_str(t->family, dead[i].addr, buf, sizeof(buf));
		if (bpf_map_delete_elem(t->fd, &dead[i]) < 0 && errno != ENOENT) {
			log_warn("expiry: deleting %s", buf);
			continue;
		}
		seen--;
		log_debug("expired %s", buf);
	}
	free(dead);
	return seen;
}

void trie_sweep(struct enf *e)
{
	struct trie t4 = trie_of(e, 4), t6 = trie_of(e, 6);
	uint64_t now = enf_now_ns();

	if (!e->n_learned)
		return;
	e->n_learned = sweep_one(&t4, now) + sweep_one(&t6, now);
}
