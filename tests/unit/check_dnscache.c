// SPDX-License-Identifier: Apache-2.0
/* dnsd's answer cache (dnsd/cache.h) and the TTL walker it uses (dnsmsg_ttl_offsets), on
 * crafted packets: a hit rewritten for the asking client (ID, flags, letter case), TTLs counted
 * down, expiry by TTL and by the trie deadline, what is never cached, a question allowed by
 * another rule, replacement and eviction. That a denied name never reaches the cache is
 * query.c's order (the policy decides before forward() looks here); the lab covers it. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsd/cache.h"
#include "dnsd/dnsmsg.h"

#define S 1000000000LL

struct pk {
	uint8_t b[DNSCACHE_PKT_MAX + 64];
	size_t o;
};

static void pk8(struct pk *p, uint8_t v)
{
	p->b[p->o++] = v;
}

static void pk16(struct pk *p, uint16_t v)
{
	pk8(p, (uint8_t)(v >> 8));
	pk8(p, (uint8_t)v);
}

static void pk32(struct pk *p, uint32_t v)
{
	pk16(p, (uint16_t)(v >> 16));
	pk16(p, (uint16_t)v);
}

static void pk_name(struct pk *p, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		pk8(p, (uint8_t)l);
		memcpy(p->b + p->o, name, l);
		p->o += l;
		name += l;
		if (*name)
			name++;
	}
	pk8(p, 0);
}

/* A query for name (type A, class IN), parsed; with an OPT record of `edns` bytes if nonzero. */
static struct dns_query mkq(const char *name, uint16_t id, uint16_t edns)
{
	struct dns_query q;
	const char *why;
	struct pk p;

	memset(&p, 0, sizeof(p));
	pk16(&p, id);
	pk16(&p, DNS_F_RD);
	pk16(&p, 1);
	pk16(&p, 0);
	pk16(&p, 0);
	pk16(&p, edns ? 1 : 0);
	pk_name(&p, name);
	pk16(&p, DNS_TYPE_A);
	pk16(&p, DNS_CLASS_IN);
	if (edns) {
		pk8(&p, 0);
		pk16(&p, DNS_TYPE_OPT);
		pk16(&p, edns);
		pk32(&p, 0);
		pk16(&p, 0);
	}
	ck_assert_int_eq(dnsmsg_parse_query(p.b, p.o, &q, &why), 0);
	return q;
}

/* A NOERROR answer to `name` with n A records (10.0.0.i, TTL ttl[i]) owned by the question
 * (compression pointer), and id 0x0101 (the first client's). */
static size_t mka(struct pk *p, const char *name, unsigned int n, const uint32_t *ttl)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	pk16(p, 0x0101);
	pk16(p, DNS_F_QR | DNS_F_RD | DNS_F_RA);
	pk16(p, 1);
	pk16(p, (uint16_t)n);
	pk16(p, 0);
	pk16(p, 0);
	pk_name(p, name);
	pk16(p, DNS_TYPE_A);
	pk16(p, DNS_CLASS_IN);
	for (i = 0; i < n; i++) {
		pk16(p, 0xc00c);
		pk16(p, DNS_TYPE_A);
		pk16(p, DNS_CLASS_IN);
		pk32(p, ttl[i]);
		pk16(p, 4);
		pk8(p, 10);
		pk8(p, 0);
		pk8(p, 0);
		pk8(p, (uint8_t)i);
	}
	return p->o;
}

