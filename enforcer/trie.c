// SPDX-License-Identifier: Apache-2.0
/* The LPM tries (IPv4 and IPv6): static CIDR rules at start, host routes learned from dnsd
 * while running, and the sweep that frees learned entries past their deadline. dnsd is treated as hostile
 * (DESIGN.md §3): every entry is copied out, validated, checked against the static rules and
 * bounded in number and lifetime. */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static bool rule_any_port(const struct policy_rule *r)
{
	return r->n_ports == 0;
}

static struct cw_rule_ref rule_ref(const struct policy *p, uint32_t rule_id, uint8_t flags)
{
	const struct policy_rule *r = &p->rules[rule_id - 1];
	struct cw_rule_ref ref;

	memset(&ref, 0, sizeof(ref));
	ref.rule_id = rule_id;
	ref.action = r->action == CW_ACTION_ALLOW ? CW_ACTION_ALLOW : CW_ACTION_DENY;
	ref.flags = flags | (rule_any_port(r) ? CW_REF_ANY_PORT : 0);
	return ref;
}

/* The port keys of one rule: "all" is TCP and UDP on the port plus ICMP; ICMP goes by port 0.
 * Calls fn for each key; returns how many. */
static size_t rule_port_keys(uint32_t rule_id, const struct policy_rule *r,
			     int (*fn)(void *arg, const struct cw_port_key *k), void *arg, int *err)
{
	static const uint8_t icmp[] = { IPPROTO_ICMP, IPPROTO_ICMPV6 };
	struct cw_port_key k;
	size_t i, j, n = 0;

	for (i = 0; i < r->n_ports; i++) {
		const struct policy_port *pp = &r->ports[i];

		memset(&k, 0, sizeof(k));
		k.rule_id = rule_id;
		k.port = htons(pp->port);
		if (pp->proto == POLICY_PROTO_TCP || pp->proto == POLICY_PROTO_ALL) {
			k.protocol = IPPROTO_TCP;
			n++;
			if (fn && !*err)
				*err = fn(arg, &k);
		}
		if (pp->proto == POLICY_PROTO_UDP || pp->proto == POLICY_PROTO_ALL) {
			k.protocol = IPPROTO_UDP;
			n++;
			if (fn && !*err)
				*err = fn(arg, &k);
		}
		if (pp->proto == POLICY_PROTO_ICMP || pp->proto == POLICY_PROTO_ALL) {
			k.port = 0;
			for (j = 0; j < sizeof(icmp); j++) {
				k.protocol = icmp[j];
				n++;
				if (fn && !*err)
					*err = fn(arg, &k);
			}
		}
	}
	return n;
}

static int port_key_insert(void *arg, const struct cw_port_key *k)
{
	__u8 one = 1;

	return bpf_map_update_elem(*(int *)arg, k, &one, BPF_ANY) < 0 ? -errno : 0;
}

size_t trie_port_keys(const struct enf *e)
{
	size_t i, n = 0;
	int err = 0;

	for (i = 0; i < e->pol.n_rules; i++)
		n += rule_port_keys((uint32_t)i + 1, &e->pol.rules[i], NULL, NULL, &err);
	return n;
}

int trie_size_maps(struct enf *e)
{
	size_t n = trie_port_keys(e);
	int err;

	/* Room for a reload (adopt.c) whose policy has more port keys: the pinned map cannot
	 * grow. A preallocated element is about 64 bytes. */
	n = 2 * n > ENF_PORT_KEYS_FLOOR ? 2 * n : ENF_PORT_KEYS_FLOOR;
	err = bpf_map__set_max_entries(e->skel->maps.rule_ports, (__u32)n);
	if (err)
		log_warnx("sizing the port map (%zu entries): %s", n, strerror(-err));
	return err;
}

struct static_ent {
	struct lpm_key key;
	uint32_t rule_id;
	uint8_t family;
	uint8_t action;
};

static int prefix_cmp(const struct static_ent *a, uint8_t family, uint32_t plen,
		      const uint8_t *addr)
{
	if (a->family != family)
		return a->family < family ? -1 : 1;
	if (a->key.prefixlen != plen)
		return a->key.prefixlen < plen ? -1 : 1;
	return memcmp(a->key.addr, addr, sizeof(a->key.addr));
}

/* Sorted by prefix, then deny first, then the lowest rule id: a chain takes each prefix's
 * rules in that order (deny wins at equal prefix). */
