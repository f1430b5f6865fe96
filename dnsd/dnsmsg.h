/* SPDX-License-Identifier: Apache-2.0 */
/* DNS wire format for cargowall-dnsd: strict query parsing and the few answers dnsd builds or
 * edits itself. Pure functions on byte buffers (no I/O, no globals), so unit tests can feed
 * them crafted packets. */
#ifndef CW_DNSD_DNSMSG_H
#define CW_DNSD_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
/* RFC 1035 §2.3.4: a name is at most 255 octets on the wire, labels at most 63. */
#define DNS_NAME_WIRE_MAX 255
#define DNS_LABEL_MAX 63
/* RFC 1035 §4.2.1: UDP answers to clients that did not offer EDNS. dnsd never echoes OPT, so
 * this is the limit for every UDP answer it sends. */
#define DNS_UDP_MAX 512
/* Presentation form of a wire name: every byte may become "\DDD" (4 chars), plus dots and NUL;
 * 255 wire octets give at most 1012 characters. */
#define DNS_NAME_TEXT_MAX 1024

/* Header flag bits (host order). */
#define DNS_F_QR 0x8000
#define DNS_F_OPCODE 0x7800
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010
#define DNS_F_RCODE 0x000f

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

#define DNS_CLASS_IN 1
#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_OPT 41

/* A client query, as parsed by dnsmsg_parse_query(). */
struct dns_query {
	uint16_t id;
	uint16_t flags; /* the client's header flags */
	uint16_t qtype;
	uint16_t qclass;
	bool has_question; /* the question parsed: answers echo it */
	bool edns;	   /* an OPT record came with the query */
	bool name_plain;   /* every label is [A-Za-z0-9_-]: name[] needed no escapes */
	size_t qname_len;  /* wire length, root label included */
	uint8_t qname[DNS_NAME_WIRE_MAX];
	/* Presentation form: the client's letter case, no trailing dot ("" for the root), bytes
	 * outside [A-Za-z0-9_-] written as \DDD. */
	char name[DNS_NAME_TEXT_MAX];
};

/* Parse one datagram strictly: a 12-byte header with QR=0 and opcode QUERY, exactly one
 * question whose name uses no compression (labels <= 63, name <= 255 octets), no answer or
 * authority records, at most one additional record which must be an OPT, and nothing after.
 *
 * Returns 0 when q holds a query to decide on; a DNS rcode (> 0) to answer with (FORMERR,
 * NOTIMP, REFUSED; q->has_question says whether the answer can echo the question); or -EBADMSG
 * when nothing must be answered (shorter than a header, or a response: answering responses
 * could start a loop between two resolvers). *why gets a static reason when the result is not
 * 0. */
int dnsmsg_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q, const char **why);

/* Build an answer with no records: the query's ID, opcode, RD and CD, QR=1, RA=1, `rcode`, and
 * the question when q->has_question. Returns its length, or 0 when outlen is too small. */
size_t dnsmsg_build_reply(const struct dns_query *q, uint8_t rcode, uint8_t *out, size_t outlen);

/* Make a resolver's answer packet an answer to `q`, in place: check that it is a response with
 * exactly q's question (names compared case-insensitively, type, class), then put back the
 * client's ID, the client's RD and CD bits, RA=1, and the client's letter case in the question
 * (a client may use the case as extra entropy, draft-vixie-dnsext-dns0x20). 0, or -EBADMSG when
 * the packet does not answer q. */
int dnsmsg_fix_answer(uint8_t *pkt, size_t len, const struct dns_query *q);

/* Remove the OPT record a resolver appended to its answer, in place, adjusting ARCOUNT. dnsd
 * does not speak EDNS to its clients yet: an OPT in the answer would advertise a buffer size
 * and a DO bit the client never asked for (RFC 6891 §7: no OPT in a response to a query
 * without one). The packet is walked record by record (compressed names allowed there); the
 * OPT must be the last record, where resolvers put it. 0 and *len updated (unchanged when there
 * is no OPT), or -EBADMSG for a packet that does not parse. */
int dnsmsg_strip_opt(uint8_t *pkt, size_t *len);

/* An answer already fixed by dnsmsg_fix_answer() that is longer than `max`: keep the header and
 * the question, set TC, zero the record counts (RFC 2181 §9: the client retries over TCP).
 * Returns the new length (len when it already fits). */
size_t dnsmsg_truncate(uint8_t *pkt, size_t len, size_t max, const struct dns_query *q);

/* RCODE of a packet with at least a header; SERVFAIL for anything shorter. */
uint8_t dnsmsg_rcode(const uint8_t *pkt, size_t len);

#endif
