// SPDX-License-Identifier: Apache-2.0
/* dnsd's pure functions beyond the wire format, on crafted input: the CNAME chain walker,
 * reverse names and CIDR verdicts (PTR decisions), the learned-address table, the latency
 * histogram. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsd/chain.h"
#include "dnsd/dnsmsg.h"
#include "dnsd/evdedupe.h"
#include "dnsd/hist.h"
#include "dnsd/learned.h"
#include "dnsd/ptr.h"
#include "proto/maps.h"

/* ---- CNAME chains ---------------------------------------------------------------------- */

struct pk {
	uint8_t b[2048];
	size_t o;
};

static void pk_name(struct pk *p, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p->b[p->o++] = (uint8_t)l;
		memcpy(p->b + p->o, name, l);
		p->o += l;
		name += l;
		if (*name)
			name++;
	}
	p->b[p->o++] = 0;
}

static void pk_ptr(struct pk *p, size_t target)
{
	p->b[p->o++] = (uint8_t)(0xc0 | target >> 8);
	p->b[p->o++] = (uint8_t)target;
}

static void pk16(struct pk *p, uint16_t v)
{
	p->b[p->o++] = (uint8_t)(v >> 8);
	p->b[p->o++] = (uint8_t)v;
}

/* Header (response), question `qname` type A, counts patched by pk_counts. Returns the offset
 * of the question name (12). */
static void pk_start(struct pk *p, const char *qname)
{
	memset(p, 0, sizeof(*p));
	p->b[2] = 0x81;
	p->b[3] = 0x80;
	p->b[5] = 1;
	p->o = 12;
	pk_name(p, qname);
	pk16(p, 1);
	pk16(p, 1);
}

static void pk_counts(struct pk *p, uint16_t an, uint16_t ns, uint16_t ar)
{
	p->b[6] = (uint8_t)(an >> 8);
	p->b[7] = (uint8_t)an;
	p->b[8] = (uint8_t)(ns >> 8);
	p->b[9] = (uint8_t)ns;
	p->b[10] = (uint8_t)(ar >> 8);
	p->b[11] = (uint8_t)ar;
}

/* type, class IN, ttl 60, then rdlength placeholder; returns its offset */
static size_t pk_rr_head(struct pk *p, uint16_t type)
{
	size_t at;

	pk16(p, type);
	pk16(p, 1);
	pk16(p, 0);
	pk16(p, 60);
	at = p->o;
	pk16(p, 0);
	return at;
}

static void pk_rdlen(struct pk *p, size_t at)
{
	size_t l = p->o - at - 2;

	p->b[at] = (uint8_t)(l >> 8);
	p->b[at + 1] = (uint8_t)l;
}

/* owner (text, or NULL with a pointer to owner_ptr) CNAME target (text) */
static size_t pk_cname(struct pk *p, const char *owner, size_t owner_ptr, const char *target)
{
	size_t at, tpos;

	if (owner)
		pk_name(p, owner);
	else
		pk_ptr(p, owner_ptr);
	at = pk_rr_head(p, DNS_TYPE_CNAME);
	tpos = p->o;
	pk_name(p, target);
	pk_rdlen(p, at);
	return tpos;
}

static void pk_a(struct pk *p, size_t owner_ptr)
{
	size_t at;

	pk_ptr(p, owner_ptr);
	at = pk_rr_head(p, DNS_TYPE_A);
	p->b[p->o++] = 10;
	p->b[p->o++] = 0;
	p->b[p->o++] = 0;
	p->b[p->o++] = 1;
	pk_rdlen(p, at);
}

static const char *chain_name(const struct dns_chain *c, unsigned int i)
{
	static char t[DNS_NAME_TEXT_MAX];

	dnsmsg_name_text(c->names[i], c->len[i], t);
	return t;
}

