// SPDX-License-Identifier: Apache-2.0
/* The IPv4 LPM trie: static CIDR rules at start, host routes learned from dnsd while running,
 * and the sweep that frees learned entries past their deadline. dnsd is treated as hostile
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

static int lpm_fd(const struct enf *e)
{
	return bpf_map__fd(e->skel->maps.lpm_v4);
}

/* ---- static rules ----------------------------------------------------------------------- */

struct static_ent {
	struct cw_lpm_v4_key key;
	uint32_t rule_id;
	uint8_t action;
};

/* Equal prefixes end up adjacent with deny first, then the lowest rule id: the first of each
 * run is the one that goes in (deny wins at equal prefix). */
static int static_cmp(const void *pa, const void *pb)
{
	const struct static_ent *a = pa, *b = pb;

	if (a->key.prefixlen != b->key.prefixlen)
		return a->key.prefixlen < b->key.prefixlen ? -1 : 1;
	if (a->key.addr != b->key.addr)
		return ntohl(a->key.addr) < ntohl(b->key.addr) ? -1 : 1;
	if (a->action != b->action)
		return a->action == CW_ACTION_DENY ? -1 : 1;
	return a->rule_id < b->rule_id ? -1 : a->rule_id > b->rule_id;
}

static __be32 mask_v4(const uint8_t addr[16], uint8_t plen)
{
	uint32_t a;

	memcpy(&a, addr, sizeof(a));
	/* The policy masks already; masking again keeps a key from ever carrying host bits. */
	return plen ? a & htonl(~0U << (32 - plen)) : 0;
}

int trie_load_static(struct enf *e)
{
	const struct policy *p = &e->pol;
	struct static_ent *ents = NULL;
	size_t i, n = 0, loaded = 0;
	int err = 0;

	ents = calloc(p->n_rules ? p->n_rules : 1, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (r->type != POLICY_RULE_CIDR)
			continue;
		if (r->family != 4 || r->prefixlen > 32) {
			log_warnx("rule %zu (%s): IPv6 CIDR rules are not enforced yet", i + 1,
				  r->value);
			continue;
		}
		if (r->n_ports)
			log_warnx("rule %zu (%s): port lists are not enforced yet; the rule "
				  "applies to every port",
				  i + 1, r->value);
		ents[n].key.prefixlen = r->prefixlen;
		ents[n].key.addr = mask_v4(r->addr, r->prefixlen);
		ents[n].rule_id = (uint32_t)(i + 1);
		ents[n].action = r->action == CW_ACTION_ALLOW ? CW_ACTION_ALLOW : CW_ACTION_DENY;
		n++;
	}
	if (n > CW_STATIC_PREFIXES_MAX) {
		log_warnx("policy: %zu IPv4 CIDR rules, at most %d", n, CW_STATIC_PREFIXES_MAX);
		err = -E2BIG;
		goto out;
	}
	qsort(ents, n, sizeof(*ents), static_cmp);
	for (i = 0; i < n; i++) {
		struct cw_lpm_val val;
		char buf[INET_ADDRSTRLEN];

		if (i && !memcmp(&ents[i].key, &ents[i - 1].key, sizeof(ents[i].key)))
			continue;
		memset(&val, 0, sizeof(val));
		val.rule_id = ents[i].rule_id;
		val.action = ents[i].action;
		val.origin = CW_ORIGIN_STATIC;
		if (bpf_map_update_elem(lpm_fd(e), &ents[i].key, &val, BPF_ANY) < 0) {
			err = -errno;
			log_warnx("LPM trie: inserting rule %u: %s", ents[i].rule_id,
				  strerror(-err));
			goto out;
		}
		inet_ntop(AF_INET, &ents[i].key.addr, buf, sizeof(buf));
		log_debug("rule %u: %s/%u %s", ents[i].rule_id, buf, ents[i].key.prefixlen,
			  ents[i].action == CW_ACTION_ALLOW ? "allow" : "deny");
		loaded++;
	}
	log_info("%zu IPv4 CIDR prefix(es) loaded", loaded);
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
	struct cw_lpm_v4_key key;
	struct cw_lpm_val val;
	struct learn_route r;
	const char *why;
	uint64_t deadline;
	bool exists;

	name_for_log(name, sizeof(name), ent->name, sizeof(ent->name));
	if (learn_validate(&e->pol, ent, e->o->learn_flags, &r, &why)) {
		shmq_count_rejected(&e->q);
		log_warnx("dnsq: refused an entry for '%s' (rule %u): %s", name, ent->rule_id, why);
		return;
	}
	inet_ntop(r.family == 4 ? AF_INET : AF_INET6, r.addr, addr, sizeof(addr));
	if (r.family != 4) {
		/* Not refused, not applied: connect6 judges IPv6 by the default action. */
		log_debug("dnsq: %s -> %s: IPv6 addresses are not learned yet", name, addr);
		return;
	}
	memset(&key, 0, sizeof(key));
	key.prefixlen = 32;
	memcpy(&key.addr, r.addr, sizeof(key.addr));
	/* Longest match for the /32: a learned entry is always the /32 itself; a static one is
	 * the most specific CIDR rule that covers the address. */
	exists = bpf_map_lookup_elem(lpm_fd(e), &key, &val) == 0;
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
	if (bpf_map_update_elem(lpm_fd(e), &key, &val, BPF_ANY) < 0) {
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

/* Walk the trie, collect the learned entries past their deadline, then delete them (deleting
 * while walking would restart get_next_key from the first key). The walk also recounts the
 * learned entries. The kernel already ignores expired entries: this only frees their slots. */
void trie_sweep(struct enf *e)
{
	struct cw_lpm_v4_key key, next, *dead = NULL;
	size_t n_dead = 0, cap = 0, i;
	uint64_t now = enf_now_ns(), seen = 0;
	void *prev = NULL;
	int fd = lpm_fd(e);

	if (!e->n_learned)
		return;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct cw_lpm_val val;

		key = next;
		prev = &key;
		if (key.prefixlen != 32 || bpf_map_lookup_elem(fd, &key, &val) < 0 ||
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
		char buf[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &dead[i].addr, buf, sizeof(buf));
		if (bpf_map_delete_elem(fd, &dead[i]) < 0 && errno != ENOENT) {
			log_warn("expiry: deleting %s", buf);
			continue;
		}
		seen--;
		log_debug("expired %s", buf);
	}
	free(dead);
	e->n_learned = seen;
}
