// SPDX-License-Identifier: Apache-2.0
/* libunbound's answer, from its callback to the client: check that it answers the question,
 * judge every name on its CNAME chain, fit it to the client's transport, push its addresses to
 * the enforcer, and release it once they are in the kernel map. Waiting never blocks the event
 * loop: an answer with pushed addresses is parked in a FIFO and released when the enforcer's
 * applied_seq passes its sequence number (ack.c wakes the loop), or answered SERVFAIL after
 * CW_ACK_TIMEOUT_MS in enforce mode. Pushes and parks happen in callback order, so the FIFO is
 * ordered by sequence number and by deadline alike: only its head is ever checked. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unbound.h>

#include "../common/learn.h"
#include "../common/log.h"
#include "../proto/events.h"
#include "chain.h"
#include "dnsd.h"
#include "ptr.h"

#define CW_XSTR(x) #x
#define CW_STR(x) CW_XSTR(x)

static void free_pending(struct pending *p)
{
	free(p->cache_pkt);
	free(p->ans);
	free(p);
}

/* The answer in p->ans to the client, and its event; a copy kept in the cache when it may be.
 * The copy is timed from libunbound's answer (its TTLs are as of then), and bounded by the
 * earliest trie deadline of its addresses (cache.h). */
static void finish(struct dnsd *d, struct pending *p)
{
	char cl[80];

	if (p->cache_pkt)
		dnscache_put(&d->cache, &p->q, p->rule_id, p->cache_pkt, p->cache_len,
			     p->t_result_ns, p->trie_dl_ns, &p->ev, sizeof(p->ev));

	dnsd_reply(d, &p->client, p->ans, p->ans_len);
	d->stats[ST_ANSWERED]++;
	log_debug("%s %u from %s: rcode %u, %u address(es)%s", p->q.name, p->q.qtype,
		  dnsd_client_str(&p->client, cl, sizeof(cl)), p->ev.rcode, p->ev.n_answers,
		  p->ev.flags & CW_EVF_WOULD_DENY ? " (would deny)" : "");
	dnsd_event_push(d, &p->ev);
	free_pending(p);
}

/* An answer without records instead of the resolver's, and its event. */
static void finish_rcode(struct dnsd *d, struct pending *p, uint8_t rcode)
{
	if (rcode == DNS_RCODE_SERVFAIL)
		d->stats[ST_SERVFAIL]++;
	else
		d->stats[ST_ANSWERED]++;
	dnsd_reply_rcode(d, &p->q, rcode, &p->client);
	p->ev.rcode = rcode;
	p->ev.n_answers = 0;
	p->ev.ttl = 0;
	dnsd_event_push(d, &p->ev);
	free_pending(p);
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

/* "a.test -> b.test -> c.test" for the log, cut to fit. */
static void chain_text(const struct dns_chain *ch, char *out, size_t outlen)
{
	char t[DNS_NAME_TEXT_MAX];
	size_t o = 0;
	unsigned int i;

	out[0] = '\0';
	for (i = 0; i < ch->n && o + 8 < outlen; i++) {
		dnsmsg_name_text(ch->names[i], ch->len[i], t);
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? " -> " : "", t);
	}
}

/* Is every name after the question on the answer's CNAME chain allowed by the policy (the
 * question itself was decided before forwarding)? A CNAME target never becomes an allowed name
 * by being one: "cname-ok.test CNAME evil.test" needs evil.test allowed too, or nothing of the
 * answer is learned. libunbound took res->data from the end of the same chain (its canonname);
 * if the two walks disagree the answer is not trusted.
 * 0 = all allowed; 1 = a name is not (*rule_id: the rule that denied it); -EBADMSG = the chain
 * cannot be walked. Logs what it finds. */
/* The chain for the audit log: names separated by spaces, whole names only. */
static void chain_event(const struct dns_chain *ch, char *out, size_t outlen)
{
	char t[DNS_NAME_TEXT_MAX];
	size_t o = 0, l;
	unsigned int i;

	out[0] = '\0';
	for (i = 0; i < ch->n; i++) {
		dnsmsg_name_text(ch->names[i], ch->len[i], t);
		l = strlen(t);
		if (o + l + 2 > outlen)
			break;
		if (o)
			out[o++] = ' ';
		memcpy(out + o, t, l + 1);
		o += l;
	}
}