START_TEST(chain_plain_and_cname)
{
	struct dns_chain c;
	struct pk p;
	size_t t1, t2;

	/* no CNAME: the question alone (lowercased) */
	pk_start(&p, "Allowed.Test");
	pk_a(&p, 12);
	pk_counts(&p, 1, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), 0);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_str_eq(chain_name(&c, 0), "allowed.test");

	/* cname-ok.test CNAME evil.test, evil.test A: two names, owner compressed */
	pk_start(&p, "cname-ok.test");
	t1 = pk_cname(&p, NULL, 12, "evil.test");
	pk_a(&p, t1);
	pk_counts(&p, 2, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), 0);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_str_eq(chain_name(&c, 1), "evil.test");

	/* three links, out of order in the section, an unrelated CNAME, upper case owners */
	pk_start(&p, "a.test");
	t2 = pk_cname(&p, "B.TEST", 0, "c.test");
	pk_cname(&p, "x.test", 0, "evil.test"); /* off the chain: ignored */
	t1 = pk_cname(&p, NULL, 12, "b.test");
	pk_a(&p, t2);
	pk_counts(&p, 4, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), 0);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_str_eq(chain_name(&c, 1), "b.test");
	ck_assert_str_eq(chain_name(&c, 2), "c.test");
	(void)t1;

	/* a CNAME in the authority section is not part of the answer */
	pk_start(&p, "a.test");
	pk_cname(&p, NULL, 12, "evil.test");
	pk_counts(&p, 0, 1, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), 0);
	ck_assert_uint_eq(c.n, 1);

	/* target with a compressed suffix: "evil" + pointer to "test" of the question */
	pk_start(&p, "a.test");
	{
		size_t at;

		pk_ptr(&p, 12);
		at = pk_rr_head(&p, DNS_TYPE_CNAME);
		p.b[p.o++] = 4;
		memcpy(p.b + p.o, "evil", 4);
		p.o += 4;
		pk_ptr(&p, 14); /* "test" label of the question */
		pk_rdlen(&p, at);
	}
	pk_counts(&p, 1, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), 0);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_str_eq(chain_name(&c, 1), "evil.test");
}
END_TEST

/* The records libunbound's result would hold, read from the answer packet (dnsd/resolve.c builds
 * its ub_result from this): offsets inside the packet, the smallest TTL, and every truncation
 * or mutation of a good packet refused or read within bounds, never past the end. */
START_TEST(answer_rrs)
{
	struct dns_rdata rd[4];
	struct dns_chain c;
	unsigned int n, i, cut;
	uint32_t ttl;
	struct pk p, m;
	size_t t1;

	/* cname-ok.test CNAME real.test; real.test A 10.0.0.1 twice; the TTL is the smallest */
	pk_start(&p, "cname-ok.test");
	t1 = pk_cname(&p, NULL, 12, "real.test");
	pk_a(&p, t1);
	pk_a(&p, t1);
	pk_counts(&p, 3, 0, 0);
	/* each A: pointer 2, type 2, class 2, TTL 4, rdlength 2, address 4 = 16 bytes; the first
	 * A's TTL becomes 30 (its last byte sits 9 bytes into the record) */
	p.b[p.o - 32 + 9] = 30;
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), 0);
	ck_assert_int_eq(dnsmsg_answer_rrs(p.b, p.o, &c, DNS_TYPE_A, rd, 4, &n, &ttl), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ttl, 30);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(rd[i].len, 4);
		ck_assert_uint_le(rd[i].off + rd[i].len, p.o);
		ck_assert_uint_eq(p.b[rd[i].off], 10);
	}
	/* room for one: *n still counts both */
	ck_assert_int_eq(dnsmsg_answer_rrs(p.b, p.o, &c, DNS_TYPE_A, rd, 1, &n, &ttl), 0);
	ck_assert_uint_eq(n, 2);
	/* another type: nothing */
	ck_assert_int_eq(dnsmsg_answer_rrs(p.b, p.o, &c, DNS_TYPE_AAAA, rd, 4, &n, &ttl), 0);
	ck_assert_uint_eq(n, 0);

	/* every truncation: refused, or read inside what is left */
	for (cut = 0; cut < p.o; cut++) {
		int r = dnsmsg_answer_rrs(p.b, cut, &c, DNS_TYPE_A, rd, 4, &n, &ttl);

		ck_assert(r == 0 || r == -EBADMSG);
		for (i = 0; r == 0 && i < n && i < 4; i++)
			ck_assert_uint_le(rd[i].off + rd[i].len, cut);
	}
	/* every single-byte mutation to a few hostile values (lengths, pointers, counts) */
	for (cut = 0; cut < p.o; cut++) {
		static const uint8_t vals[] = { 0x00, 0x3f, 0xc0, 0xff };

		for (i = 0; i < sizeof(vals); i++) {
			int r;
			unsigned int j;

			m = p;
			m.b[cut] = vals[i];
			if (dnsmsg_cname_chain(m.b, m.o, &c))
				continue;
			r = dnsmsg_answer_rrs(m.b, m.o, &c, DNS_TYPE_A, rd, 4, &n, &ttl);
			ck_assert(r == 0 || r == -EBADMSG);
			for (j = 0; r == 0 && j < n && j < 4; j++)
				ck_assert_uint_le(rd[j].off + rd[j].len, m.o);
		}
	}
}
END_TEST

