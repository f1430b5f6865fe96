// SPDX-License-Identifier: Apache-2.0
/* DNS wire parsing and building for dnsd (see dnsmsg.h). Every read is bounds-checked against
 * the datagram length: the bytes come from any process on the runner. */
#include "dnsmsg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

#define get16 wire_get16
#define put16 wire_put16
#define lower wire_lower

static bool plain_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Wire name (already validated: labels within wlen, <= 255 octets) to presentation form. Bytes
 * that are not plain hostname characters are escaped so that the text is unambiguous ("a.b" as
 * one label never reads as two labels) and carries no control characters into logs. */
bool dnsmsg_name_text(const uint8_t *wire, size_t wlen, char *out)
{
	size_t off = 0, o = 0;
	bool plain = true;

	while (off < wlen && wire[off]) {
		uint8_t n = wire[off++];

		if (o)
			out[o++] = '.';
		for (; n && off < wlen; n--, off++) {
			uint8_t c = wire[off];

			if (plain_char(c)) {
				out[o++] = (char)c;
			} else {
				snprintf(out + o, 5, "\\%03u", c);
				o += 4;
				plain = false;
			}
		}
	}
	out[o] = '\0';
	return plain;
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
static int parse_opt(const uint8_t *pkt, size_t len, size_t *off, struct dns_query *q,
		     const char **why)
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
	q->edns_udp = get16(pkt + o + 3);
	/* TTL: extended rcode (8 bits), version (8 bits), flags (16 bits) */
	q->edns_version = pkt[o + 6];
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
	q->name_plain = dnsmsg_name_text(q->qname, q->qname_len, q->name);
	if (an || ns) {
		*why = "answer or authority records in a query";
		return DNS_RCODE_FORMERR;
	}
	if (ar > 1) {
		*why = "more than one additional record";
		return DNS_RCODE_FORMERR;
	}
	if (ar == 1) {
		if (parse_opt(pkt, len, &off, q, why))
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
	if (q->edns && q->edns_version != 0) {
		*why = "EDNS version other than 0";
		return DNS_RCODE_BADVERS;
	}
	return 0;
}

size_t dnsmsg_udp_limit(const struct dns_query *q)
{
	/* RFC 6891 §6.2.5: a size below 512 is treated as 512. */
	if (!q->edns || q->edns_udp <= DNS_UDP_MAX)
		return DNS_UDP_MAX;
	return q->edns_udp < DNS_EDNS_UDP_MAX ? q->edns_udp : DNS_EDNS_UDP_MAX;
}

size_t dnsmsg_add_opt(uint8_t *pkt, size_t len, size_t cap, uint8_t ext_rcode)
{
	uint8_t *o = pkt + len;

	if (len < DNS_HDR_LEN || cap < len || cap - len < DNS_OPT_LEN)
		return 0;
	o[0] = 0; /* root */
	put16(o + 1, DNS_TYPE_OPT);
	put16(o + 3, DNS_EDNS_UDP_MAX);
	o[5] = ext_rcode;
	o[6] = 0;	 /* version */
	put16(o + 7, 0); /* flags: no DO, dnsd does not validate */
	put16(o + 9, 0);
	put16(pkt + 10, (uint16_t)(get16(pkt + 10) + 1));
	return len + DNS_OPT_LEN;
}

size_t dnsmsg_finish(uint8_t *pkt, size_t len, size_t cap, const struct dns_query *q, size_t limit,
		     bool *truncated)
{
	size_t opt = q->edns ? DNS_OPT_LEN : 0;

	*truncated = false;
	if (len < DNS_HDR_LEN || len > cap)
		return 0;
	if (len + opt > limit) {
		len = dnsmsg_truncate(pkt, len, limit > opt ? limit - opt : 0, q);
		*truncated = true;
	}
	if (q->edns)
		len = dnsmsg_add_opt(pkt, len, cap, 0);
	return len;
}

size_t dnsmsg_build_reply(const struct dns_query *q, unsigned int rcode, uint8_t *out,
			  size_t outlen)
{
	size_t len = DNS_HDR_LEN + (q->has_question ? q->qname_len + 4 : 0);
	uint16_t flags;

	if (outlen < len + (q->edns ? DNS_OPT_LEN : 0))
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
	if (q->edns)
		len = dnsmsg_add_opt(out, len, outlen, (uint8_t)(rcode >> 4));
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

int dnsmsg_ttl_offsets(const uint8_t *pkt, size_t len, uint16_t *offs, unsigned int max,
		       unsigned int *n, uint32_t *min_ttl)
{
	size_t off = DNS_HDR_LEN;
	unsigned int i, total;

	*n = 0;
	*min_ttl = UINT32_MAX;
	if (len < DNS_HDR_LEN || len > UINT16_MAX || get16(pkt + 4) != 1)
		return -EBADMSG;
	total = (unsigned int)get16(pkt + 6) + get16(pkt + 8) + get16(pkt + 10);
	if (skip_name(pkt, len, &off) || len - off < 4)
		return -EBADMSG;
	off += 4;
	for (i = 0; i < total; i++) {
		uint32_t ttl;
		uint16_t rdlen;

		if (skip_name(pkt, len, &off) || len - off < 10)
			return -EBADMSG;
		if (get16(pkt + off) == DNS_TYPE_OPT)
			return -EBADMSG; /* its "TTL" is flags: strip it first */
		if (i == max)
			return -E2BIG;
		ttl = (uint32_t)get16(pkt + off + 4) << 16 | get16(pkt + off + 6);
		/* RFC 2181 §8: a TTL with the top bit set means zero. */
		if (ttl > INT32_MAX)
			ttl = 0;
		if (ttl < *min_ttl)
			*min_ttl = ttl;
		offs[(*n)++] = (uint16_t)(off + 4);
		rdlen = get16(pkt + off + 8);
		off += 10;
		if (len - off < rdlen)
			return -EBADMSG;
		off += rdlen;
	}
	if (off != len)
		return -EBADMSG;
	if (!*n)
		*min_ttl = 0;
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
