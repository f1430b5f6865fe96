// SPDX-License-Identifier: Apache-2.0
/* One client query, from datagram to answer: parse, decide by policy, answer locally or hand to
 * libunbound, learn the answer's addresses through the enforcer, report to auditd. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <unbound.h>

#include "../common/learn.h"
#include "../common/log.h"
#include "../proto/events.h"
#include "dnsd.h"
#include "dnsmsg.h"

/* A query libunbound is resolving. Owned by the in-flight list until its callback runs. */
struct pending {
	struct pending *prev, *next;
	struct dnsd *d;
	struct sockaddr_in client;
	struct dns_query q;
	char canon[CW_NAME_MAX]; /* policy form: lowercase, search domain stripped */
	uint32_t rule_id;
	bool learn;	 /* allowed by a hostname rule: its A answers go to the enforcer */
	bool would_deny; /* audit mode: enforce mode would have answered NXDOMAIN */
};

/* Only the main thread runs callbacks (ub_process), one at a time: one buffer serves all. */
static uint8_t answer_buf[65536];

static const char *const stat_names[ST_MAX] = {
	[ST_RX] = "received",
	[ST_DROP_SHORT] = "dropped_short",
	[ST_DROP_LARGE] = "dropped_large",
	[ST_DROP_RESPONSE] = "dropped_response",
	[ST_FORMERR] = "formerr",
	[ST_NOTIMP] = "notimp",
	[ST_REFUSED_TYPE] = "refused_class_or_type",
	[ST_REFUSED_NAME] = "refused_name",
	[ST_DENIED] = "denied_nxdomain",
	[ST_WOULD_DENY] = "would_deny",
	[ST_FORWARDED] = "forwarded",
	[ST_ANSWERED] = "answered",
	[ST_SERVFAIL] = "servfail",
	[ST_UB_ERROR] = "resolver_error",
	[ST_INFLIGHT_FULL] = "inflight_full",
	[ST_LEARNED] = "addresses_learned",
	[ST_ADDR_REFUSED] = "addresses_refused",
	[ST_QUEUE_FULL] = "dnsq_full",
	[ST_ACK_TIMEOUT] = "ack_timeout",
	[ST_TRUNCATED] = "truncated",
	[ST_EVQ_FULL] = "events_dropped",
	[ST_SEND_ERROR] = "send_errors",
};

void dnsd_log_stats(const struct dnsd *d)
{
	char line[1024];
	size_t o = 0;
	int i;

	for (i = 0; i < ST_MAX && o < sizeof(line); i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s=%llu", i ? " " : "",
				      stat_names[i], (unsigned long long)d->stats[i]);
	log_info("counters: %s", line);
}