START_TEST(chain_hostile)
{
	struct dns_chain c;
	struct pk p;
	size_t t1, good;
	int i;

	/* a loop: a -> b -> a */
	pk_start(&p, "a.test");
	t1 = pk_cname(&p, NULL, 12, "b.test");
	pk_cname(&p, NULL, t1, "a.test");
	pk_counts(&p, 2, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), -ELOOP);

	/* 17 links (18 names): too long; 16 links (17 names) is fine */
	for (i = 16; i <= 17; i++) {
		char o[16], t[16];
		int k;

		pk_start(&p, "n0.test");
		for (k = 0; k < i; k++) {
			snprintf(o, sizeof(o), "n%d.test", k);
			snprintf(t, sizeof(t), "n%d.test", k + 1);
			pk_cname(&p, o, 0, t);
		}
		pk_counts(&p, (uint16_t)i, 0, 0);
		ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), i == 16 ? 0 : -ELOOP);
		if (i == 16)
			ck_assert_uint_eq(c.n, DNS_CHAIN_MAX);
	}

	/* two CNAMEs for one name */
	pk_start(&p, "a.test");
	pk_cname(&p, NULL, 12, "b.test");
	pk_cname(&p, NULL, 12, "evil.test");
	pk_counts(&p, 2, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), -EBADMSG);

	/* a record running past the end, a count larger than the records */
	pk_start(&p, "a.test");
	pk_cname(&p, NULL, 12, "b.test");
	good = p.o;
	pk_counts(&p, 1, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, good - 1, &c), -EBADMSG);
	pk_counts(&p, 2, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, good, &c), -EBADMSG);

	/* a pointer forwards (and one to itself) */
	pk_start(&p, "a.test");
	pk_ptr(&p, p.o);
	pk_rr_head(&p, DNS_TYPE_A);
	pk_counts(&p, 1, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), -EBADMSG);
	pk_start(&p, "a.test");
	pk_ptr(&p, p.o + 4);
	pk_rr_head(&p, DNS_TYPE_A);
	pk_counts(&p, 1, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), -EBADMSG);

	/* CNAME target that does not fill its RDATA exactly */
	pk_start(&p, "a.test");
	pk_cname(&p, NULL, 12, "b.test");
	p.b[p.o - 9] += 1; /* rdlength one more than the name */
	p.b[p.o++] = 0;
	pk_counts(&p, 1, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), -EBADMSG);

	/* not exactly one question */
	pk_start(&p, "a.test");
	p.b[5] = 2;
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), -EBADMSG);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, 11, &c), -EBADMSG);

	/* more CNAMEs than DNS_CHAIN_RR_MAX */
	pk_start(&p, "a.test");
	for (i = 0; i <= DNS_CHAIN_RR_MAX; i++) {
		char o[16];

		snprintf(o, sizeof(o), "x%d.test", i);
		pk_cname(&p, o, 0, "y.test");
	}
	pk_counts(&p, DNS_CHAIN_RR_MAX + 1, 0, 0);
	ck_assert_int_eq(dnsmsg_cname_chain(p.b, p.o, &c), -EBADMSG);
}
END_TEST

/* ---- reverse names and CIDR verdicts --------------------------------------------------- */

