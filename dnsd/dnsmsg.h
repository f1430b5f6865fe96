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
/* RFC 1035 §4.2.1: UDP answers to clients that did not offer EDNS. */
#define DNS_UDP_MAX 512
/* The largest UDP answer dnsd sends to a client that offered more with EDNS0 (RFC 6891), and
 * the size its own OPT advertises: DNS flag day 2020's 1232 bytes fit the IPv6 minimum MTU
 * without fragmentation. Larger answers get TC=1 and the client retries over TCP. */
#define DNS_EDNS_UDP_MAX 1232
/* A DNS message over TCP: the 2-byte length prefix (RFC 1035 §4.2.2). */
#define DNS_TCP_MAX 65535
/* The OPT record dnsd appends: root owner, type, class, TTL, RDLENGTH = 0. */
#define DNS_OPT_LEN 11
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
	/* Extended (RFC 6891 §6.1.3): 4 bits in the header, the upper 8 in the OPT record. */
	DNS_RCODE_BADVERS = 16,
};

#define DNS_CLASS_IN 1
#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_PTR 12
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_OPT 41

/* A client query, as parsed by dnsmsg_parse_query(). */
struct dns_query {
	uint16_t id;
	uint16_t flags; /* the client's header flags */
	uint16_t qtype;
	uint16_t qclass;
	bool has_question; /* the question parsed: answers echo it */
	bool edns;	   /* an OPT record came with the query: the answer carries one too */
	uint8_t edns_version;
	uint16_t edns_udp; /* the client's UDP payload size (OPT CLASS) */
	bool name_plain;   /* every label is [A-Za-z0-9_-]: name[] needed no escapes */
	size_t qname_len;  /* wire length, root label included */
	uint8_t qname[DNS_NAME_WIRE_MAX];
	/* Presentation form: the client's letter case, no trailing dot ("" for the root), bytes
	 * outside [A-Za-z0-9_-] written as \DDD. */
	char name[DNS_NAME_TEXT_MAX];
};

/* Parse one message (a datagram, or one length-framed message of a TCP stream) strictly: a
 * 12-byte header with QR=0 and opcode QUERY, exactly one question whose name uses no compression
 * (labels <= 63, name <= 255 octets), no answer or authority records, at most one additional
 * record which must be an OPT, and nothing after.
 *
 * Exactly one question: a message with QDCOUNT 2 could carry an allowed name first and a denied
 * one second, and a resolver may well answer (or forward) both. dnsd judges one name per
 * message, so it refuses the others outright (FORMERR, as BIND and Unbound do): no second
 * question is ever read, let alone sent upstream. Several messages pipelined on one TCP
 * connection are each parsed by this function and judged on their own.
 *
 * Returns 0 when q holds a query to decide on; a DNS rcode (> 0) to answer with (FORMERR,
 * NOTIMP, REFUSED; q->has_question says whether the answer can echo the question); or -EBADMSG
 * when nothing must be answered (shorter than a header, or a response: answering responses
 * could start a loop between two resolvers). *why gets a static reason when the result is not
 * 0. */
int dnsmsg_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q, const char **why);

/* The largest answer dnsd may send to q over UDP: min(the client's EDNS0 size, 1232) when it
 * sent an OPT record (never below 512), else 512. */
size_t dnsmsg_udp_limit(const struct dns_query *q);

/* Build an answer with no records: the query's ID, opcode, RD and CD, QR=1, RA=1, `rcode`, the
 * question when q->has_question, and dnsd's OPT record when q->edns (carrying the upper bits
 * of an extended rcode such as BADVERS). Returns its length, or 0 when outlen is too small. */
size_t dnsmsg_build_reply(const struct dns_query *q, unsigned int rcode, uint8_t *out,
			  size_t outlen);

/* Append dnsd's OPT record (UDP size DNS_EDNS_UDP_MAX, version 0, no flags, `ext_rcode` as the
 * upper 8 bits of the rcode) and bump ARCOUNT. New length, or 0 when cap is too small. */
size_t dnsmsg_add_opt(uint8_t *pkt, size_t len, size_t cap, uint8_t ext_rcode);

/* Finish a resolver's answer already passed through dnsmsg_fix_answer() and
 * dnsmsg_strip_opt() for the client: when it (with dnsd's OPT, if q->edns) is longer than
 * `limit`, truncate it (dnsmsg_truncate) and set *truncated; then append the OPT when q->edns.
 * pkt must have room for DNS_OPT_LEN more bytes (cap). New length, or 0 on error. */
size_t dnsmsg_finish(uint8_t *pkt, size_t len, size_t cap, const struct dns_query *q, size_t limit,
		     bool *truncated);

/* Presentation form of an uncompressed wire name (see struct dns_query's name): into out,
 * which holds DNS_NAME_TEXT_MAX bytes. Returns true when every label is [A-Za-z0-9_-]. */
bool dnsmsg_name_text(const uint8_t *wire, size_t wlen, char *out);

/* Make a resolver's answer packet an answer to `q`, in place: check that it is a response with
 * exactly q's question (names compared case-insensitively, type, class), then put back the
 * client's ID, the client's RD and CD bits, RA=1, and the client's letter case in the question
 * (a client may use the case as extra entropy, draft-vixie-dnsext-dns0x20). 0, or -EBADMSG when
 * the packet does not answer q. */
int dnsmsg_fix_answer(uint8_t *pkt, size_t len, const struct dns_query *q);

/* Remove the OPT record a resolver appended to its answer, in place, adjusting ARCOUNT. The
 * resolver's OPT speaks for libunbound's link to the upstream (its buffer size, its DO bit),
 * not for dnsd's link to the client: dnsd puts its own back (dnsmsg_finish) when the client
 * sent one, and none otherwise (RFC 6891 §7). The packet is walked record by record (compressed names allowed there); the
 * OPT must be the last record, where resolvers put it. 0 and *len updated (unchanged when there
 * is no OPT), or -EBADMSG for a packet that does not parse. */
int dnsmsg_strip_opt(uint8_t *pkt, size_t *len);

/* An answer already fixed by dnsmsg_fix_answer() that is longer than `max`: keep the header and
 * the question, set TC, zero the record counts (RFC 2181 §9: the client retries over TCP).
 * Returns the new length (len when it already fits). */
size_t dnsmsg_truncate(uint8_t *pkt, size_t len, size_t max, const struct dns_query *q);

/* The offsets of the TTL fields of every record after the question of an answer without an
 * OPT record (dnsmsg_strip_opt), at most `max` of them, and the smallest TTL (a TTL with the
 * top bit set counts as 0; 0 when there is no record). 0 with *n set, -E2BIG for more than
 * `max` records, -EBADMSG when the packet does not parse or holds an OPT. */
int dnsmsg_ttl_offsets(const uint8_t *pkt, size_t len, uint16_t *offs, unsigned int max,
		       unsigned int *n, uint32_t *min_ttl);

/* RCODE of a packet with at least a header; SERVFAIL for anything shorter. */
uint8_t dnsmsg_rcode(const uint8_t *pkt, size_t len);

#endif
