// SPDX-License-Identifier: Apache-2.0
/* CNAME chain walker (see chain.h). The packet comes from libunbound, which built it from what
 * the upstream said: every read is bounds-checked all the same. */
#include "chain.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "wire.h"

int dnsmsg_read_name(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out, size_t *outlen)
{
	size_t o = *off, n = 0, end = 0;
	bool jumped = false;

	for (;;) {
		uint8_t l;

		if (o >= len)
			return -EBADMSG;
		l = pkt[o];
		if ((l & 0xc0) == 0xc0) {
			size_t target;

			if (len - o < 2)
				return -EBADMSG;
			target = (size_t)(l & 0x3f) << 8 | pkt[o + 1];
			/* Strictly backwards: every jump lowers o, so the walk ends. */
			if (target >= o)
				return -EBADMSG;
			if (!jumped)
				end = o + 2;
			jumped = true;
			o = target;
			continue;
		}
		if (l & 0xc0)
			return -EBADMSG; /* extended label types (RFC 6891 §5) */
		if (len - o < 1 + (size_t)l || n + 1 + l > DNS_NAME_WIRE_MAX)
			return -EBADMSG;
		out[n++] = l;
		for (size_t i = 0; i < l; i++)
			out[n++] = wire_lower(pkt[o + 1 + i]);
		o += 1 + (size_t)l;
		if (!l)
			break;
	}
	*outlen = n;
	*off = jumped ? end : o;
	return 0;
}

struct cname_rr {
	uint8_t owner_len, target_len;
	uint8_t owner[DNS_NAME_WIRE_MAX];
	uint8_t target[DNS_NAME_WIRE_MAX];
};

static bool same_name(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return al == bl && !memcmp(a, b, al); /* both lowercase already */
}

/* The CNAME records of the answer section. 0 and *n, or -EBADMSG. */
static int collect_cnames(const uint8_t *pkt, size_t len, size_t *off, unsigned int an,
			  struct cname_rr *rr, unsigned int *n)
{
	unsigned int i, j;

	*n = 0;
	for (i = 0; i < an; i++) {
		uint8_t owner[DNS_NAME_WIRE_MAX];
		size_t ol, tl, rd;
		uint16_t type, class, rdlen;

		if (dnsmsg_read_name(pkt, len, off, owner, &ol) || len - *off < 10)
			return -EBADMSG;
		type = wire_get16(pkt + *off);
		class = wire_get16(pkt + *off + 2);
		rdlen = wire_get16(pkt + *off + 8);
		*off += 10;
		if (len - *off < rdlen)
			return -EBADMSG;
		rd = *off;
		*off += rdlen;
		if (type != DNS_TYPE_CNAME || class != DNS_CLASS_IN)
			continue;
		if (*n >= DNS_CHAIN_RR_MAX)
			return -EBADMSG;
		/* The target must fill the RDATA exactly. */
		if (dnsmsg_read_name(pkt, rd + rdlen, &rd, rr[*n].target, &tl) || rd != *off)
			return -EBADMSG;
		for (j = 0; j < *n; j++)
			if (same_name(rr[j].owner, rr[j].owner_len, owner, ol))
				return -EBADMSG; /* two CNAMEs for one name: which one is meant? */
		memcpy(rr[*n].owner, owner, ol);
		rr[*n].owner_len = (uint8_t)ol; /* <= DNS_NAME_WIRE_MAX = 255 */
		rr[*n].target_len = (uint8_t)tl;
		(*n)++;
	}
	return 0;
}

int dnsmsg_cname_chain(const uint8_t *pkt, size_t len, struct dns_chain *c)
{
	struct cname_rr rr[DNS_CHAIN_RR_MAX]; /* 32 KiB */
	unsigned int an, n_rr, i;
	size_t off = DNS_HDR_LEN, ql;
	int err;

	memset(c, 0, sizeof(*c));
	if (len < DNS_HDR_LEN || wire_get16(pkt + 4) != 1)
		return -EBADMSG;
	an = wire_get16(pkt + 6);
	if (dnsmsg_read_name(pkt, len, &off, c->names[0], &ql) || len - off < 4)
		return -EBADMSG;
	off += 4;
	c->len[0] = (uint8_t)ql;
	c->n = 1;
	err = collect_cnames(pkt, len, &off, an, rr, &n_rr);
	if (err)
		return err;
	for (;;) {
		const uint8_t *cur = c->names[c->n - 1];
		size_t cl = c->len[c->n - 1];

		for (i = 0; i < n_rr; i++)
			if (same_name(rr[i].owner, rr[i].owner_len, cur, cl))
				break;
		if (i == n_rr)
			return 0;
		if (c->n == DNS_CHAIN_MAX)
			return -ELOOP;
		memcpy(c->names[c->n], rr[i].target, rr[i].target_len);
		c->len[c->n] = rr[i].target_len;
		c->n++;
	}
}

int dnsmsg_answer_rrs(const uint8_t *pkt, size_t len, const struct dns_chain *c, uint16_t qtype,
		      struct dns_rdata *rd, unsigned int max, unsigned int *n, uint32_t *ttl)
{
	uint8_t owner[DNS_NAME_WIRE_MAX], qn[DNS_NAME_WIRE_MAX];
	const uint8_t *fin = c->names[c->n - 1];
	size_t off = DNS_HDR_LEN, ol, fl = c->len[c->n - 1];
	unsigned int an, i;
	bool first = true;

	*n = 0;
	*ttl = 0;
	if (len < DNS_HDR_LEN || wire_get16(pkt + 4) != 1)
		return -EBADMSG;
	an = wire_get16(pkt + 6);
	if (dnsmsg_read_name(pkt, len, &off, qn, &ol) || len - off < 4)
		return -EBADMSG;
	off += 4;
	for (i = 0; i < an; i++) {
		uint16_t type, class, rdlen;
		uint32_t t;

		if (dnsmsg_read_name(pkt, len, &off, owner, &ol) || len - off < 10)
			return -EBADMSG;
		type = wire_get16(pkt + off);
		class = wire_get16(pkt + off + 2);
		t = (uint32_t)wire_get16(pkt + off + 4) << 16 | wire_get16(pkt + off + 6);
		rdlen = wire_get16(pkt + off + 8);
		off += 10;
		if (len - off < rdlen)
			return -EBADMSG;
		if (t & 0x80000000U)
			t = 0;
		if (first || t < *ttl)
			*ttl = t;
		first = false;
		if (type == qtype && class == DNS_CLASS_IN && same_name(owner, ol, fin, fl)) {
			if (*n < max) {
				rd[*n].off = (uint32_t)off;
				rd[*n].len = rdlen;
			}
			(*n)++;
		}
		off += rdlen;
	}
	return 0;
}
