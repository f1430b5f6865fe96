// SPDX-License-Identifier: Apache-2.0
/* One client query, from message to decision: parse, decide by policy (hostname rules, or the
 * address for a reverse lookup), answer locally or hand to libunbound (answer.c takes it from
 * there); and the plumbing every answer goes through: replies, audit events, counters. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#include "../common/log.h"
#include "../proto/events.h"
#include "dnsd.h"
#include "ptr.h"

/* Counter names in the exit log line: a benchmark and tests parse them, keep them stable. */
static const char *const stat_names[ST_MAX] = {
	[ST_RX] = "received",
	[ST_DROP_SHORT] = "dropped_short",
	[ST_DROP_LARGE] = "dropped_large",
	[ST_DROP_RESPONSE] = "dropped_response",
	[ST_FORMERR] = "formerr",
	[ST_NOTIMP] = "notimp",
	[ST_BADVERS] = "badvers",
	[ST_REFUSED_TYPE] = "refused_class_or_type",
	[ST_REFUSED_NAME] = "refused_name",
	[ST_DENIED] = "denied_nxdomain",
	[ST_WOULD_DENY] = "would_deny",
	[ST_PTR_DENIED] = "ptr_denied",
	[ST_CHAIN_DENIED] = "cname_chain_denied",
	[ST_CHAIN_BAD] = "cname_chain_bad",
	[ST_FORWARDED] = "forwarded",
	[ST_ANSWERED] = "answered",
	[ST_SERVFAIL] = "servfail",
	[ST_UB_ERROR] = "resolver_error",
	[ST_INFLIGHT_FULL] = "inflight_full",
	[ST_LEARNED] = "addresses_learned",
	[ST_LEARN_KNOWN] = "addresses_known",
	[ST_ADDR_REFUSED] = "addresses_refused",
	[ST_QUEUE_FULL] = "dnsq_full",
	[ST_ACK_TIMEOUT] = "ack_timeout",
	[ST_TRUNCATED] = "truncated",
	[ST_EVQ_FULL] = "events_dropped",
	[ST_SEND_ERROR] = "send_errors",
	[ST_TCP_ACCEPTED] = "tcp_accepted",
	[ST_TCP_REJECTED] = "tcp_rejected",
	[ST_TCP_EVICTED] = "tcp_evicted",
	[ST_TCP_IDLE] = "tcp_idle_closed",
	[ST_TCP_ABORTED] = "tcp_aborted",
	[ST_TCP_GONE] = "tcp_answers_dropped",
	[ST_CACHE_HIT] = "cache_hits",
	[ST_EV_DEDUPED] = "events_deduped",
};

/* See main.c for the format. Fields go on "counters:" lines of at most ~900 characters (the
 * log line limit is 1024), then one "ack_latency:" line. */
void dnsd_log_stats(const struct dnsd *d)
{
	char line[960];
	size_t o = 0;
	int i;

	for (i = 0; i < ST_MAX; i++) {
		char f[96];
		int n = snprintf(f, sizeof(f), "%s=%llu", stat_names[i],
				 (unsigned long long)d->stats[i]);

		if (o && o + 1 + (size_t)n >= 900) {
			log_info("counters: %s", line);
			o = 0;
		}
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s", o ? " " : "", f);
	}
	if (o)
		log_info("counters: %s", line);
	log_info("ack_latency: n=%llu p50_us=%llu p99_us=%llu max_us=%llu",
		 (unsigned long long)d->ack_hist.n,
		 (unsigned long long)hist_quantile(&d->ack_hist, 500),
		 (unsigned long long)hist_quantile(&d->ack_hist, 990),
		 (unsigned long long)d->ack_hist.max);
}

const char *dnsd_client_str(const struct dnsd_client *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	const char *proto = c->udp_fd >= 0 ? "udp" : "tcp";

	if (c->addr.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&c->addr;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u/%s", a, ntohs(s->sin_port), proto);
	} else if (c->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&c->addr;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u/%s", a, ntohs(s->sin6_port), proto);
	} else {
		snprintf(buf, len, "?/%s", proto);
	}
	return buf;
}