static uint32_t ttl_at(const uint8_t *pkt, unsigned int rr, size_t qname_len)
{
	/* header, question, then per record: pointer (2) type (2) class (2) TTL (4) rdlen (2) A */
	const uint8_t *t = pkt + 12 + qname_len + 4 + rr * 16 + 6;

	return (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
}

START_TEST(ttl_walker)
{
	const uint32_t ttls[3] = { 300, 60, 0x80000001u };
	uint16_t offs[4];
	unsigned int n;
	uint32_t min;
	struct pk p;
	size_t len;

	len = mka(&p, "a.test", 2, ttls);
	ck_assert_int_eq(dnsmsg_ttl_offsets(p.b, len, offs, 4, &n, &min), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(min, 60);
	ck_assert_uint_eq(offs[0], 12 + 8 + 4 + 6);
	ck_assert_int_eq(dnsmsg_ttl_offsets(p.b, len, offs, 1, &n, &min), -E2BIG);
	ck_assert_int_eq(dnsmsg_ttl_offsets(p.b, len - 1, offs, 4, &n, &min), -EBADMSG);
	/* a TTL with the top bit set is 0 (RFC 2181 §8) */
	len = mka(&p, "a.test", 3, ttls);
	ck_assert_int_eq(dnsmsg_ttl_offsets(p.b, len, offs, 4, &n, &min), 0);
	ck_assert_uint_eq(min, 0);
	/* no record: 0 */
	len = mka(&p, "a.test", 0, ttls);
	ck_assert_int_eq(dnsmsg_ttl_offsets(p.b, len, offs, 4, &n, &min), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(min, 0);
}
END_TEST

START_TEST(hit_rewritten_for_client)
{
	const uint32_t ttls[2] = { 300, 60 };
	struct dns_query q1 = mkq("www.Example.test", 0x0101, 0), q2;
	uint8_t out[DNSCACHE_PKT_MAX];
	const void *aux = NULL;
	struct dnscache c;
	uint32_t ttl = 0;
	struct pk p;
	size_t len, n;
	int tag = 42;

	ck_assert_int_eq(dnscache_init(&c, 100, 1), -EINVAL);
	ck_assert_int_eq(dnscache_init(&c, 64, 7), 0);
	len = mka(&p, "www.Example.test", 2, ttls);
	ck_assert_int_eq(dnsmsg_fix_answer(p.b, len, &q1), 0);
	ck_assert_int_eq(dnscache_put(&c, &q1, 3, p.b, len, 1000 * S, INT64_MAX, &tag, sizeof(tag)),
			 0);
	ck_assert_uint_eq(c.n, 1);

	/* another client, other case, other ID, no RD, 10.5 s later */
	q2 = mkq("WWW.example.TEST", 0xbeef, 0);
	q2.flags = 0;
	n = dnscache_get(&c, &q2, 3, 1010 * S + S / 2, out, sizeof(out), &ttl, &aux);
	ck_assert_uint_eq(n, len);
	ck_assert_uint_eq(out[0], 0xbe);
	ck_assert_uint_eq(out[1], 0xef);
	ck_assert(!(out[2] & (DNS_F_RD >> 8))); /* the client's RD */
	ck_assert(out[2] & (DNS_F_QR >> 8));
	ck_assert_mem_eq(out + 12, q2.qname, q2.qname_len); /* the client's case */
	ck_assert_uint_eq(ttl_at(out, 0, q2.qname_len), 290);
	ck_assert_uint_eq(ttl_at(out, 1, q2.qname_len), 50);
	ck_assert_uint_eq(ttl, 50);
	ck_assert_ptr_nonnull(aux);
	ck_assert_int_eq(*(const int *)aux, 42);
	/* the stored copy is untouched: the same count from the insertion time again */
	n = dnscache_get(&c, &q1, 3, 1001 * S, out, sizeof(out), &ttl, NULL);
	ck_assert_uint_eq(n, len);
	ck_assert_uint_eq(ttl, 59);
	ck_assert_uint_eq(out[0], 0x01);
	ck_assert_mem_eq(out + 12, q1.qname, q1.qname_len);
	/* an out buffer too small: a miss, nothing written past it */
	ck_assert_uint_eq(dnscache_get(&c, &q1, 3, 1001 * S, out, len - 1, NULL, NULL), 0);
	dnscache_free(&c);
}
END_TEST

START_TEST(expiry)
{
	const uint32_t ttls[1] = { 60 };
	struct dns_query q = mkq("a.test", 1, 1232);
	uint8_t out[DNSCACHE_PKT_MAX];
	struct dnscache c;
	uint32_t ttl;
	struct pk p;
	size_t len;

	ck_assert_int_eq(dnscache_init(&c, 64, 7), 0);
	len = mka(&p, "a.test", 1, ttls);
	/* by the TTL: served up to the last nanosecond of it, with at least 1 s left */
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len, 0, INT64_MAX, NULL, 0), 0);
	ck_assert_uint_eq(dnscache_get(&c, &q, 1, 60 * S - 1, out, sizeof(out), &ttl, NULL), len);
	ck_assert_uint_eq(ttl, 1);
	ck_assert_uint_eq(dnscache_get(&c, &q, 1, 60 * S, out, sizeof(out), &ttl, NULL), 0);
	ck_assert_uint_eq(c.n, 0); /* dropped on the way */
	/* by the trie deadline of its addresses, earlier than the TTL */
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len, 0, 5 * S, NULL, 0), 0);
	ck_assert_uint_eq(dnscache_get(&c, &q, 1, 5 * S - 1, out, sizeof(out), &ttl, NULL), len);
	ck_assert_uint_eq(ttl, 56);
	ck_assert_uint_eq(dnscache_get(&c, &q, 1, 5 * S, out, sizeof(out), &ttl, NULL), 0);
	/* a deadline already past: not cached */
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len, 10 * S, 10 * S, NULL, 0), -EINVAL);
	/* a clock that went backwards (cannot with CLOCK_MONOTONIC): a miss, not a huge TTL */
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len, 10 * S, INT64_MAX, NULL, 0), 0);
	ck_assert_uint_eq(dnscache_get(&c, &q, 1, 9 * S, out, sizeof(out), &ttl, NULL), 0);
	dnscache_free(&c);
}
END_TEST

