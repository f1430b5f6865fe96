// SPDX-License-Identifier: Apache-2.0
/* DNS wire parsing and building for dnsd (see dnsmsg.h). Every read is bounds-checked against
 * the datagram length: the bytes come from any process on the runner. */
#include "dnsmsg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool plain_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Wire name (already validated) to presentation form. Bytes that are not plain hostname
 * characters are escaped so that the text is unambiguous ("a.b" as one label never reads as two
 * labels) and carries no control characters into logs. */
static void name_to_text(struct dns_query *q)
{
	size_t off = 0, o = 0;

	q->name_plain = true;
	while (off < q->qname_len && q->qname[off]) {
		uint8_t n = q->qname[off++];

		if (o)
			q->name[o++] = '.';
		for (; n; n--, off++) {
			uint8_t c = q->qname[off];

			if (plain_char(c)) {
				q->name[o++] = (char)c;
			} else {
				snprintf(q->name + o, 5, "\\%03u", c);
				o += 4;
				q->name_plain = false;
			}
		}
	}
	q->name[o] = '\0';
}

/* The question name at pkt[*off]: uncompressed labels only. 0 or -EBADMSG. */
static int parse_qname(const uint8_t *pkt, size_t len, size_t *off, struct dns_query *q,
		       const char **why)
{
	size_t o = *off, start = *off;

	for (;;) {
		uint8_t n;

		if (o >= len) {
			*why = "question name runs past the packet";
			return -EBADMSG;
		}
		n = pkt[o];
		if (n & 0xc0) {
			/* 0xc0: compression pointer, 0x40/0x80: extended label types (RFC 6891
			 * §5). Nothing precedes the question, so a pointer has nothing to point
			 * to. */
			*why = "compressed or extended label in the question";
			return -EBADMSG;
		}
		if (o - start + 1 + n > DNS_NAME_WIRE_MAX) {
			*why = "question name longer than 255 octets";
			return -EBADMSG;
		}
		if (o + 1 + n > len) {
			*why = "question label runs past the packet";
			return -EBADMSG;
		}
		o += 1 + (size_t)n;
		if (!n)
			break;
	}
	q->qname_len = o - start;
	memcpy(q->qname, pkt + start, q->qname_len);
	*off = o;
	return 0;
}

/* The one allowed additional record: OPT, owned by the root. 0 or -EBADMSG. */
static int parse_opt(const uint8_t *pkt, size_t len, size_t *off, const char **why)
{
	size_t o = *off;
	uint16_t rdlen;

	/* root owner (1) + type (2) + class (2) + ttl (4) + rdlength (2) */
	if (len - o < 11) {
		*why = "additional record runs past the packet";
		return -EBADMSG;
	}
	if (pkt[o] != 0 || get16(pkt + o + 1) != DNS_TYPE_OPT) {
		*why = "additional record is not an OPT record";
		return -EBADMSG;
	}
	rdlen = get16(pkt + o + 9);
	o += 11;
	if (len - o < rdlen) {
		*why = "OPT record data runs past the packet";
		return -EBADMSG;
	}
	*off = o + rdlen;
	return 0;
}

static bool meta_qtype(uint16_t t)
{
	/* TKEY, TSIG, IXFR, AXFR, MAILB, MAILA: transfers and transaction types a forwarding
	 * proxy does not serve over UDP. */
	return t >= 249 && t <= 254;
}

int dnsmsg_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q, const char **why)
{
	uint16_t qd, an, ns, ar;
	size_t off = DNS_HDR_LEN;

	memset(q, 0, sizeof(*q));
	*why = NULL;
	if (len < DNS_HDR_LEN) {
		*why = "shorter than a DNS header";
		return -EBADMSG;
	}
	q->id = get16(pkt);
	q->flags = get16(pkt + 2);
	qd = get16(pkt + 4);
	an = get16(pkt + 6);
	ns = get16(pkt + 8);
	ar = get16(pkt + 10);
	if (q->flags & DNS_F_QR) {
		*why = "a response, not a query";
		return -EBADMSG;
	}
	if (q->flags & DNS_F_OPCODE) {
		*why = "opcode is not QUERY";
		return DNS_RCODE_NOTIMP;
	}
	if (qd != 1) {
		*why = "not exactly one question";
		return DNS_RCODE_FORMERR;
	}
	if (parse_qname(pkt, len, &off, q, why))
		return DNS_RCODE_FORMERR;
	if (len - off < 4) {
		*why = "question type and class run past the packet";
		return DNS_RCODE_FORMERR;
	}
	q->qtype = get16(pkt + off);
	q->qclass = get16(pkt + off + 2);
	off += 4;
	q->has_question = true;
	name_to_text(q);
	if (an || ns) {
		*why = "answer or authority records in a query";
		return DNS_RCODE_FORMERR;
	}
	if (ar > 1) {
		*why = "more than one additional record";
		return DNS_RCODE_FORMERR;
	}
	if (ar == 1) {
		if (parse_opt(pkt, len, &off, why))
			return DNS_RCODE_FORMERR;
		q->edns = true;
	}
	if (off != len) {
		*why = "bytes after the last record";
		return DNS_RCODE_FORMERR;
	}
	if (q->qtype == 0 || q->qtype == DNS_TYPE_OPT) {
		*why = "question type 0 or OPT";
		return DNS_RCODE_FORMERR;
	}
	if (q->qclass != DNS_CLASS_IN) {
		*why = "question class is not IN";
		return DNS_RCODE_REFUSED;
	}
	if (meta_qtype(q->qtype)) {
		*why = "zone transfer or transaction question type";
		return DNS_RCODE_REFUSED;
	}
	return 0;
}