static int judge_chain(struct dnsd *d, struct pending *p, const uint8_t *pkt, size_t len,
		       const struct ub_result *res, uint32_t *rule_id)
{
	char text[DNS_NAME_TEXT_MAX], canon[CW_NAME_MAX], path[900];
	struct dns_chain ch;
	unsigned int i;
	int err;

	*rule_id = 0;
	err = dnsmsg_cname_chain(pkt, len, &ch);
	if (err) {
		log_warnx("%s: the answer's CNAME chain %s: not trusted", p->q.name,
			  err == -ELOOP ? "is longer than 16 names" : "does not parse");
		return -EBADMSG;
	}
	if (ch.n > 1)
		chain_event(&ch, p->ev.cname_chain, sizeof(p->ev.cname_chain));
	if (res->canonname) {
		size_t cl = strlen(res->canonname);

		if (cl && res->canonname[cl - 1] == '.')
			cl--;
		dnsmsg_name_text(ch.names[ch.n - 1], ch.len[ch.n - 1], text);
		if (strlen(text) != cl || strncasecmp(text, res->canonname, cl)) {
			log_warnx("%s: the answer's CNAME chain ends at %s, the resolver's at %s: "
				  "not trusted",
				  p->q.name, text, res->canonname);
			return -EBADMSG;
		}
	}
	for (i = 1; i < ch.n; i++) {
		const char *why = NULL;
		uint8_t action;

		if (!dnsmsg_name_text(ch.names[i], ch.len[i], text) ||
		    policy_name_canon(&d->policy, text, canon, sizeof(canon)) < 0) {
			why = "is not a hostname";
		} else {
			*rule_id = policy_match_hostname(&d->policy, canon, &action);
			if (action != CW_ACTION_ALLOW)
				why = "is not allowed";
		}
		if (why) {
			chain_text(&ch, path, sizeof(path));
			log_warnx("%s: CNAME chain %s: %s %s (rule %u): %s", p->canon, path, text,
				  why, *rule_id,
				  d->mode == CW_MODE_ENFORCE ?
					  "answered NXDOMAIN, nothing learned" :
					  "audit mode, nothing learned");
			return 1;
		}
	}
	return 0;
}

/* Refused addresses of one answer logged one by one; past this, one summary line (an upstream
 * answering hundreds of loopback addresses must not flood the log). */
#define REFUSALS_LOGGED 8

static void refused(struct dnsd *d, const struct pending *p, const char *addr, const char *why,
		    uint32_t rule, unsigned int *n)
{
	d->stats[ST_ADDR_REFUSED]++;
	if ((*n)++ >= REFUSALS_LOGGED)
		return;
	if (rule)
		log_warnx("%s: not learning %s: %s %u", p->canon, addr, why, rule);
	else
		log_warnx("%s: not learning %s: %s", p->canon, addr, why);
}

/* Push the answer's addresses (A or AAAA, libunbound's res->data: the final name of the chain
 * only, never other records of the packet) to the enforcer. Not pushed: learn_addr_refused()
 * addresses, addresses under a deny CIDR rule (the enforcer would refuse them) and past
 * DNSD_LEARN_MAX, each logged with its reason; addresses a CIDR rule already allows; and
 * addresses dnsd saw the enforcer apply for the same rule with a deadline at least as late as
 * this answer would ask, give or take DNSD_LEARN_SLACK_NS (they are in the kernel already: no
 * wait). 0 with p->n_pushed and p->seq set, or -ENOSPC (queue full). */