START_TEST(ptr_names)
{
	static const struct {
		const char *name;
		int ret;
		uint8_t family;
		const char *addr; /* hex of the 4 or 16 bytes */
	} cases[] = {
		{ "1.0.199.10.in-addr.arpa", 1, 4, "0ac70001" },
		{ "1.0.199.10.IN-ADDR.ARPA.", 1, 4, "0ac70001" },
		{ "255.255.255.255.in-addr.arpa", 1, 4, "ffffffff" },
		{ "0.0.0.0.in-addr.arpa", 1, 4, "00000000" },
		{ "01.0.199.10.in-addr.arpa", -EINVAL, 4, NULL },
		{ "256.0.199.10.in-addr.arpa", -EINVAL, 4, NULL },
		{ "199.10.in-addr.arpa", -EINVAL, 4, NULL },
		{ "1.1.0.199.10.in-addr.arpa", -EINVAL, 4, NULL },
		{ "0/25.0.199.10.in-addr.arpa", -EINVAL, 4, NULL },
		{ "a.0.199.10.in-addr.arpa", -EINVAL, 4, NULL },
		{ "in-addr.arpa", -EINVAL, 4, NULL },
		{ "1..199.10.in-addr.arpa", -EINVAL, 4, NULL },
		{ "b.a.9.8.7.6.5.4.3.2.1.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", 1, 6,
		  "20010db80000000000000123456789ab" },
		{ "B.A.9.8.7.6.5.4.3.2.1.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.IP6.ARPA.", 1, 6,
		  "20010db80000000000000123456789ab" },
		{ "a.9.8.7.6.5.4.3.2.1.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", -EINVAL,
		  6, NULL },
		{ "g.a.9.8.7.6.5.4.3.2.1.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
		  -EINVAL, 6, NULL },
		{ "ip6.arpa", -EINVAL, 6, NULL },
		{ "allowed.test", 0, 0, NULL },
		{ "in-addr.arpa.evil.test", 0, 0, NULL },
		{ "xin-addr.arpa", 0, 0, NULL },
		{ "", 0, 0, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t fam = 0, addr[16];
		int r = dnsptr_parse_name(cases[i].name, &fam, addr);

		ck_assert_msg(r == cases[i].ret, "%s: %d", cases[i].name, r);
		if (r == 1) {
			char hex[40] = "";
			int k, l = fam == 4 ? 4 : 16;

			ck_assert_uint_eq(fam, cases[i].family);
			for (k = 0; k < l; k++)
				snprintf(hex + 2 * k, 3, "%02x", addr[k]);
			ck_assert_str_eq(hex, cases[i].addr);
		}
	}
}
END_TEST

static void add_cidr(struct policy *p, uint8_t action, uint8_t fam, const uint8_t *a, uint8_t plen)
{
	struct policy_rule *r = &p->rules[p->n_rules++];

	memset(r, 0, sizeof(*r));
	r->type = POLICY_RULE_CIDR;
	r->action = action;
	r->family = fam;
	r->prefixlen = plen;
	memcpy(r->addr, a, fam == 4 ? 4 : 16);
}

START_TEST(cidr_verdicts)
{
	static const uint8_t n10[16] = { 10 }, n10_199[16] = { 10, 199 },
			     host[16] = { 10, 199, 0, 1 }, other[16] = { 192, 0, 2, 1 },
			     v6net[16] = { 0x20, 0x01, 0x0d, 0xb8 },
			     v6host[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct policy_rule rules[8];
	struct policy p;
	uint32_t rid;

	memset(&p, 0, sizeof(p));
	p.rules = rules;
	rules[0].type = POLICY_RULE_HOSTNAME; /* never considered */
	rules[0].action = CW_ACTION_ALLOW;
	p.n_rules = 1;
	add_cidr(&p, CW_ACTION_ALLOW, 4, n10, 8);     /* rule 2 */
	add_cidr(&p, CW_ACTION_DENY, 4, n10_199, 16); /* rule 3: more specific */
	add_cidr(&p, CW_ACTION_ALLOW, 6, v6net, 32);  /* rule 4 */
	ck_assert_int_eq(dnsptr_cidr_verdict(&p, 4, host, &rid), DNSPTR_CIDR_DENY);
	ck_assert_uint_eq(rid, 3);
	ck_assert_int_eq(dnsptr_cidr_verdict(&p, 4, (const uint8_t[16]){ 10, 1, 2, 3 }, &rid),
			 DNSPTR_CIDR_ALLOW);
	ck_assert_uint_eq(rid, 2);
	ck_assert_int_eq(dnsptr_cidr_verdict(&p, 4, other, &rid), DNSPTR_CIDR_NONE);
	ck_assert_uint_eq(rid, 0);
	ck_assert_int_eq(dnsptr_cidr_verdict(&p, 6, v6host, &rid), DNSPTR_CIDR_ALLOW);
	ck_assert_uint_eq(rid, 4);
	/* an IPv4 rule never covers an IPv6 address with the same leading bytes */
	ck_assert_int_eq(dnsptr_cidr_verdict(&p, 6, n10, &rid), DNSPTR_CIDR_NONE);
	/* equal prefix: deny wins whatever the order; /0 covers everything */
	add_cidr(&p, CW_ACTION_ALLOW, 4, n10_199, 16); /* rule 5 */
	ck_assert_int_eq(dnsptr_cidr_verdict(&p, 4, host, &rid), DNSPTR_CIDR_DENY);
	ck_assert_uint_eq(rid, 3);
	add_cidr(&p, CW_ACTION_ALLOW, 4, other, 0); /* rule 6 */
	ck_assert_int_eq(dnsptr_cidr_verdict(&p, 4, other, &rid), DNSPTR_CIDR_ALLOW);
	ck_assert_uint_eq(rid, 6);
	/* a /20 (non-byte boundary) */
	p.n_rules = 1;
	add_cidr(&p, CW_ACTION_ALLOW, 4, (const uint8_t[16]){ 10, 199, 16 }, 20);
	ck_assert_int_eq(dnsptr_cidr_verdict(&p, 4, (const uint8_t[16]){ 10, 199, 31, 9 }, &rid),
			 DNSPTR_CIDR_ALLOW);
	ck_assert_int_eq(dnsptr_cidr_verdict(&p, 4, (const uint8_t[16]){ 10, 199, 32, 9 }, &rid),
			 DNSPTR_CIDR_NONE);
}
END_TEST

/* ---- learned table and histogram ------------------------------------------------------- */

START_TEST(learned_table)
{
	const int64_t s = 1000000000LL;
	struct learned_table t;
	uint8_t a[16] = { 10, 199, 0, 1 }, b6[16] = { 0x20, 0x01, [15] = 1 };
	uint32_t rid;
	int64_t dl;
	int i;

	ck_assert_int_eq(learned_init(&t, 100, 1), -EINVAL);
	ck_assert_int_eq(learned_init(&t, 1024, 42), 0);
	/* the clamp */
	ck_assert_int_eq(learned_deadline(0, 3), CW_TTL_FLOOR_S * s);
	ck_assert_int_eq(learned_deadline(5, 300), 5 + 300 * s);
	ck_assert_int_eq(learned_deadline(0, 86400), CW_TTL_CAP_S * s);

	ck_assert(!learned_get(&t, 4, a, 0, NULL, NULL));
	learned_put(&t, 4, a, 7, 100 * s, 0);
	ck_assert(learned_get(&t, 4, a, 99 * s, &rid, &dl));
	ck_assert_uint_eq(rid, 7);
	ck_assert_int_eq(dl, 100 * s);
	ck_assert(!learned_get(&t, 4, a, 100 * s, NULL, NULL)); /* expired at its deadline */
	ck_assert(!learned_get(&t, 6, a, 0, NULL, NULL));	/* other family */
	/* a shorter deadline never shrinks it; the rule is the last one */
	learned_put(&t, 4, a, 9, 50 * s, 10 * s);
	ck_assert(learned_get(&t, 4, a, 60 * s, &rid, &dl));
	ck_assert_uint_eq(rid, 9);
	ck_assert_int_eq(dl, 100 * s);
	learned_put(&t, 6, b6, 3, 10 * s, 0);
	ck_assert(learned_get(&t, 6, b6, 0, &rid, NULL));
	ck_assert_uint_eq(rid, 3);
	/* many more entries than slots: bounded, the table keeps working */
	for (i = 0; i < 5000; i++) {
		uint8_t x[16] = { 100, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };

		learned_put(&t, 4, x, 1, (1000 + i) * s, 0);
	}
	{
		uint8_t last[16] = { 100, 0, (uint8_t)(4999 >> 8), (uint8_t)4999 };

		ck_assert(learned_get(&t, 4, last, 0, NULL, NULL));
	}
	learned_free(&t);
}
END_TEST

START_TEST(histogram)
{
	struct hist h;
	int i;

	memset(&h, 0, sizeof(h));
	ck_assert_uint_eq(hist_quantile(&h, 500), 0);
	for (i = 1; i <= 100; i++)
		hist_add(&h, (uint64_t)i);
	ck_assert_uint_eq(h.n, 100);
	ck_assert_uint_eq(h.max, 100);
	ck_assert_uint_eq(hist_quantile(&h, 500), 50); /* exact below 64 */
	/* 99 falls in [96, 99] (16 buckets per power of two): the bound is 99 */
	ck_assert_uint_eq(hist_quantile(&h, 990), 99);
	ck_assert_uint_eq(hist_quantile(&h, 1000), 100);

	memset(&h, 0, sizeof(h));
	for (i = 0; i < 99; i++)
		hist_add(&h, 10);
	hist_add(&h, 5000000); /* one slow outlier */
	ck_assert_uint_eq(hist_quantile(&h, 500), 10);
	ck_assert_uint_eq(hist_quantile(&h, 990), 10);
	ck_assert_uint_eq(h.max, 5000000);
	ck_assert_uint_eq(hist_quantile(&h, 1000), 5000000);
	/* upper bounds stay within 1/16 of the value, and never above the max */
	memset(&h, 0, sizeof(h));
	hist_add(&h, 1000);
	hist_add(&h, 1001);
	ck_assert_uint_ge(hist_quantile(&h, 500), 1000);
	ck_assert_uint_le(hist_quantile(&h, 500), 1001);
	hist_add(&h, UINT64_MAX); /* clamped into the last bucket, max exact */
	ck_assert_uint_eq(h.max, UINT64_MAX);
	ck_assert_uint_eq(hist_quantile(&h, 1000), UINT64_MAX);
}
END_TEST

/* ---- evdedupe: burst dedupe of DNS events ---------------------------------------------- */

struct emitted {
	unsigned int n;
	struct cw_dns_event ev[8];
};

static void emit_rec(void *ctx, const struct cw_dns_event *ev)
{
	struct emitted *o = ctx;

	ck_assert_uint_lt(o->n, 8);
	o->ev[o->n++] = *ev;
}

static void dns_ev(struct cw_dns_event *e, const char *name, uint16_t port, uint32_t ttl)
{
	memset(e, 0, sizeof(*e));
	e->type = CW_DNSEV_ALLOWED;
	e->qtype = 1;
	e->client_family = 4;
	e->client_port = htons(port);
	e->client_addr[0] = 127;
	e->client_addr[3] = 1;
	e->ttl = ttl;
	e->n_answers = 1;
	e->answer_family[0] = 4;
	e->answers[0][0] = 10;
	snprintf(e->query, sizeof(e->query), "%s", name);
}

#define SEC_NS 1000000000LL

START_TEST(evdedupe_windows)
{
	static struct evdedupe t;
	struct emitted out = { 0 };
	struct cw_dns_event a, a2, b, c;
	int i;

	evdedupe_init(&t, 42, SEC_NS);
	dns_ev(&a, "a.test", 4000, 60);
	dns_ev(&a2, "a.test", 4000, 59); /* the TTL counts down: still the same kind */
	dns_ev(&b, "a.test", 4001, 60);	 /* another socket */
	dns_ev(&c, "a.test", 4000, 60);
	c.answers[0][3] = 7; /* another answer */

	/* The first is reported by the caller, the next 5 identical ones are counted. */
	ck_assert(!evdedupe_absorb(&t, &a, 100, emit_rec, &out));
	for (i = 0; i < 4; i++)
		ck_assert(evdedupe_absorb(&t, &a, 200 + i, emit_rec, &out));
	ck_assert(evdedupe_absorb(&t, &a2, 300, emit_rec, &out));
	/* Other kinds are never counted into a's window. */
	ck_assert(!evdedupe_absorb(&t, &b, 400, emit_rec, &out));
	ck_assert(!evdedupe_absorb(&t, &c, 500, emit_rec, &out));
	ck_assert_uint_eq(out.n, 0);
	/* Nothing due before the window ends... */
	ck_assert_int_eq(evdedupe_expire(&t, 99 + SEC_NS, false, emit_rec, &out), 100 + SEC_NS);
	ck_assert_uint_eq(out.n, 0);
	/* ...then one record standing for the 5, with the first's content. */
	ck_assert_int_eq(evdedupe_expire(&t, 100 + SEC_NS, false, emit_rec, &out), 0);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_uint_eq(out.ev[0].count, 5);
	ck_assert_str_eq(out.ev[0].query, "a.test");
	ck_assert_uint_eq(out.ev[0].ttl, 60);
	ck_assert_uint_eq(out.ev[0].client_port, htons(4000));
	/* The window is closed: the next identical event is reported at once again. */
	ck_assert(!evdedupe_absorb(&t, &a, 200 + SEC_NS, emit_rec, &out));
	ck_assert(evdedupe_absorb(&t, &a, 300 + SEC_NS, emit_rec, &out));
	/* A window that ended is reported when its slot is next used, without expire. */
	ck_assert(!evdedupe_absorb(&t, &a, 300 + 2 * SEC_NS, emit_rec, &out));
	ck_assert_uint_eq(out.n, 2);
	ck_assert_uint_eq(out.ev[1].count, 1);
	/* At exit every open count is reported, due or not. */
	ck_assert(evdedupe_absorb(&t, &a, 400 + 2 * SEC_NS, emit_rec, &out));
	ck_assert(evdedupe_absorb(&t, &a, 401 + 2 * SEC_NS, emit_rec, &out));
	ck_assert_int_eq(evdedupe_expire(&t, 500 + 2 * SEC_NS, true, emit_rec, &out), 0);
	ck_assert_uint_eq(out.n, 3);
	ck_assert_uint_eq(out.ev[2].count, 2);
	/* Windows without counts report nothing. */
	ck_assert_int_eq(evdedupe_expire(&t, 10 * SEC_NS, true, emit_rec, &out), 0);
	ck_assert_uint_eq(out.n, 3);
}
END_TEST

/* Many kinds at once: slots taken by a live window report the others on their own; counted
 * plus reported always equals what came in. */
START_TEST(evdedupe_full)
{
	static struct evdedupe t;
	struct emitted out = { 0 };
	struct cw_dns_event e;
	unsigned int absorbed = 0, reported = 0, pending = 0, i, round;
	char name[32];

	evdedupe_init(&t, 7, SEC_NS);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 4 * EVDEDUPE_SLOTS; i++) {
			snprintf(name, sizeof(name), "n%u.test", i);
			dns_ev(&e, name, 5000, 60);
			if (evdedupe_absorb(&t, &e, 1000 + round, emit_rec, &out))
				absorbed++;
			else
				reported++;
		}
	}
	ck_assert_uint_eq(absorbed + reported, 8 * EVDEDUPE_SLOTS);
	ck_assert_uint_gt(absorbed, 0);
	ck_assert_uint_le(absorbed, EVDEDUPE_SLOTS);
	/* What the windows hold is exactly what was absorbed. */
	for (i = 0; i < EVDEDUPE_SLOTS; i++)
		pending += t.slot[i].until_ns ? t.slot[i].pending : 0;
	ck_assert_uint_eq(pending, absorbed);
	ck_assert_uint_eq(out.n, 0);

	/* 100 kinds at once (bench/dns's cached names from one socket) all find a slot: the
	 * second round is counted entirely, whatever their hashes. */
	evdedupe_init(&t, 99, SEC_NS);
	absorbed = 0;
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 100; i++) {
			snprintf(name, sizeof(name), "c%u.bench.test", i);
			dns_ev(&e, name, 5001, 60);
			absorbed += evdedupe_absorb(&t, &e, 1000 + round, emit_rec, &out);
		}
	}
	ck_assert_uint_eq(absorbed, 100);
}
END_TEST

Suite *dnsd_suite(void)
{
	Suite *s = suite_create("dnsd");
	TCase *tc = tcase_create("chain");

	tcase_add_test(tc, chain_plain_and_cname);
	tcase_add_test(tc, chain_hostile);
	tcase_add_test(tc, answer_rrs);
	suite_add_tcase(s, tc);
	tc = tcase_create("ptr");
	tcase_add_test(tc, ptr_names);
	tcase_add_test(tc, cidr_verdicts);
	suite_add_tcase(s, tc);
	tc = tcase_create("tables");
	tcase_add_test(tc, learned_table);
	tcase_add_test(tc, histogram);
	suite_add_tcase(s, tc);
	tc = tcase_create("evdedupe");
	tcase_add_test(tc, evdedupe_windows);
	tcase_add_test(tc, evdedupe_full);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnsd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