START_TEST(not_cached)
{
	const uint32_t zero[1] = { 0 },
		       ttls[DNSCACHE_RR_MAX + 1] = { [0 ... DNSCACHE_RR_MAX] = 60 };
	struct dns_query q = mkq("a.test", 1, 0), other = mkq("b.test", 1, 0);
	uint8_t out[DNSCACHE_PKT_MAX];
	struct dnscache c;
	struct pk p;
	size_t len;

	ck_assert_int_eq(dnscache_init(&c, 64, 7), 0);
	len = mka(&p, "a.test", 1, zero);
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len, 0, INT64_MAX, NULL, 0), -EINVAL);
	len = mka(&p, "a.test", 0, zero); /* NODATA */
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len, 0, INT64_MAX, NULL, 0), -EINVAL);
	len = mka(&p, "a.test", DNSCACHE_RR_MAX + 1, ttls);
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len, 0, INT64_MAX, NULL, 0), -EINVAL);
	len = mka(&p, "a.test", 1, ttls);
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len - 1, 0, INT64_MAX, NULL, 0), -EINVAL);
	ck_assert_uint_eq(c.n, 0);
	/* cached for a.test under rule 1: not for b.test, not for a.test decided by rule 2, not
	 * for another type */
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len, 0, INT64_MAX, NULL, 0), 0);
	ck_assert_uint_eq(dnscache_get(&c, &other, 1, S, out, sizeof(out), NULL, NULL), 0);
	ck_assert_uint_eq(dnscache_get(&c, &q, 2, S, out, sizeof(out), NULL, NULL), 0);
	q.qtype = DNS_TYPE_AAAA;
	ck_assert_uint_eq(dnscache_get(&c, &q, 1, S, out, sizeof(out), NULL, NULL), 0);
	q.qtype = DNS_TYPE_A;
	ck_assert_uint_eq(dnscache_get(&c, &q, 1, S, out, sizeof(out), NULL, NULL), len);
	dnscache_free(&c);
}
END_TEST

START_TEST(replace_and_evict)
{
	const uint32_t t60[1] = { 60 }, t300[1] = { 300 };
	struct dns_query q = mkq("a.test", 1, 0);
	uint8_t out[DNSCACHE_PKT_MAX];
	struct dnscache c;
	uint32_t ttl;
	struct pk p;
	size_t len;
	int i, hits = 0;

	ck_assert_int_eq(dnscache_init(&c, DNSCACHE_PROBE, 7), 0);
	len = mka(&p, "a.test", 1, t60);
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len, 0, INT64_MAX, NULL, 0), 0);
	len = mka(&p, "a.test", 1, t300);
	ck_assert_int_eq(dnscache_put(&c, &q, 1, p.b, len, 0, INT64_MAX, NULL, 0), 0);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(dnscache_get(&c, &q, 1, 0, out, sizeof(out), &ttl, NULL), len);
	ck_assert_uint_eq(ttl, 300);
	/* more names than slots: bounded, the newest is always there */
	for (i = 0; i < 100; i++) {
		char name[32];
		struct dns_query qi;

		snprintf(name, sizeof(name), "n%d.test", i);
		qi = mkq(name, 1, 0);
		len = mka(&p, name, 1, t300);
		ck_assert_int_eq(dnscache_put(&c, &qi, 1, p.b, len, i * S, INT64_MAX, NULL, 0), 0);
		ck_assert_uint_eq(dnscache_get(&c, &qi, 1, i * S, out, sizeof(out), NULL, NULL),
				  len);
		ck_assert_uint_le(c.n, DNSCACHE_PROBE);
	}
	for (i = 0; i < 100; i++) {
		char name[32];
		struct dns_query qi;

		snprintf(name, sizeof(name), "n%d.test", i);
		qi = mkq(name, 1, 0);
		hits += dnscache_get(&c, &qi, 1, 100 * S, out, sizeof(out), NULL, NULL) != 0;
	}
	ck_assert_int_eq(hits, DNSCACHE_PROBE); /* the ones that expire last */
	dnscache_free(&c);
}
END_TEST

static Suite *dnscache_suite(void)
{
	Suite *s = suite_create("dnscache");
	TCase *tc = tcase_create("cache");

	tcase_add_test(tc, ttl_walker);
	tcase_add_test(tc, hit_rewritten_for_client);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, not_cached);
	tcase_add_test(tc, replace_and_evict);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnscache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