/* The sockets are non-blocking: a client that does not read loses its answer rather than
 * stalling everybody else's. A message that fails is counted and skipped, the rest still go. */
void dnsd_tx_flush(struct dnsd *d)
{
	struct dnsd_tx *t = &d->tx;
	unsigned int done = 0;

	while (done < t->n) {
		int r = sendmmsg(t->fd, t->msgs + done, t->n - done, MSG_DONTWAIT);

		if (r > 0) {
			done += (unsigned int)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		d->stats[ST_SEND_ERROR]++;
		log_debug("sendmmsg: %s", r < 0 ? strerror(errno) : "nothing sent");
		done++;
	}
	t->n = 0;
}

/* Queue a UDP answer for dnsd_tx_flush(): one syscall per batch instead of one per answer. */
static void tx_add(struct dnsd *d, const struct dnsd_client *c, const uint8_t *buf, size_t len)
{
	struct dnsd_tx *t = &d->tx;
	struct msghdr *h;
	unsigned int i;

	if (len > sizeof(t->buf[0]) || c->addrlen > sizeof(t->addr[0])) {
		if (sendto(c->udp_fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&c->addr,
			   c->addrlen) < 0) {
			d->stats[ST_SEND_ERROR]++;
			log_debug("sendto: %s", strerror(errno));
		}
		return;
	}
	if (t->n && (t->fd != c->udp_fd || t->n == DNSD_TX_BATCH))
		dnsd_tx_flush(d);
	i = t->n++;
	t->fd = c->udp_fd;
	memcpy(t->buf[i], buf, len);
	memcpy(&t->addr[i], &c->addr, c->addrlen);
	t->iov[i].iov_base = t->buf[i];
	t->iov[i].iov_len = len;
	h = &t->msgs[i].msg_hdr;
	memset(h, 0, sizeof(*h));
	h->msg_name = &t->addr[i];
	h->msg_namelen = c->addrlen;
	h->msg_iov = &t->iov[i];
	h->msg_iovlen = 1;
}

void dnsd_reply(struct dnsd *d, const struct dnsd_client *c, const uint8_t *buf, size_t len)
{
	if (c->udp_fd < 0) {
		tcp_reply(d, c->tcp_slot, c->tcp_gen, buf, len);
		return;
	}
	if (len)
		tx_add(d, c, buf, len);
}

int64_t dnsd_ring_pending(struct dnsd *d, bool force)
{
	if (d->dnsq_pending)
		shmq_ring(&d->dnsq);
	d->dnsq_pending = false;
	d->dnsq_rung = false;
	if (!d->evq_pending)
		return 0;
	/* auditd is woken for a batch of events, or once the oldest waited DNSD_EVQ_DELAY_NS:
	 * a wake-up per query would cost auditd and dnsd more than the records themselves, and
	 * the audit log does not need them within the millisecond. */
	if (!force && d->evq_n_pending < DNSD_EVQ_BATCH &&
	    dnsd_now_ns() - d->evq_first_ns < DNSD_EVQ_DELAY_NS)
		return d->evq_first_ns + DNSD_EVQ_DELAY_NS;
	d->evq_pending = false;
	d->evq_n_pending = 0;
	shmq_ring(&d->evq);
	return 0;
}

void dnsd_reply_rcode(struct dnsd *d, const struct dns_query *q, unsigned int rcode,
		      const struct dnsd_client *c)
{
	uint8_t buf[DNS_HDR_LEN + DNS_NAME_WIRE_MAX + 4 + DNS_OPT_LEN];

	dnsd_reply(d, c, buf, dnsmsg_build_reply(q, rcode, buf, sizeof(buf)));
}

void dnsd_event_init(struct cw_dns_event *ev, const struct dns_query *q,
		     const struct dnsd_client *c, uint8_t type, uint32_t rule_id)
{
	struct timespec ts;
	size_t i;

	memset(ev, 0, sizeof(*ev));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev->ts_realtime_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	ev->type = type;
	ev->qtype = q->qtype;
	ev->rule_id = rule_id;
	if (c->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&c->addr;

		ev->client_family = 6;
		ev->client_port = s->sin6_port;
		memcpy(ev->client_addr, &s->sin6_addr, 16);
	} else {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&c->addr;

		ev->client_family = 4;
		ev->client_port = s->sin_port;
		memcpy(ev->client_addr, &s->sin_addr, 4);
	}
	/* Lowercase, as the policy sees it; escapes kept, so auditd gets printable text. */
	for (i = 0; i < sizeof(ev->query) - 1 && q->name[i]; i++) {
		char ch = q->name[i];

		ev->query[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch + ('a' - 'A')) : ch;
	}
}

static void evq_push(struct dnsd *d, const struct cw_dns_event *ev)
{
	if (shmq_push(&d->evq, ev, sizeof(*ev), NULL)) {
		/* auditd reports the loss from the queue's dropped_full counter. */
		d->stats[ST_EVQ_FULL]++;
		return;
	}
	/* One doorbell per batch of events (dnsd_ring_pending), not per event. */
	if (!d->evq_pending)
		d->evq_first_ns = dnsd_now_ns();
	d->evq_pending = true;
	d->evq_n_pending++;
}

/* The summary of a dedupe window, stamped with the time it is reported. */
static void dedupe_emit(void *ctx, const struct cw_dns_event *ev)
{
	struct cw_dns_event e = *ev;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	e.ts_realtime_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	evq_push(ctx, &e);
}

void dnsd_event_push(struct dnsd *d, const struct cw_dns_event *ev)
{
	if (evdedupe_absorb(&d->dedupe, ev, dnsd_now_ns(), dedupe_emit, d)) {
		d->stats[ST_EV_DEDUPED]++;
		return;
	}
	evq_push(d, ev);
}

int64_t dnsd_dedupe_expire(struct dnsd *d, bool all)
{
	return evdedupe_expire(&d->dedupe, dnsd_now_ns(), all, dedupe_emit, d);
}

/* Answer locally with a policy decision and report it. */
static void answer_blocked(struct dnsd *d, const struct dns_query *q, const struct dnsd_client *c,
			   uint8_t rcode, uint32_t rule_id)
{
	struct cw_dns_event ev;

	dnsd_reply_rcode(d, q, rcode, c);
	dnsd_event_init(&ev, q, c, CW_DNSEV_BLOCKED, rule_id);
	ev.rcode = rcode;
	dnsd_event_push(d, &ev);
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

enum fwd_flags {
	FWD_LEARN = 0x1,
	FWD_WOULD_DENY = 0x2,
	FWD_PTR = 0x4,
};

/* Answer an allowed question from dnsd's cache (cache.h), with its event; false on a miss. The
 * policy decided the question before this is called: a denied name never gets here. */
static bool answer_cached(struct dnsd *d, const struct dns_query *q, const struct dnsd_client *c,
			  uint32_t rule_id)
{
	uint8_t buf[DNSCACHE_PKT_MAX + DNS_OPT_LEN];
	const struct cw_dns_event *tmpl = NULL;
	struct cw_dns_event ev;
	size_t len, limit;
	bool truncated;
	uint32_t ttl;

	len = dnscache_get(&d->cache, q, rule_id, dnsd_now_ns(), buf, DNSCACHE_PKT_MAX, &ttl,
			   (const void **)&tmpl);
	if (!len || !tmpl)
		return false;
	limit = c->udp_fd >= 0 ? dnsmsg_udp_limit(q) : DNS_TCP_MAX;
	len = dnsmsg_finish(buf, len, sizeof(buf), q, limit, &truncated);
	if (!len)
		return false;
	dnsd_reply(d, c, buf, len);
	d->stats[ST_CACHE_HIT]++;
	d->stats[ST_ANSWERED]++;
	dnsd_event_init(&ev, q, c, CW_DNSEV_ALLOWED, rule_id);
	ev.rcode = tmpl->rcode;
	if (truncated) {
		d->stats[ST_TRUNCATED]++;
	} else {
		ev.ttl = ttl;
		ev.n_answers = tmpl->n_answers;
		memcpy(ev.answer_family, tmpl->answer_family, sizeof(ev.answer_family));
		memcpy(ev.answers, tmpl->answers, sizeof(ev.answers));
	}
	memcpy(ev.cname_chain, tmpl->cname_chain, sizeof(ev.cname_chain));
	dnsd_event_push(d, &ev);
	return true;
}

static void forward(struct dnsd *d, const struct dns_query *q, const struct dnsd_client *c,
		    const char *canon, uint32_t rule_id, unsigned int flags)
{
	struct pending *p;
	int ub;

	/* Reverse lookups and audit-mode would-deny answers are never cached (answer.c). */
	if (!(flags & (FWD_PTR | FWD_WOULD_DENY)) && answer_cached(d, q, c, rule_id))
		return;
	if (d->n_inflight + d->n_parked >= DNSD_INFLIGHT_MAX) {
		d->stats[ST_INFLIGHT_FULL]++;
		d->stats[ST_SERVFAIL]++;
		dnsd_reply_rcode(d, q, DNS_RCODE_SERVFAIL, c);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		d->stats[ST_SERVFAIL]++;
		dnsd_reply_rcode(d, q, DNS_RCODE_SERVFAIL, c);
		return;
	}
	p->d = d;
	p->client = *c;
	p->q = *q;
	snprintf(p->canon, sizeof(p->canon), "%s", canon);
	p->rule_id = rule_id;
	p->learn = flags & FWD_LEARN;
	p->would_deny = flags & FWD_WOULD_DENY;
	p->ptr = flags & FWD_PTR;
	/* Linked before the call: the callback unlinks it, whenever it runs. */
	p->next = d->inflight;
	if (d->inflight)
		d->inflight->prev = p;
	d->inflight = p;
	d->n_inflight++;
	ub = resolve_query(d->ub, p);
	if (ub) {
		log_warnx("%s: resolver: %s", q->name, ub_strerror(ub));
		inflight_unlink(d, p);
		free(p);
		d->stats[ST_UB_ERROR]++;
		d->stats[ST_SERVFAIL]++;
		dnsd_reply_rcode(d, q, DNS_RCODE_SERVFAIL, c);
		return;
	}
	d->stats[ST_FORWARDED]++;
}

void dnsd_inflight_done(struct dnsd *d, struct pending *p)
{
	inflight_unlink(d, p);
}

/* A reverse lookup is answered only for an address the policy already allows, judged as the
 * kernel would judge a connection to it (ports aside): the CIDR rule with the longest prefix
 * (deny wins at equal prefix); with no CIDR rule, an address dnsd learned and that has not
 * expired; then the default action. A deny CIDR rule beats a learned address, as in the kernel.
 * A name under the reverse zones that names no single address is judged by the default action
 * alone. */
static bool ptr_allowed(struct dnsd *d, int parsed, uint8_t family, const uint8_t *addr,
			uint32_t *rule_id)
{
	*rule_id = 0;
	if (parsed > 0) {
		switch (dnsptr_cidr_verdict(&d->policy, family, addr, rule_id)) {
		case DNSPTR_CIDR_ALLOW:
			return true;
		case DNSPTR_CIDR_DENY:
			return false;
		case DNSPTR_CIDR_NONE:
			break;
		}
		if (learned_get(&d->learned, family, addr, dnsd_now_ns(), NULL, NULL))
			return true;
	}
	return d->policy.default_action == CW_ACTION_ALLOW;
}

void dnsd_handle_message(struct dnsd *d, const uint8_t *pkt, size_t len,
			 const struct dnsd_client *c)
{
	char canon[CW_NAME_MAX], cl[80];
	uint8_t action, family, addr[16];
	struct dns_query q;
	const char *why;
	uint32_t rule_id;
	int rc;

	d->stats[ST_RX]++;
	rc = dnsmsg_parse_query(pkt, len, &q, &why);
	if (rc < 0) {
		d->stats[len < DNS_HDR_LEN ? ST_DROP_SHORT : ST_DROP_RESPONSE]++;
		log_debug("dropped %zu bytes from %s: %s", len, dnsd_client_str(c, cl, sizeof(cl)),
			  why);
		dnsd_reply(d, c, NULL, 0);
		return;
	}
	if (rc > 0) {
		if (rc == DNS_RCODE_FORMERR)
			d->stats[ST_FORMERR]++;
		else if (rc == DNS_RCODE_NOTIMP)
			d->stats[ST_NOTIMP]++;
		else if (rc == DNS_RCODE_BADVERS)
			d->stats[ST_BADVERS]++;
		else
			d->stats[ST_REFUSED_TYPE]++;
		log_debug("rcode %d to %s: %s", rc, dnsd_client_str(c, cl, sizeof(cl)), why);
		dnsd_reply_rcode(d, &q, (unsigned int)rc, c);
		return;
	}
	/* A name the policy cannot read as a hostname (escaped bytes, empty labels, the root) can
	 * match no rule: REFUSED in both modes, and nothing goes upstream. REFUSED rather than
	 * NXDOMAIN because no policy decision was taken about it. */
	if (!q.name_plain || policy_name_canon(&d->policy, q.name, canon, sizeof(canon)) < 0) {
		d->stats[ST_REFUSED_NAME]++;
		log_debug("refused %s from %s: not a hostname", q.name,
			  dnsd_client_str(c, cl, sizeof(cl)));
		answer_blocked(d, &q, c, DNS_RCODE_REFUSED, 0);
		return;
	}
	/* PTR under in-addr.arpa/ip6.arpa: decided by the address, never by hostname rules. Other
	 * types on reverse names (TXT, ...) are ordinary names below. The name as sent, not the
	 * canonical one: "<addr>.in-addr.arpa.<search domain>" is no reverse name. */
	rc = q.qtype == DNS_TYPE_PTR ? dnsptr_parse_name(q.name, &family, addr) : 0;
	if (rc) {
		if (ptr_allowed(d, rc, family, addr, &rule_id)) {
			forward(d, &q, c, canon, rule_id, FWD_PTR);
		} else if (d->mode == CW_MODE_ENFORCE) {
			d->stats[ST_PTR_DENIED]++;
			log_debug("denied PTR %s from %s: the address is not allowed", canon,
				  dnsd_client_str(c, cl, sizeof(cl)));
			answer_blocked(d, &q, c, DNS_RCODE_NXDOMAIN, rule_id);
		} else {
			d->stats[ST_WOULD_DENY]++;
			forward(d, &q, c, canon, rule_id, FWD_PTR | FWD_WOULD_DENY);
		}
		return;
	}
	rule_id = policy_match_hostname(&d->policy, canon, &action);
	if (action != CW_ACTION_ALLOW) {
		if (d->mode == CW_MODE_ENFORCE) {
			d->stats[ST_DENIED]++;
			log_debug("denied %s %u from %s (rule %u)", canon, q.qtype,
				  dnsd_client_str(c, cl, sizeof(cl)), rule_id);
			answer_blocked(d, &q, c, DNS_RCODE_NXDOMAIN, rule_id);
			return;
		}
		d->stats[ST_WOULD_DENY]++;
		forward(d, &q, c, canon, rule_id, FWD_WOULD_DENY);
		return;
	}
	/* A default-allow decision (rule 0) needs no learned route: the kernel allows by default
	 * too. */
	forward(d, &q, c, canon, rule_id, rule_id != 0 ? FWD_LEARN : 0);
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
