// SPDX-License-Identifier: Apache-2.0
/* dnsd's DNS wire functions on crafted packets: strict query parsing, local answers, fixing and
 * trimming the resolver's answers, EDNS0 sizes. The rest of dnsd's pure functions (CNAME chain,
 * reverse names, learned table, histogram): check_dnsd.c. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "dnsd/dnsmsg.h"

/* Header + one question; labels from a dotted name (no escapes). */
static size_t mk(uint8_t *b, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar,
		 const char *name, uint16_t qt, uint16_t qc)
{
	size_t o = DNS_HDR_LEN;

	b[0] = 0x12;
	b[1] = 0x34;
	b[2] = (uint8_t)(flags >> 8);
	b[3] = (uint8_t)flags;
	b[4] = (uint8_t)(qd >> 8);
	b[5] = (uint8_t)qd;
	b[6] = (uint8_t)(an >> 8);
	b[7] = (uint8_t)an;
	b[8] = (uint8_t)(ns >> 8);
	b[9] = (uint8_t)ns;
	b[10] = (uint8_t)(ar >> 8);
	b[11] = (uint8_t)ar;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		b[o++] = (uint8_t)l;
		memcpy(b + o, name, l);
		o += l;
		name += l;
		if (*name)
			name++;
	}
	b[o++] = 0;
	b[o++] = (uint8_t)(qt >> 8);
	b[o++] = (uint8_t)qt;
	b[o++] = (uint8_t)(qc >> 8);
	b[o++] = (uint8_t)qc;
	return o;
}

/* An OPT record claiming rdlen bytes, followed by `real` zero bytes. */
static size_t add_opt(uint8_t *b, size_t o, uint16_t rdlen, size_t real)
{
	const uint8_t opt[11] = {
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, (uint8_t)(rdlen >> 8), (uint8_t)rdlen
	};

	memcpy(b + o, opt, sizeof(opt));
	memset(b + o + sizeof(opt), 0, real);
	return o + sizeof(opt) + real;
}

static const uint8_t a_rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1 };

START_TEST(parse_valid)
{
	uint8_t b[512];
	struct dns_query q;
	const char *why;
	size_t n = mk(b, DNS_F_RD, 1, 0, 0, 0, "Allowed.Test", 1, 1);

	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	ck_assert_str_eq(q.name, "Allowed.Test");
	ck_assert(q.name_plain && q.has_question && !q.edns);
	ck_assert_uint_eq(q.id, 0x1234);
	ck_assert_uint_eq(q.qtype, 1);
	ck_assert_uint_eq(q.qname_len, 14);

	n = mk(b, DNS_F_RD, 1, 0, 0, 1, "a.test", 28, 1);
	n = add_opt(b, n, 12, 12);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	ck_assert(q.edns);

	n = mk(b, DNS_F_RD, 1, 0, 0, 0, "", 2, 1); /* the root */
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	ck_assert_str_eq(q.name, "");
	ck_assert_uint_eq(q.qname_len, 1);
}
END_TEST

START_TEST(parse_dropped)
{
	uint8_t b[512];
	struct dns_query q;
	const char *why;
	size_t n = mk(b, DNS_F_QR | DNS_F_RD, 1, 0, 0, 0, "a.test", 1, 1);

	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), -EBADMSG);
	ck_assert_int_eq(dnsmsg_parse_query(b, 11, &q, &why), -EBADMSG);
	ck_assert_int_eq(dnsmsg_parse_query(b, 0, &q, &why), -EBADMSG);
}
END_TEST