static int learn_push(struct dnsd *d, struct pending *p, const struct ub_result *res)
{
	uint32_t ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
	int64_t deadline = learned_deadline(p->t_result_ns, ttl);
	uint8_t fam = res->qtype == DNS_TYPE_A ? 4 : 6;
	int alen = fam == 4 ? 4 : 16, i, err = 0;
	unsigned int n_refused = 0;
	uint64_t seq = 0;

	for (i = 0; res->data[i]; i++) {
		char a[INET6_ADDRSTRLEN];
		struct cw_dnsq_entry e;
		uint8_t addr[16] = { 0 };
		const char *why;
		int64_t known_dl;
		uint32_t rid;

		if (res->len[i] != alen)
			continue;
		memcpy(addr, res->data[i], (size_t)alen);
		inet_ntop(fam == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
		why = learn_addr_refused(fam, addr, d->learn_flags);
		if (why) {
			refused(d, p, a, why, 0, &n_refused);
			continue;
		}
		switch (dnsptr_cidr_verdict(&d->policy, fam, addr, &rid)) {
		case DNSPTR_CIDR_DENY:
			refused(d, p, a, "denied by CIDR rule", rid, &n_refused);
			continue;
		case DNSPTR_CIDR_ALLOW:
			log_debug("%s: %s is allowed by CIDR rule %u already", p->canon, a, rid);
			d->stats[ST_LEARN_KNOWN]++;
			continue;
		case DNSPTR_CIDR_NONE:
			break;
		}
		if (learned_get(&d->learned, fam, addr, p->t_result_ns, &rid, &known_dl) &&
		    rid == p->rule_id && known_dl + DNSD_LEARN_SLACK_NS >= deadline) {
			d->stats[ST_LEARN_KNOWN]++;
			if (known_dl < p->trie_dl_ns)
				p->trie_dl_ns = known_dl;
			continue;
		}
		if (p->n_pushed == DNSD_LEARN_MAX) {
			refused(d, p, a,
				"more than " CW_STR(DNSD_LEARN_MAX) " addresses in one answer", 0,
				&n_refused);
			continue;
		}
		memset(&e, 0, sizeof(e));
		e.family = fam;
		e.prefixlen = fam == 4 ? 32 : 128;
		e.rule_id = p->rule_id;
		e.ttl = ttl;
		e.t_answer_us = (uint32_t)(p->t_result_ns / 1000);
		memcpy(e.addr, addr, 16);
		memcpy(e.name, p->canon, sizeof(e.name));
		err = shmq_push(&d->dnsq, &e, sizeof(e), &seq);
		if (err) {
			d->stats[ST_QUEUE_FULL]++;
			log_warnx("%s: address queue to the enforcer: %s", p->canon,
				  strerror(-err));
			break;
		}
		if (deadline < p->trie_dl_ns)
			p->trie_dl_ns = deadline;
		p->pushed[p->n_pushed].family = fam;
		memcpy(p->pushed[p->n_pushed].addr, addr, 16);
		p->n_pushed++;
		d->stats[ST_LEARNED]++;
	}
	if (n_refused > REFUSALS_LOGGED)
		log_warnx(
			"%s: %u more address(es) of this answer not learned (not logged one by one)",
			p->canon, n_refused - REFUSALS_LOGGED);
	if (p->n_pushed) {
		/* The first answer of a loop pass rings at once, so that the enforcer starts on
		 * it while the loop goes on; the others of the pass share one more ring at its
		 * end (dnsd_ring_pending), which also covers entries pushed after the enforcer
		 * cleared its doorbell. At most two eventfd writes per pass, not one per answer. */
		if (!d->dnsq_rung) {
			d->dnsq_rung = true;
			shmq_ring(&d->dnsq);
		} else {
			d->dnsq_pending = true;
		}
		p->seq = seq;
		p->learn_deadline_ns = deadline;
	}
	return err;
}

static void park(struct dnsd *d, struct pending *p)
{
	p->park_until_ns = p->t_result_ns + (int64_t)CW_ACK_TIMEOUT_MS * 1000000LL;
	p->park_next = NULL;
	if (d->park_tail)
		d->park_tail->park_next = p;
	else
		d->park_head = p;
	d->park_tail = p;
	d->n_parked++;
}

void dnsd_on_result(void *arg, int ub_err, struct ub_result *res)
{
	struct pending *p = arg;
	struct dnsd *d = p->d;
	size_t len, limit;
	bool truncated;
	uint32_t rid;
	int chain = 0;

	p->t_result_ns = dnsd_now_ns();
	p->trie_dl_ns = INT64_MAX;
	dnsd_inflight_done(d, p);
	dnsd_event_init(&p->ev, &p->q, &p->client,
			p->would_deny ? CW_DNSEV_BLOCKED : CW_DNSEV_ALLOWED, p->rule_id);
	if (p->would_deny)
		p->ev.flags |= CW_EVF_WOULD_DENY;
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
		resolve_result_free(res);
		finish_rcode(d, p, rcode);
		return;
	}
	len = (size_t)res->answer_len;
	p->ans = len <= DNS_TCP_MAX ? malloc(len + DNS_OPT_LEN) : NULL;
	if (!p->ans) {
		d->stats[ST_UB_ERROR]++;
		log_warnx("%s: resolver answer of %zu bytes", p->q.name, len);
		goto servfail;
	}
	memcpy(p->ans, res->answer_packet, len);
	if (dnsmsg_fix_answer(p->ans, len, &p->q)) {
		d->stats[ST_UB_ERROR]++;
		log_warnx("%s: resolver answer does not match the question", p->q.name);
		goto servfail;
	}
	if (!p->ptr && !p->would_deny) {
		chain = judge_chain(d, p, p->ans, len, res, &rid);
		if (chain < 0) {
			d->stats[ST_CHAIN_BAD]++;
			if (d->mode == CW_MODE_ENFORCE)
				goto servfail;
		} else if (chain > 0) {
			d->stats[ST_CHAIN_DENIED]++;
			p->ev.type = CW_DNSEV_BLOCKED;
			p->ev.rule_id = rid;
			if (d->mode == CW_MODE_ENFORCE) {
				resolve_result_free(res);
				finish_rcode(d, p, DNS_RCODE_NXDOMAIN);
				return;
			}
			p->ev.flags |= CW_EVF_WOULD_DENY;
		}
	}
	if (dnsmsg_strip_opt(p->ans, &len)) {
		d->stats[ST_UB_ERROR]++;
		log_warnx("%s: resolver answer does not parse", p->q.name);
		goto servfail;
	}
	/* Cacheable: an allowed question (not a reverse lookup, not audit mode's would-deny), an
	 * all-allowed chain, NOERROR with data. Dropped below when truncated (nothing is learned
	 * then), and when the enforcer does not acknowledge in time. */
	if (!p->ptr && !p->would_deny && chain == 0 && res->havedata && len <= DNSCACHE_PKT_MAX &&
	    dnsmsg_rcode(p->ans, len) == DNS_RCODE_NOERROR) {
		p->cache_pkt = malloc(len);
		if (p->cache_pkt) {
			memcpy(p->cache_pkt, p->ans, len);
			p->cache_len = len;
		}
	}
	limit = p->client.udp_fd >= 0 ? dnsmsg_udp_limit(&p->q) : DNS_TCP_MAX;
	p->ans_len = dnsmsg_finish(p->ans, len, len + DNS_OPT_LEN, &p->q, limit, &truncated);
	if (!p->ans_len)
		goto servfail;
	if (truncated) {
		free(p->cache_pkt);
		p->cache_pkt = NULL;
	}
	p->ev.rcode = dnsmsg_rcode(p->ans, p->ans_len);
	if (truncated) {
		/* The client gets no record from this answer and retries over TCP: nothing to
		 * learn yet. */
		d->stats[ST_TRUNCATED]++;
	} else {
		event_answers(&p->ev, res);
		/* libunbound reports a TTL for NODATA answers too (from the SOA, or its own
		 * default): only an answer with data has a TTL worth logging. */
		p->ev.ttl = res->havedata && res->ttl > 0 ? (uint32_t)res->ttl : 0;
		if (p->learn && chain == 0 &&
		    (res->qtype == DNS_TYPE_A || res->qtype == DNS_TYPE_AAAA) &&
		    learn_push(d, p, res) && d->mode == CW_MODE_ENFORCE)
			goto servfail; /* never release addresses the kernel may not admit */
	}
	resolve_result_free(res);
	if (p->n_pushed) {
		park(d, p);
		return;
	}
	finish(d, p);
	return;
servfail:
	if (res)
		resolve_result_free(res);
	finish_rcode(d, p, DNS_RCODE_SERVFAIL);
}