static int static_cmp(const void *pa, const void *pb)
{
	const struct static_ent *a = pa, *b = pb;
	int c = prefix_cmp(a, b->family, b->key.prefixlen, b->key.addr);

	if (c)
		return c;
	if (a->action != b->action)
		return a->action == CW_ACTION_DENY ? -1 : 1;
	return a->rule_id < b->rule_id ? -1 : a->rule_id > b->rule_id;
}

/* The policy masks already; masking again keeps a key from ever carrying host bits. */
static void mask_addr(uint8_t *out, const uint8_t *in, size_t alen, uint32_t plen)
{
	size_t i;

	memset(out, 0, 16);
	for (i = 0; i < alen; i++) {
		int bits = (int)plen - (int)i * 8;

		out[i] = bits >= 8 ? in[i] : bits <= 0 ? 0 : in[i] & (uint8_t)(0xff << (8 - bits));
	}
}

/* Index of the first entry with this prefix, or n. */
static size_t prefix_find(const struct static_ent *ents, size_t n, uint8_t family, uint32_t plen,
			  const uint8_t *addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (prefix_cmp(&ents[mid], family, plen, addr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !prefix_cmp(&ents[lo], family, plen, addr) ? lo : n;
}

/* The chain of one prefix: the rules of every prefix that covers it, most specific first. */
static int static_chain(const struct enf *e, const struct static_ent *ents, size_t n, size_t at,
			struct cw_lpm_val *val)
{
	const struct static_ent *g = &ents[at];
	size_t alen = g->family == 4 ? 4 : 16, k = 0, j;
	uint8_t masked[16];
	int q;

	for (q = (int)g->key.prefixlen; q >= 0; q--) {
		mask_addr(masked, g->key.addr, alen, (uint32_t)q);
		for (j = prefix_find(ents, n, g->family, (uint32_t)q, masked);
		     j < n && !prefix_cmp(&ents[j], g->family, (uint32_t)q, masked); j++) {
			if (k == CW_CHAIN_MAX)
				return -E2BIG;
			val->chain[k++] = rule_ref(&e->pol, ents[j].rule_id, 0);
		}
	}
	return 0;
}

int trie_load_ports(struct enf *e)
{
	const struct policy *p = &e->pol;
	int err = 0, ports_fd = bpf_map__fd(e->skel->maps.rule_ports);
	size_t i;

	for (i = 0; i < p->n_rules && !err; i++)
		rule_port_keys((uint32_t)i + 1, &p->rules[i], port_key_insert, &ports_fd, &err);
	if (err)
		log_warnx("port map: %s", strerror(-err));
	return err;
}

int trie_load_static(struct enf *e)
{
	const struct policy *p = &e->pol;
	struct static_ent *ents = NULL;
	size_t i, n = 0, loaded[2] = { 0, 0 }, count[2] = { 0, 0 };
	int err = 0;

	/* Adopting, an old chain's rule id may name one of our rules: our keys come only once
	 * every chain is ours (adopt_finish; adopt.c says why). */
	if (!e->adopting) {
		err = trie_load_ports(e);
		if (err)
			return err;
	}
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

		if (i && !prefix_cmp(&ents[i - 1], ents[i].family, ents[i].key.prefixlen,
				     ents[i].key.addr))
			continue; /* one entry per prefix, its chain holds every rule */
		addr_str(t.family, ents[i].key.addr, buf, sizeof(buf));
		memset(&val, 0, sizeof(val));
		val.origin = CW_ORIGIN_STATIC;
		val.prefixlen = (uint8_t)ents[i].key.prefixlen;
		if (static_chain(e, ents, n, i, &val)) {
			log_warnx("policy: more than %d CIDR rules cover %s/%u", CW_CHAIN_MAX, buf,
				  ents[i].key.prefixlen);
			err = -E2BIG;
			goto out;
		}
		if (bpf_map_update_elem(t.fd, &ents[i].key, &val, BPF_ANY) < 0) {
			err = -errno;
			log_warnx("LPM trie: inserting %s/%u: %s", buf, ents[i].key.prefixlen,
				  strerror(-err));
			goto out;
		}
		log_debug("prefix %s/%u: first rule %u %s", buf, ents[i].key.prefixlen,
			  val.chain[0].rule_id,
			  val.chain[0].action == CW_ACTION_ALLOW ? "allow" : "deny");
		loaded[t.family == 6]++;
	}
	log_info("%zu IPv4 and %zu IPv6 CIDR prefix(es) loaded", loaded[0], loaded[1]);
out:
	free(ents);
	return err;
}

/* ---- expiry ------------------------------------------------------------------------------- */

/* Expired entries deleted per sweep: bounds the time the event loop (and so the acks dnsd waits
 * for) spends in one sweep; the rest goes at the next tick. The kernel ignores an expired entry
 * anyway: deleting only frees its slot. */
#define SWEEP_BATCH 4096

/* A learned entry's deadline as pushed when it was first written. A refresh does not push: at
 * pop time the map's deadline has moved on, and the element is pushed again with it. */
struct expiry {
	uint64_t deadline;
	uint8_t family;
	uint8_t addr[16];
};

static void heap_swap(struct expiry *h, size_t a, size_t b)
{
	struct expiry t = h[a];

	h[a] = h[b];
	h[b] = t;
}

static void expiry_push(struct enf *e, uint8_t family, const uint8_t *addr, uint64_t deadline)
{
	struct expiry *h;
	size_t i;

	if (e->n_expiries == e->cap_expiries) {
		size_t ncap = e->cap_expiries ? e->cap_expiries * 2 : 1024;

		h = realloc(e->expiries, ncap * sizeof(*h));
		if (!h) {
			/* The entry still expires in the kernel; its slot is freed by the rebuild
			 * that the next full heap triggers. */
			log_warnx("expiry heap: out of memory");
			return;
		}
		e->expiries = h;
		e->cap_expiries = ncap;
		/* The old copy, freed below the heap's top, is given back rather than left
		 * resident: each doubling would leave one (issue 6). */
		malloc_trim(0);
	}
	h = e->expiries;
	i = e->n_expiries++;
	memset(&h[i], 0, sizeof(h[i]));
	h[i].deadline = deadline;
	h[i].family = family;
	memcpy(h[i].addr, addr, family == 4 ? 4 : 16);
	while (i && h[(i - 1) / 2].deadline > h[i].deadline) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void expiry_pop(struct enf *e)
{
	struct expiry *h = e->expiries;
	size_t i = 0, n = --e->n_expiries;

	h[0] = h[n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && h[l].deadline < h[m].deadline)
			m = l;
		if (r < n && h[r].deadline < h[m].deadline)
			m = r;
		if (m == i)
			break;
		heap_swap(h, i, m);
		i = m;
	}
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

/* The chain of a learned host route: the covering CIDR denies first (DNS never opens what the
 * policy closed), then the hostname rules that resolved to the address, then the covering CIDR
 * allows. 0, 1 when the rule is already on the chain (a refresh), or -E2BIG when it does not
 * fit. */
static int learned_chain(const struct cw_lpm_val *base, bool have_base, struct cw_rule_ref ref,
			 struct cw_lpm_val *out)
{
	size_t i, k = 0;
	bool placed = false;

	memset(out->chain, 0, sizeof(out->chain));
	for (i = 0; have_base && i < CW_CHAIN_MAX && base->chain[i].rule_id; i++) {
		const struct cw_rule_ref *r = &base->chain[i];

		if (r->rule_id == ref.rule_id)
			return 1;
		if (!placed && !(r->flags & CW_REF_LEARNED) && r->action == CW_ACTION_ALLOW) {
			if (k == CW_CHAIN_MAX)
				return -E2BIG;
			out->chain[k++] = ref;
			placed = true;
		}
		if (k == CW_CHAIN_MAX)
			return -E2BIG;
		out->chain[k++] = *r;
	}
	if (!placed) {
		if (k == CW_CHAIN_MAX)
			return -E2BIG;
		out->chain[k++] = ref;
	}
	return 0;
}

/* Learned entries logged one line each per second; past that, at debug level, and counted in
 * one summary line (trie_drain). A burst of fresh names (bench/dns: 50,000 in ten seconds)
 * would otherwise cost more in log lines than in map updates. Refusals are always logged. */
#define LEARN_LOG_PER_S 32
static unsigned int learn_log_left = LEARN_LOG_PER_S;
static uint64_t learn_log_window_ns, learn_log_quiet;

/* What learn_one() learned, logged by trie_drain() once the answer waiting for it is
 * acknowledged: a log line is a write to a file, and dnsd holds the answer until the ack. */
struct learn_note {
	bool learned;
	uint32_t rule_id, ttl_s;
	char name[CW_NAME_MAX], addr[INET6_ADDRSTRLEN];
};

static void learn_note_log(struct learn_note *n)
{
	if (!n->learned)
		return;
	n->learned = false;
	if (learn_log_left) {
		learn_log_left--;
		log_info("learned %s -> %s (rule %u, ttl %u s)", n->name, n->addr, n->rule_id,
			 n->ttl_s);
	} else {
		learn_log_quiet++;
		log_debug("learned %s -> %s (rule %u, ttl %u s)", n->name, n->addr, n->rule_id,
			  n->ttl_s);
	}
}

static void learn_one(struct enf *e, const struct cw_dnsq_entry *ent, struct learn_note *note)
{
	char *name = note->name, *addr = note->addr;
	struct cw_lpm_val val, nval;
	struct learn_route r;
	struct lpm_key key;
	struct trie t;
	const char *why;
	uint64_t deadline;
	bool exists, learned;

	note->learned = false;
	name_for_log(name, sizeof(note->name), ent->name, sizeof(ent->name));
	if (learn_validate(&e->pol, ent, e->o->learn_flags, &r, &why)) {
		shmq_count_rejected(&e->q);
		log_warnx("dnsq: refused an entry for '%s' (rule %u): %s", name, ent->rule_id, why);
		return;
	}
	t = trie_of(e, r.family);
	addr_str(r.family, r.addr, addr, sizeof(note->addr));
	memset(&key, 0, sizeof(key));
	key.prefixlen = t.maxlen;
	memcpy(key.addr, r.addr, t.alen);
	/* Longest match for the host route: our own learned entry, or the most specific CIDR
	 * prefix that covers the address (its chain holds every covering rule). */
	exists = bpf_map_lookup_elem(t.fd, &key, &val) == 0;
	if (!exists && errno != ENOENT) {
		log_warn("dnsq: %s -> %s: LPM lookup", name, addr);
		return;
	}
	learned = exists && val.origin == CW_ORIGIN_LEARNED;
	if (exists && !learned) {
		if ((val.chain[0].flags & CW_REF_ANY_PORT) &&
		    val.chain[0].action != CW_ACTION_ALLOW) {
			/* DNS never opens what the policy closed. */
			shmq_count_rejected(&e->q);
			log_warnx("dnsq: refused %s -> %s (rule %u): denied by CIDR rule %u", name,
				  addr, r.rule_id, val.chain[0].rule_id);
			return;
		}
		if (val.prefixlen == t.maxlen) {
			log_debug("dnsq: %s -> %s: a CIDR rule for this very address decides", name,
				  addr);
			return;
		}
	}
	if (!learned && e->n_learned >= CW_LEARNED_MAX) {
		shmq_count_rejected(&e->q);
		log_warnx("dnsq: refused %s -> %s (rule %u): %d learned addresses already", name,
			  addr, r.rule_id, CW_LEARNED_MAX);
		return;
	}
	memset(&nval, 0, sizeof(nval));
	switch (learned_chain(&val, exists, rule_ref(&e->pol, r.rule_id, CW_REF_LEARNED), &nval)) {
	case 0:
		break;
	case 1:
		nval = val; /* a refresh: the same chain */
		break;
	default:
		shmq_count_rejected(&e->q);
		log_warnx("dnsq: refused %s -> %s (rule %u): more than %d rules on one address",
			  name, addr, r.rule_id, CW_CHAIN_MAX);
		return;
	}
	deadline = enf_now_ns() + (uint64_t)r.ttl_s * 1000000000ULL;
	/* Two names may share an address: a refresh never shortens what another granted. */
	if (learned && val.expires_ns > deadline)
		deadline = val.expires_ns;
	nval.expires_ns = deadline;
	nval.origin = CW_ORIGIN_LEARNED;
	nval.prefixlen = t.maxlen;
	if (bpf_map_update_elem(t.fd, &key, &nval, BPF_ANY) < 0) {
		log_warn("dnsq: %s -> %s: LPM update", name, addr);
		return;
	}
	if (!learned)
		e->n_learned++;
	/* Answer to trie entry: from dnsd's answer to now, the entry written (the issue 3
	 * benchmark's figure; bench/dns). A statistic only: a value dnsd could not have meant
	 * (0, in the future, older than 10 s) is left out. */
	if (ent->t_answer_us) {
		uint32_t us = (uint32_t)(enf_now_ns() / 1000) - ent->t_answer_us;

		if (us < 10000000)
			hist_add(&e->trie_hist, us);
	}
	/* A refresh pushes nothing: the entry's element already in the heap is due no later than
	 * the new deadline, and trie_sweep_at() pushes it again at the deadline it finds. One
	 * element per learned address, not one per answer within the TTL (issue 6: a name asked
	 * every few seconds grew the heap by 32 bytes an answer for the whole TTL floor). */
	if (!learned)
		expiry_push(e, r.family, r.addr, nval.expires_ns);
	note->learned = true;
	note->rule_id = r.rule_id;
	note->ttl_s = r.ttl_s;
}

/* One byte down the ack pipe. EAGAIN: the pipe is full of wake-ups dnsd has not read yet. */
static void ack_ring(struct enf *e)
{
	static const char one = 1;

	if (e->ack_fd >= 0 && write(e->ack_fd, &one, 1) < 0 && errno != EAGAIN)
		log_warn("ack pipe fd %d", e->ack_fd);
}

unsigned int trie_drain(struct enf *e)
{
	struct learn_note note = { .learned = false };
	struct cw_dnsq_entry ent;
	unsigned int n = 0;
	uint64_t now;

	/* Bounded: a producer that keeps pushing cannot keep us from signals and the sweep. */
	while (n < CW_DNSQ_CAPACITY && shmq_pop(&e->q, &ent) == 1) {
		n++;
		learn_one(e, &ent, &note);
		/* Each answer waits in dnsd until its addresses are applied: publish as we go, not
		 * after the batch, so the first answer is not held for the last one's work. dnsd
		 * is woken only when this reaches the entry it waits for (the oldest answer it
		 * holds), once: it then releases everything applied by then, and asks for its new
		 * oldest, which the rest of this pass may cover without another wake-up. The log
		 * line comes after. */
		if (shmq_publish_applied(&e->q))
			ack_ring(e);
		learn_note_log(&note);
	}
	if (!n && shmq_publish_applied(&e->q))
		ack_ring(e);
	now = enf_now_ns();
	if (now - learn_log_window_ns >= 1000000000ULL) {
		if (learn_log_quiet)
			log_info(
				"learned %llu more address(es) in the last %llu ms (logged at debug "
				"level)",
				(unsigned long long)learn_log_quiet,
				(unsigned long long)(now - learn_log_window_ns) / 1000000ULL);
		learn_log_window_ns = now;
		learn_log_left = LEARN_LOG_PER_S;
		learn_log_quiet = 0;
	}
	return n;
}

void trie_sweep(struct enf *e)
{
	trie_sweep_at(e, enf_now_ns());
}

void trie_sweep_at(struct enf *e, uint64_t now)
{
	unsigned int done = 0;

	while (e->n_expiries && e->expiries[0].deadline <= now && done < SWEEP_BATCH) {
		struct expiry x = e->expiries[0];
		struct trie t = trie_of(e, x.family);
		char buf[INET6_ADDRSTRLEN];
		struct cw_lpm_val val;
		struct lpm_key key;

		expiry_pop(e);
		done++;
		memset(&key, 0, sizeof(key));
		key.prefixlen = t.maxlen;
		memcpy(key.addr, x.addr, t.alen);
		/* Only our own learned host route, only if nobody refreshed it since; refreshed:
		 * due again at its new deadline (learn_one() pushes nothing for a refresh). */
		if (bpf_map_lookup_elem(t.fd, &key, &val) < 0 || val.origin != CW_ORIGIN_LEARNED ||
		    val.prefixlen != t.maxlen)
			continue;
		if (val.expires_ns > now) {
			expiry_push(e, x.family, x.addr, val.expires_ns);
			continue;
		}
		addr_str(t.family, x.addr, buf, sizeof(buf));
		if (bpf_map_delete_elem(t.fd, &key) < 0 && errno != ENOENT) {
			log_warn("expiry: deleting %s", buf);
			continue;
		}
		if (e->n_learned)
			e->n_learned--;
		log_debug("expired %s", buf);
	}
}

void trie_free(struct enf *e)
{
	free(e->expiries);
	e->expiries = NULL;
	e->n_expiries = e->cap_expiries = 0;
}

struct cw_rule_ref trie_rule_ref(const struct enf *e, uint32_t rule_id, uint8_t flags)
{
	return rule_ref(&e->pol, rule_id, flags);
}

int trie_learned_chain(const struct cw_lpm_val *base, bool have_base, struct cw_rule_ref ref,
		       struct cw_lpm_val *out)
{
	return learned_chain(base, have_base, ref, out);
}

void trie_expiry_push(struct enf *e, uint8_t family, const uint8_t *addr, uint64_t deadline)
{
	expiry_push(e, family, addr, deadline);
}