START_TEST(parse_formerr)
{
	uint8_t b[512];
	struct dns_query q;
	const char *why;
	size_t n;

	n = mk(b, 0x1000, 1, 0, 0, 0, "a.test", 1, 1); /* opcode STATUS */
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_NOTIMP);
	ck_assert(!q.has_question);
	n = mk(b, 0, 0, 0, 0, 0, "a.test", 1, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	n = mk(b, 0, 2, 0, 0, 0, "a.test", 1, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	n = mk(b, 0, 1, 1, 0, 0, "a.test", 1, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	ck_assert(q.has_question);
	n = mk(b, 0, 1, 0, 1, 0, "a.test", 1, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	/* compression pointer and extended label in the question */
	n = mk(b, 0, 1, 0, 0, 0, "a.test", 1, 1);
	b[12] = 0xc0;
	b[13] = 12;
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	n = mk(b, 0, 1, 0, 0, 0, "a.test", 1, 1);
	b[12] = 0x41;
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	/* cut inside a label, before the type, before the class; a byte too many */
	n = mk(b, 0, 1, 0, 0, 0, "abc.test", 1, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, 14, &q, &why), DNS_RCODE_FORMERR);
	ck_assert_int_eq(dnsmsg_parse_query(b, n - 4, &q, &why), DNS_RCODE_FORMERR);
	ck_assert_int_eq(dnsmsg_parse_query(b, n - 2, &q, &why), DNS_RCODE_FORMERR);
	b[n] = 0;
	ck_assert_int_eq(dnsmsg_parse_query(b, n + 1, &q, &why), DNS_RCODE_FORMERR);
	/* additional section: not an OPT, two records, OPT data past the end */
	n = add_opt(b, mk(b, 0, 1, 0, 0, 1, "a.test", 1, 1), 0, 0);
	b[n - 9] = 1;
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	n = add_opt(b, add_opt(b, mk(b, 0, 1, 0, 0, 2, "a.test", 1, 1), 0, 0), 0, 0);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	n = add_opt(b, mk(b, 0, 1, 0, 0, 1, "a.test", 1, 1), 13, 12);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	/* qtype 0 and OPT */
	n = mk(b, 0, 1, 0, 0, 0, "a.test", 0, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	n = mk(b, 0, 1, 0, 0, 0, "a.test", 41, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
}
END_TEST

START_TEST(parse_refused)
{
	uint8_t b[512];
	struct dns_query q;
	const char *why;
	size_t n;

	n = mk(b, 0, 1, 0, 0, 0, "version.bind", 16, 3); /* CH */
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_REFUSED);
	ck_assert(q.has_question);
	n = mk(b, 0, 1, 0, 0, 0, "a.test", 252, 1); /* AXFR */
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_REFUSED);
	n = mk(b, 0, 1, 0, 0, 0, "a.test", 255, 1); /* ANY is forwarded */
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
}
END_TEST

START_TEST(name_limits_and_escapes)
{
	uint8_t b[1024];
	struct dns_query q;
	const char *why;
	char nm[300];
	size_t n, o = 0;
	int i;

	/* 3 x 63 + 61 characters: 255 octets on the wire, the maximum */
	for (i = 0; i < 4; i++) {
		size_t l = i < 3 ? 63 : 61;

		memset(nm + o, 'a', l);
		o += l;
		nm[o++] = '.';
	}
	nm[o - 1] = '\0';
	n = mk(b, 0, 1, 0, 0, 0, nm, 1, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	ck_assert_uint_eq(q.qname_len, 255);
	nm[o - 1] = 'b'; /* 256 */
	nm[o] = '\0';
	n = mk(b, 0, 1, 0, 0, 0, nm, 1, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);

	/* a dot and a NUL inside labels: escaped, never plain */
	n = mk(b, 0, 1, 0, 0, 0, "a#b.test", 1, 1);
	b[14] = '.';
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	ck_assert(!q.name_plain);
	ck_assert_str_eq(q.name, "a\\046b.test");
	n = mk(b, 0, 1, 0, 0, 0, "x.test", 1, 1);
	b[13] = 0;
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	ck_assert_str_eq(q.name, "\\000.test");

	/* every byte escaped in a 255-octet name still fits the text buffer */
	for (i = 0, o = DNS_HDR_LEN; i < 4; i++) {
		size_t l = i < 3 ? 63 : 61;

		b[o++] = (uint8_t)l;
		memset(b + o, 1, l);
		o += l;
	}
	memcpy(b + o, "\0\0\1\0\1", 5);
	o += 5;
	ck_assert_int_eq(dnsmsg_parse_query(b, o, &q, &why), 0);
	ck_assert_uint_eq(strlen(q.name), 250 * 4 + 3);
}
END_TEST

START_TEST(build_reply)
{
	uint8_t b[512], out[512];
	struct dns_query q;
	const char *why;
	size_t n = mk(b, DNS_F_RD | DNS_F_CD, 1, 0, 0, 0, "Evil.Test", 1, 1);

	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	n = dnsmsg_build_reply(&q, DNS_RCODE_NXDOMAIN, out, sizeof(out));
	ck_assert_uint_eq(n, 12 + 11 + 4);
	ck_assert(out[0] == 0x12 && out[1] == 0x34);
	ck_assert_uint_eq(out[2], 0x81); /* QR RD */
	ck_assert_uint_eq(out[3], 0x93); /* RA CD NXDOMAIN */
	ck_assert(out[5] == 1 && out[7] == 0 && out[9] == 0 && out[11] == 0);
	ck_assert(!memcmp(out + 12, b + 12, 15)); /* the question, the client's case */
	ck_assert_uint_eq(dnsmsg_rcode(out, n), DNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(dnsmsg_build_reply(&q, 3, out, 20), 0);

	/* no question parsed: header only */
	n = mk(b, 0, 2, 0, 0, 0, "a.test", 1, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_FORMERR);
	ck_assert_uint_eq(dnsmsg_build_reply(&q, DNS_RCODE_FORMERR, out, sizeof(out)), 12);
	ck_assert_uint_eq(out[5], 0);
}
END_TEST

START_TEST(fix_answer)
{
	uint8_t b[512], a[512];
	struct dns_query q;
	const char *why;
	size_t n = mk(b, DNS_F_RD, 1, 0, 0, 0, "Evil.Test", 1, 1), al;

	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	/* resolver's answer: lowercase, id 0, AA set, RD clear */
	al = mk(a, DNS_F_QR | DNS_F_AA | DNS_F_RA, 1, 1, 0, 0, "evil.test", 1, 1);
	a[0] = a[1] = 0;
	memcpy(a + al, a_rr, sizeof(a_rr));
	al += sizeof(a_rr);
	ck_assert_int_eq(dnsmsg_fix_answer(a, al, &q), 0);
	ck_assert(a[0] == 0x12 && a[1] == 0x34);
	ck_assert(!memcmp(a + 12, "\4Evil\4Test", 10));
	ck_assert_uint_eq(a[2], 0x81); /* QR RD, AA cleared */
	ck_assert_uint_eq(a[3], 0x80);

	al = mk(a, DNS_F_QR, 1, 0, 0, 0, "evil.tesu", 1, 1);
	ck_assert_int_eq(dnsmsg_fix_answer(a, al, &q), -EBADMSG);
	al = mk(a, DNS_F_QR, 1, 0, 0, 0, "evil.test", 28, 1);
	ck_assert_int_eq(dnsmsg_fix_answer(a, al, &q), -EBADMSG);
	al = mk(a, 0, 1, 0, 0, 0, "evil.test", 1, 1); /* not a response */
	ck_assert_int_eq(dnsmsg_fix_answer(a, al, &q), -EBADMSG);
	al = mk(a, DNS_F_QR, 0, 0, 0, 0, "evil.test", 1, 1);
	ck_assert_int_eq(dnsmsg_fix_answer(a, al, &q), -EBADMSG);
	ck_assert_int_eq(dnsmsg_fix_answer(a, 20, &q), -EBADMSG);
}
END_TEST

START_TEST(strip_opt_and_truncate)
{
	uint8_t b[512], a[512];
	struct dns_query q;
	const char *why;
	size_t n = mk(b, DNS_F_RD, 1, 0, 0, 0, "evil.test", 1, 1), al, l0;

	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	al = mk(a, DNS_F_QR, 1, 1, 0, 1, "evil.test", 1, 1);
	memcpy(a + al, a_rr, sizeof(a_rr));
	l0 = al + sizeof(a_rr);
	al = add_opt(a, l0, 4, 4);
	n = al;
	ck_assert_int_eq(dnsmsg_strip_opt(a, &n), 0);
	ck_assert_uint_eq(n, l0);
	ck_assert_uint_eq(a[11], 0);
	n = l0;
	ck_assert_int_eq(dnsmsg_strip_opt(a, &n), 0); /* nothing to strip */
	ck_assert_uint_eq(n, l0);
	a[11] = 1; /* a record that is not there */
	ck_assert_int_eq(dnsmsg_strip_opt(a, &n), -EBADMSG);
	a[11] = 0;
	n = l0 - 1;
	ck_assert_int_eq(dnsmsg_strip_opt(a, &n), -EBADMSG);
	/* OPT not last, OPT in the answer section */
	al = add_opt(a, mk(a, DNS_F_QR, 1, 0, 0, 2, "evil.test", 1, 1), 0, 0);
	memcpy(a + al, a_rr, sizeof(a_rr));
	n = al + sizeof(a_rr);
	ck_assert_int_eq(dnsmsg_strip_opt(a, &n), -EBADMSG);
	n = add_opt(a, mk(a, DNS_F_QR, 1, 1, 0, 0, "evil.test", 1, 1), 0, 0);
	ck_assert_int_eq(dnsmsg_strip_opt(a, &n), -EBADMSG);

	/* truncation keeps header + question and sets TC */
	al = mk(a, DNS_F_QR, 1, 1, 0, 0, "evil.test", 1, 1);
	memcpy(a + al, a_rr, sizeof(a_rr));
	al += sizeof(a_rr);
	ck_assert_uint_eq(dnsmsg_truncate(a, al, DNS_UDP_MAX, &q), al);
	n = dnsmsg_truncate(a, al, 20, &q);
	ck_assert_uint_eq(n, 12 + 11 + 4);
	ck_assert(a[2] & 0x02);
	ck_assert_uint_eq(a[7], 0);
}
END_TEST

START_TEST(edns_sizes)
{
	uint8_t b[512], out[512];
	struct dns_query q;
	const char *why;
	size_t n;

	/* no OPT: 512 */
	n = mk(b, DNS_F_RD, 1, 0, 0, 0, "a.test", 1, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	ck_assert_uint_eq(dnsmsg_udp_limit(&q), 512);
	/* OPT with 4096: capped at 1232; 1000 stays; 100 counts as 512 */
	n = add_opt(b, mk(b, DNS_F_RD, 1, 0, 0, 1, "a.test", 1, 1), 0, 0);
	b[n - 8] = 0x10; /* class = 4096 */
	b[n - 7] = 0x00;
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	ck_assert(q.edns);
	ck_assert_uint_eq(q.edns_udp, 4096);
	ck_assert_uint_eq(dnsmsg_udp_limit(&q), DNS_EDNS_UDP_MAX);
	q.edns_udp = 1000;
	ck_assert_uint_eq(dnsmsg_udp_limit(&q), 1000);
	q.edns_udp = 100;
	ck_assert_uint_eq(dnsmsg_udp_limit(&q), 512);

	/* EDNS version 1: BADVERS, answered with an OPT carrying the upper rcode bits */
	n = add_opt(b, mk(b, DNS_F_RD, 1, 0, 0, 1, "a.test", 1, 1), 0, 0);
	b[n - 5] = 1; /* version */
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), DNS_RCODE_BADVERS);
	n = dnsmsg_build_reply(&q, DNS_RCODE_BADVERS, out, sizeof(out));
	ck_assert_uint_eq(n, 12 + 8 + 4 + DNS_OPT_LEN);
	ck_assert_uint_eq(out[3] & 0x0f, 0);
	ck_assert_uint_eq(out[11], 1);	   /* ARCOUNT */
	ck_assert_uint_eq(out[n - 11], 0); /* root owner */
	ck_assert_uint_eq(out[n - 9], 41); /* OPT */
	ck_assert_uint_eq(out[n - 8] << 8 | out[n - 7], DNS_EDNS_UDP_MAX);
	ck_assert_uint_eq(out[n - 6], 1); /* extended rcode: 16 >> 4 */

	/* NXDOMAIN to an EDNS query carries an OPT; too small a buffer gives 0 */
	n = add_opt(b, mk(b, DNS_F_RD, 1, 0, 0, 1, "a.test", 1, 1), 0, 0);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	n = dnsmsg_build_reply(&q, DNS_RCODE_NXDOMAIN, out, sizeof(out));
	ck_assert_uint_eq(n, 12 + 8 + 4 + DNS_OPT_LEN);
	ck_assert_uint_eq(out[3] & 0x0f, DNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(out[n - 6], 0);
	ck_assert_uint_eq(dnsmsg_build_reply(&q, 3, out, 12 + 8 + 4 + 10), 0);
}
END_TEST

/* A response to "a.test" A with `n_a` A records of 16 bytes each (compressed owner). */
static size_t big_answer(uint8_t *a, unsigned int n_a)
{
	size_t al = mk(a, DNS_F_QR, 1, (uint16_t)n_a, 0, 0, "a.test", 1, 1);
	unsigned int i;

	for (i = 0; i < n_a; i++) {
		memcpy(a + al, a_rr, sizeof(a_rr));
		al += sizeof(a_rr);
	}
	return al;
}

START_TEST(finish_fits_and_truncates)
{
	uint8_t b[512], a[4096];
	struct dns_query q;
	const char *why;
	bool tc;
	size_t n, al;

	/* no EDNS: 31 A records (12 + 12 + 31 * 16 = 520 bytes) do not fit 512 */
	n = mk(b, DNS_F_RD, 1, 0, 0, 0, "a.test", 1, 1);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	al = big_answer(a, 30); /* 504 */
	ck_assert_uint_eq(dnsmsg_finish(a, al, sizeof(a), &q, dnsmsg_udp_limit(&q), &tc), al);
	ck_assert(!tc);
	al = big_answer(a, 31);
	n = dnsmsg_finish(a, al, sizeof(a), &q, dnsmsg_udp_limit(&q), &tc);
	ck_assert(tc);
	ck_assert_uint_eq(n, 12 + 8 + 4);
	ck_assert(a[2] & 0x02);
	/* over TCP it fits */
	al = big_answer(a, 31);
	ck_assert_uint_eq(dnsmsg_finish(a, al, sizeof(a), &q, DNS_TCP_MAX, &tc), al);
	ck_assert(!tc);

	/* EDNS 1232: 30 records plus the OPT fit (515 bytes), 76 do not (1240 + 11) */
	n = add_opt(b, mk(b, DNS_F_RD, 1, 0, 0, 1, "a.test", 1, 1), 0, 0);
	ck_assert_int_eq(dnsmsg_parse_query(b, n, &q, &why), 0);
	al = big_answer(a, 31);
	n = dnsmsg_finish(a, al, sizeof(a), &q, dnsmsg_udp_limit(&q), &tc);
	ck_assert(!tc);
	ck_assert_uint_eq(n, al + DNS_OPT_LEN);
	ck_assert_uint_eq(a[11], 1);
	al = big_answer(a, 75); /* 1224 + 11 = 1235 > 1232 */
	n = dnsmsg_finish(a, al, sizeof(a), &q, dnsmsg_udp_limit(&q), &tc);
	ck_assert(tc);
	ck_assert_uint_eq(n, 12 + 8 + 4 + DNS_OPT_LEN); /* header, question, OPT */
	ck_assert_uint_eq(a[7], 0);
	ck_assert_uint_eq(a[11], 1);
	al = big_answer(a, 75);
	ck_assert_uint_eq(dnsmsg_finish(a, al, al + 10, &q, DNS_TCP_MAX, &tc), 0); /* no room */
}
END_TEST

Suite *dnsmsg_suite(void)
{
	Suite *s = suite_create("dnsmsg");
	TCase *tc = tcase_create("wire");

	tcase_add_test(tc, parse_valid);
	tcase_add_test(tc, parse_dropped);
	tcase_add_test(tc, parse_formerr);
	tcase_add_test(tc, parse_refused);
	tcase_add_test(tc, name_limits_and_escapes);
	tcase_add_test(tc, build_reply);
	tcase_add_test(tc, fix_answer);
	tcase_add_test(tc, strip_opt_and_truncate);
	tcase_add_test(tc, edns_sizes);
	tcase_add_test(tc, finish_fits_and_truncates);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnsmsg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