static const char *client_str(const struct sockaddr_in *c, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	if (!inet_ntop(AF_INET, &c->sin_addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s:%u", a, ntohs(c->sin_port));
	return buf;
}

static void send_answer(struct dnsd *d, const uint8_t *buf, size_t len,
			const struct sockaddr_in *to)
{
	if (!len)
		return;
	/* The socket is non-blocking: a client that does not read loses its answer rather than
	 * stalling everybody else's. */
	if (sendto(d->sock, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		d->stats[ST_SEND_ERROR]++;
		log_debug("sendto: %s", strerror(errno));
	}
}

static void send_reply(struct dnsd *d, const struct dns_query *q, uint8_t rcode,
		       const struct sockaddr_in *to)
{
	uint8_t buf[DNS_HDR_LEN + DNS_NAME_WIRE_MAX + 4];

	send_answer(d, buf, dnsmsg_build_reply(q, rcode, buf, sizeof(buf)), to);
}

static void event_init(struct cw_dns_event *ev, const struct dns_query *q,
		       const struct sockaddr_in *client, uint8_t type, uint32_t rule_id)
{
	struct timespec ts;
	size_t i;

	memset(ev, 0, sizeof(*ev));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev->ts_realtime_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	ev->type = type;
	ev->qtype = q->qtype;
	ev->rule_id = rule_id;
	ev->client_family = 4;
	ev->client_port = client->sin_port;
	memcpy(ev->client_addr, &client->sin_addr, 4);
	/* Lowercase, as the policy sees it; escapes kept, so auditd gets printable text. */
	for (i = 0; i < sizeof(ev->query) - 1 && q->name[i]; i++) {
		char c = q->name[i];

		ev->query[i] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
	}
}

static void event_push(struct dnsd *d, const struct cw_dns_event *ev)
{
	if (shmq_push(&d->evq, ev, sizeof(*ev), NULL)) {
		/* auditd reports the loss from the queue's dropped_full counter. */
		d->stats[ST_EVQ_FULL]++;
		return;
	}
	shmq_ring(&d->evq);
}

/* Answer locally (error or policy answer) and report it. */
static void answer_local(struct dnsd *d, const struct dns_query *q, const struct sockaddr_in *from,
			 uint8_t rcode, uint32_t rule_id)
{
	struct cw_dns_event ev;

	send_reply(d, q, rcode, from);
	event_init(&ev, q, from, CW_DNSEV_BLOCKED, rule_id);
	ev.rcode = rcode;
	event_push(d, &ev);
}

/* Addresses of the answer for the audit event (both families, capped). */
static void event_answers(struct cw_dns_event *ev, const struct ub_result *res)
{
	int i;

	for (i = 0; res->data[i] && ev->n_answers < CW_ANSWERS_MAX; i++) {
		uint8_t fam;

		if (res->qtype == DNS_TYPE_A && res->len[i] == 4)
			fam = 4;
		else if (res->qtype == DNS_TYPE_AAAA && res->len[i] == 16)
			fam = 6;
		else
			continue;
		ev->answer_family[ev->n_answers] = fam;
		memcpy(ev->answers[ev->n_answers], res->data[i], (size_t)res->len[i]);
		ev->n_answers++;
	}
}

/* Push the A answers to the enforcer and wait until they are in the kernel map. 0, or -ENOSPC
 * (queue full) / -ETIMEDOUT (no ack in time): then the answer must not be released in enforce
 * mode. IPv6 learning comes later; AAAA answers pass unlearned (the kernel denies them). */
static int learn_answers(struct dnsd *d, const struct pending *p, const struct ub_result *res)
{
	uint64_t seq = 0;
	int i, n = 0, err = 0;

	if (res->qtype != DNS_TYPE_A)
		return 0;
	for (i = 0; res->data[i]; i++) {
		struct cw_dnsq_entry e;
		const char *why;

		if (res->len[i] != 4)
			continue;
		memset(&e, 0, sizeof(e));
		e.family = 4;
		e.prefixlen = 32;
		e.rule_id = p->rule_id;
		e.ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
		memcpy(e.addr, res->data[i], 4);
		memcpy(e.name, p->canon, sizeof(e.name));
		why = learn_addr_refused(4, e.addr, d->learn_flags);
		if (why) {
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, e.addr, a, sizeof(a));
			log_warnx("%s: not learning %s: %s", p->canon, a, why);
			d->stats[ST_ADDR_REFUSED]++;
			continue;
		}
		err = shmq_push(&d->dnsq, &e, sizeof(e), &seq);
		if (err) {
			d->stats[ST_QUEUE_FULL]++;
			log_warnx("%s: address queue to the enforcer: %s", p->canon,
				  strerror(-err));
			break;
		}
		n++;
		d->stats[ST_LEARNED]++;
	}
	if (n)
		shmq_ring(&d->dnsq);
	if (err)
		return err;
	if (n && shmq_wait_applied(&d->dnsq, seq, CW_ACK_TIMEOUT_MS)) {
		d->stats[ST_ACK_TIMEOUT]++;
		log_warnx("%s: the enforcer did not apply %d address(es) within %d ms", p->canon, n,
			  CW_ACK_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	return 0;
}

static void inflight_unlink(struct dnsd *d, struct pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		d->inflight = p->next;
	if (p->next)
		p->next->prev = p->prev;
	d->n_inflight--;
}

static void on_result(void *arg, int ub_err, struct ub_result *res)
{
	struct pending *p = arg;
	struct dnsd *d = p->d;
	struct cw_dns_event ev;
	size_t len = 0;
	char cl[64];

	inflight_unlink(d, p);
	event_init(&ev, &p->q, &p->client, p->would_deny ? CW_DNSEV_BLOCKED : CW_DNSEV_ALLOWED,
		   p->rule_id);
	if (p->would_deny)
		ev.flags |= CW_EVF_WOULD_DENY;
	if (ub_err || !res) {
		d->stats[ST_UB_ERROR]++;
		log_warnx("%s: resolver: %s", p->q.name, ub_strerror(ub_err));
		goto servfail;
	}
	if (!res->answer_packet || res->answer_len <= DNS_HDR_LEN) {
		/* libunbound reports a failed resolution (upstream timeout, REFUSED) as no packet
		 * or a bare header without the question: answer its rcode with the question. */
		uint8_t rcode = res->rcode > 0 && res->rcode <= 15 ? (uint8_t)res->rcode :
								     DNS_RCODE_SERVFAIL;

		log_debug("%s: no answer from upstream, rcode %u", p->q.name, rcode);
		if (rcode == DNS_RCODE_SERVFAIL)
			goto servfail;
		send_reply(d, &p->q, rcode, &p->client);
		d->stats[ST_ANSWERED]++;
		ev.rcode = rcode;
		goto out;
	}
	if ((size_t)res->answer_len > sizeof(answer_buf)) {
		d->stats[ST_UB_ERROR]++;
		log_warnx("%s: resolver answer of %d bytes", p->q.name, res->answer_len);
		goto servfail;
	}
	len = (size_t)res->answer_len;
	memcpy(answer_buf, res->answer_packet, len);
	if (dnsmsg_fix_answer(answer_buf, len, &p->q)) {
		d->stats[ST_UB_ERROR]++;
		log_warnx("%s: resolver answer does not match the question", p->q.name);
		goto servfail;
	}
	if (dnsmsg_strip_opt(answer_buf, &len)) {
		d->stats[ST_UB_ERROR]++;
		log_warnx("%s: resolver answer does not parse", p->q.name);
		goto servfail;
	}
	if (len > DNS_UDP_MAX) {
		/* The client gets no record from this answer, so there is nothing to learn. */
		len = dnsmsg_truncate(answer_buf, len, DNS_UDP_MAX, &p->q);
		d->stats[ST_TRUNCATED]++;
	} else {
		if (p->learn && learn_answers(d, p, res) && d->mode == CW_MODE_ENFORCE)
			goto servfail; /* never release addresses the kernel does not admit yet */
		event_answers(&ev, res);
	}
	ev.rcode = dnsmsg_rcode(answer_buf, len);
	/* libunbound reports a TTL for NODATA answers too (from the SOA, or its own default):
	 * only an answer with data has a TTL worth logging. */
	ev.ttl = res->havedata && res->ttl > 0 ? (uint32_t)res->ttl : 0;
	send_answer(d, answer_buf, len, &p->client);
	d->stats[ST_ANSWERED]++;
	log_debug("%s %u from %s: rcode %u, %u address(es)%s", p->q.name, p->q.qtype,
		  client_str(&p->client, cl, sizeof(cl)), ev.rcode, ev.n_answers,
		  p->would_deny ? " (would deny)" : "");
	goto out;
servfail:
	d->stats[ST_SERVFAIL]++;
	ev.rcode = DNS_RCODE_SERVFAIL;
	ev.n_answers = 0;
	send_reply(d, &p->q, DNS_RCODE_SERVFAIL, &p->client);
out:
	event_push(d, &ev);
	if (res)
		ub_resolve_free(res);
	free(p);
}

static void forward(struct dnsd *d, const struct dns_query *q, const struct sockaddr_in *from,
		    const char *canon, uint32_t rule_id, bool learn, bool would_deny)
{
	struct pending *p;
	int ub;

	if (d->n_inflight >= DNSD_INFLIGHT_MAX) {
		d->stats[ST_INFLIGHT_FULL]++;
		d->stats[ST_SERVFAIL]++;
		send_reply(d, q, DNS_RCODE_SERVFAIL, from);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		d->stats[ST_SERVFAIL]++;
		send_reply(d, q, DNS_RCODE_SERVFAIL, from);
		return;
	}
	p->d = d;
	p->client = *from;
	p->q = *q;
	snprintf(p->canon, sizeof(p->canon), "%s", canon);
	p->rule_id = rule_id;
	p->learn = learn;
	p->would_deny = would_deny;
	/* Linked before the call: the callback unlinks it, whenever it runs. */
	p->next = d->inflight;
	if (d->inflight)
		d->inflight->prev = p;
	d->inflight = p;
	d->n_inflight++;
	/* The client's spelling of the name (plain characters only, checked by the caller), not
	 * the canonical one: the search domain stays, the upstream decides what it means. */
	ub = ub_resolve_async(d->ub, q->name, q->qtype, q->qclass, p, on_result, NULL);
	if (ub) {
		log_warnx("%s: resolver: %s", q->name, ub_strerror(ub));
		inflight_unlink(d, p);
		free(p);
		d->stats[ST_UB_ERROR]++;
		d->stats[ST_SERVFAIL]++;
		send_reply(d, q, DNS_RCODE_SERVFAIL, from);
		return;
	}
	d->stats[ST_FORWARDED]++;
}

void dnsd_handle_datagram(struct dnsd *d, const uint8_t *pkt, size_t len,
			  const struct sockaddr_in *from)
{
	char canon[CW_NAME_MAX], cl[64];
	struct dns_query q;
	const char *why;
	uint32_t rule_id;
	uint8_t action;
	int rc;

	d->stats[ST_RX]++;
	rc = dnsmsg_parse_query(pkt, len, &q, &why);
	if (rc < 0) {
		d->stats[len < DNS_HDR_LEN ? ST_DROP_SHORT : ST_DROP_RESPONSE]++;
		log_debug("dropped %zu bytes from %s: %s", len, client_str(from, cl, sizeof(cl)),
			  why);
		return;
	}
	if (rc > 0) {
		if (rc == DNS_RCODE_FORMERR)
			d->stats[ST_FORMERR]++;
		else if (rc == DNS_RCODE_NOTIMP)
			d->stats[ST_NOTIMP]++;
		else
			d->stats[ST_REFUSED_TYPE]++;
		log_debug("rcode %d to %s: %s", rc, client_str(from, cl, sizeof(cl)), why);
		send_reply(d, &q, (uint8_t)rc, from);
		return;
	}
	/* A name the policy cannot read as a hostname (escaped bytes, empty labels, the root) can
	 * match no rule: REFUSED in both modes, and nothing goes upstream. REFUSED rather than
	 * NXDOMAIN because no policy decision was taken about it. */
	if (!q.name_plain || policy_name_canon(&d->policy, q.name, canon, sizeof(canon)) < 0) {
		d->stats[ST_REFUSED_NAME]++;
		log_debug("refused %s from %s: not a hostname", q.name,
			  client_str(from, cl, sizeof(cl)));
		answer_local(d, &q, from, DNS_RCODE_REFUSED, 0);
		return;
	}
	rule_id = policy_match_hostname(&d->policy, canon, &action);
	if (action != CW_ACTION_ALLOW) {
		if (d->mode == CW_MODE_ENFORCE) {
			d->stats[ST_DENIED]++;
			log_debug("denied %s %u from %s (rule %u)", canon, q.qtype,
				  client_str(from, cl, sizeof(cl)), rule_id);
			answer_local(d, &q, from, DNS_RCODE_NXDOMAIN, rule_id);
			return;
		}
		d->stats[ST_WOULD_DENY]++;
		forward(d, &q, from, canon, rule_id, false, true);
		return;
	}
	/* A default-allow decision (rule 0) needs no learned route: the kernel allows by default
	 * too. */
	forward(d, &q, from, canon, rule_id, rule_id != 0, false);
}

void dnsd_free_inflight(struct dnsd *d)
{
	while (d->inflight) {
		struct pending *p = d->inflight;

		d->inflight = p->next;
		free(p);
	}
	d->n_inflight = 0;
}
