/* SPDX-License-Identifier: Apache-2.0 */
/* The CNAME chain of a resolver's answer, from the question name to the name whose records
 * answer it. Pure function on a byte buffer, unit-tested on crafted packets. */
#ifndef CW_DNSD_CHAIN_H
#define CW_DNSD_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "dnsmsg.h"

/* Names on one chain, the question's included. Resolvers give up well before this (Unbound
 * follows at most 11 CNAMEs, BIND 16): a longer chain is a loop or an attack. */
#define DNS_CHAIN_MAX 17
/* CNAME records read from one answer section; more is not an answer worth judging. */
#define DNS_CHAIN_RR_MAX 64

struct dns_chain {
	unsigned int n; /* names on the chain: names[0] is the question, names[n-1] the final */
	uint8_t len[DNS_CHAIN_MAX];
	uint8_t names[DNS_CHAIN_MAX][DNS_NAME_WIRE_MAX]; /* uncompressed wire form, lowercase */
};

/* Follow the CNAME records of the answer section (class IN) from the question name: names[0]
 * is the question, each next name the target of the one CNAME owned by the name before it.
 * Records of other types and names off the chain are ignored (only the names matter here).
 * Compressed names are followed (pointers must point strictly backwards, so this ends).
 *
 * 0 and *c filled; -EBADMSG when the packet does not parse (a record or name runs past the end,
 * not exactly one question), a name has two CNAMEs, or the section has more than
 * DNS_CHAIN_RR_MAX CNAMEs; -ELOOP when the chain is longer than DNS_CHAIN_MAX (a loop). The
 * caller must then treat every name as unknown: nothing on the chain is judged safe. */
int dnsmsg_cname_chain(const uint8_t *pkt, size_t len, struct dns_chain *c);

/* A record's data in a packet. */
struct dns_rdata {
	uint32_t off; /* offset of the RDATA */
	uint16_t len;
};
/* The records that answer the question at the end of chain c (dnsmsg_cname_chain() on the same
 * packet): in the answer section, owner names[n - 1], type qtype, class IN; what libunbound's
 * ub_result.data holds. The first `max` go to rd[]; *n counts them all. *ttl gets the smallest
 * TTL of the answer section's records (CNAMEs included, libunbound's rule for a positive
 * answer; a TTL with the top bit set counts as 0, RFC 2181 §8), 0 when the section is empty.
 * 0, or -EBADMSG when the packet does not parse. */
int dnsmsg_answer_rrs(const uint8_t *pkt, size_t len, const struct dns_chain *c, uint16_t qtype,
		      struct dns_rdata *rd, unsigned int max, unsigned int *n, uint32_t *ttl);
/* Read a possibly compressed name at pkt[*off] into out (uncompressed, lowercase, <= 255
 * octets); *off moves past the name where it sits. 0 or -EBADMSG. */
int dnsmsg_read_name(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out, size_t *outlen);

#endif