static struct pending *unpark(struct dnsd *d)
{
	struct pending *p = d->park_head;

	d->park_head = p->park_next;
	if (!d->park_head)
		d->park_tail = NULL;
	d->n_parked--;
	return p;
}

void dnsd_release_acked(struct dnsd *d)
{
	if (d->park_head && d->park_head->seq <= shmq_applied(&d->dnsq))
		dnsd_release_parked(d);
}

int64_t dnsd_release_parked(struct dnsd *d)
{
	uint64_t applied;
	int64_t now;

	if (!d->park_head) {
		ackw_want(&d->ack, 0);
		return 0;
	}
	now = dnsd_now_ns();
again:
	applied = shmq_applied(&d->dnsq);
	while (d->park_head) {
		struct pending *p = d->park_head;
		unsigned int i;

		if (p->seq <= applied) {
			unpark(d);
			hist_add(&d->ack_hist, (uint64_t)(now - p->t_result_ns) / 1000);
			for (i = 0; i < p->n_pushed; i++)
				learned_put(&d->learned, p->pushed[i].family, p->pushed[i].addr,
					    p->rule_id, p->learn_deadline_ns, now);
			finish(d, p);
			continue;
		}
		if (p->park_until_ns > now)
			break;
		unpark(d);
		free(p->cache_pkt);
		p->cache_pkt = NULL;
		d->stats[ST_ACK_TIMEOUT]++;
		log_warnx("%s: the enforcer did not apply %u address(es) within %d ms%s", p->canon,
			  p->n_pushed, CW_ACK_TIMEOUT_MS,
			  d->mode == CW_MODE_ENFORCE ? ": SERVFAIL" : "");
		if (d->mode == CW_MODE_ENFORCE)
			finish_rcode(d, p, DNS_RCODE_SERVFAIL);
		else
			finish(d, p);
	}
	if (!d->park_head) {
		ackw_want(&d->ack, 0);
		return 0;
	}
	ackw_want(&d->ack, d->park_head->seq);
	/* Applied between the check above and the wish: the enforcer may not have seen the wish
	 * in time to wake us (shmq.c). */
	if (shmq_applied(&d->dnsq) >= d->park_head->seq)
		goto again;
	return d->park_head->park_until_ns;
}

void dnsd_free_parked(struct dnsd *d)
{
	while (d->park_head)
		free_pending(unpark(d));
}