size_t dnsmsg_build_reply(const struct dns_query *q, uint8_t rcode, uint8_t *out, size_t outlen)
{
	size_t len = DNS_HDR_LEN + (q->has_question ? q->qname_len + 4 : 0);
	uint16_t flags;

	if (outlen < len)
		return 0;
	flags = DNS_F_QR | (q->flags & (DNS_F_OPCODE | DNS_F_RD | DNS_F_CD)) | DNS_F_RA |
		(rcode & DNS_F_RCODE);
	put16(out, q->id);
	put16(out + 2, flags);
	put16(out + 4, q->has_question ? 1 : 0);
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, 0);
	if (q->has_question) {
		memcpy(out + DNS_HDR_LEN, q->qname, q->qname_len);
		put16(out + DNS_HDR_LEN + q->qname_len, q->qtype);
		put16(out + DNS_HDR_LEN + q->qname_len + 2, q->qclass);
	}
	return len;
}

int dnsmsg_fix_answer(uint8_t *pkt, size_t len, const struct dns_query *q)
{
	uint8_t *qn = pkt + DNS_HDR_LEN;
	uint16_t flags;
	size_t i;

	if (!q->has_question || len < DNS_HDR_LEN + q->qname_len + 4)
		return -EBADMSG;
	flags = get16(pkt + 2);
	if (!(flags & DNS_F_QR) || get16(pkt + 4) != 1)
		return -EBADMSG;
	/* Same labels at the same offsets (length bytes equal), letters compared
	 * case-insensitively: the resolver may have changed the case, nothing else. */
	for (i = 0; i < q->qname_len; i++)
		if (lower(qn[i]) != lower(q->qname[i]))
			return -EBADMSG;
	if (get16(qn + q->qname_len) != q->qtype || get16(qn + q->qname_len + 2) != q->qclass)
		return -EBADMSG;
	memcpy(qn, q->qname, q->qname_len);
	flags &= (uint16_t) ~(DNS_F_OPCODE | DNS_F_RD | DNS_F_CD | DNS_F_AA);
	flags |= (q->flags & (DNS_F_OPCODE | DNS_F_RD | DNS_F_CD)) | DNS_F_RA;
	put16(pkt, q->id);
	put16(pkt + 2, flags);
	return 0;
}

/* Skip a name in a resource record: labels, ended by the root label or a compression
 * pointer. 0 or -EBADMSG. */
static int skip_name(const uint8_t *pkt, size_t len, size_t *off)
{
	size_t o = *off;

	for (;;) {
		uint8_t n;

		if (o >= len)
			return -EBADMSG;
		n = pkt[o];
		if ((n & 0xc0) == 0xc0) {
			if (len - o < 2)
				return -EBADMSG;
			*off = o + 2;
			return 0;
		}
		if (n & 0xc0 || len - o < 1 + (size_t)n)
			return -EBADMSG;
		o += 1 + (size_t)n;
		if (!n) {
			*off = o;
			return 0;
		}
	}
}

int dnsmsg_strip_opt(uint8_t *pkt, size_t *len)
{
	size_t off = DNS_HDR_LEN, start = 0, l = *len;
	unsigned int i, qd, an, ns, ar, total;
	bool opt_last = false;

	if (l < DNS_HDR_LEN)
		return -EBADMSG;
	qd = get16(pkt + 4);
	an = get16(pkt + 6);
	ns = get16(pkt + 8);
	ar = get16(pkt + 10);
	total = an + ns + ar;
	for (i = 0; i < qd; i++) {
		if (skip_name(pkt, l, &off) || l - off < 4)
			return -EBADMSG;
		off += 4;
	}
	for (i = 0; i < total; i++) {
		uint16_t type, rdlen;

		start = off;
		/* type (2) class (2) ttl (4) rdlength (2) */
		if (skip_name(pkt, l, &off) || l - off < 10)
			return -EBADMSG;
		type = get16(pkt + off);
		rdlen = get16(pkt + off + 8);
		off += 10;
		if (l - off < rdlen)
			return -EBADMSG;
		off += rdlen;
		if (type == DNS_TYPE_OPT) {
			if (i < an + ns || i != total - 1)
				return -EBADMSG;
			opt_last = true;
		}
	}
	if (off != l)
		return -EBADMSG;
	if (opt_last) {
		put16(pkt + 10, (uint16_t)(ar - 1));
		*len = start;
	}
	return 0;
}

size_t dnsmsg_truncate(uint8_t *pkt, size_t len, size_t max, const struct dns_query *q)
{
	size_t keep = DNS_HDR_LEN + q->qname_len + 4;

	if (len <= max || len < keep)
		return len;
	put16(pkt + 2, get16(pkt + 2) | DNS_F_TC);
	put16(pkt + 6, 0);
	put16(pkt + 8, 0);
	put16(pkt + 10, 0);
	return keep;
}

uint8_t dnsmsg_rcode(const uint8_t *pkt, size_t len)
{
	if (len < DNS_HDR_LEN)
		return DNS_RCODE_SERVFAIL;
	return pkt[3] & DNS_F_RCODE;
}
