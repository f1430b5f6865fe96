// SPDX-License-Identifier: Apache-2.0
/* libunbound set-up for dnsd (DESIGN.md §2: the upstream is the authority), and its answers
 * turned into the ub_result answer.c reads.
 *
 * libunbound runs in dnsd's own thread and event loop (ub_ctx_create_ub_event with the event base
 * of ubevent.c, queries by ub_resolve_event), not behind ub_resolve_async and ub_fd as issue 3
 * first said. Measured with bench/dns (uncached names, each answer held until the enforcer
 * applied its address, two CPUs shared with dnsperf, the upstream and the other daemons):
 * ub_resolve_async cost dnsd ~144 µs of CPU and ~40 syscalls per query, most of them libunbound's
 * pipes to and from its worker thread and the thread switches around them; in dnsd's own loop
 * a query costs the resolution's own socket calls and two epoll_ctl. Same bench, same machine,
 * side by side (busy with other work, so ratios only): dnsd CPU per uncached query ~135-157 µs
 * before, ~61-69 µs after; uncached qps 5,300-5,850 before, 7,000-7,800 after (x1.3); against
 * dnsmasq --nftset in one full run 2.67x before, 3.30x after.
 *
 * The event API hands over the answer packet and no ub_result: resolve_result() builds one the
 * way libunbound's fill_res() does (data: the records of the question's type owned by the end of
 * the CNAME chain; canonname: that end when it is not the question; ttl: the smallest of the
 * answer section when there is data), with the record data pointing into answer_packet. Free it
 * with resolve_result_free(), never ub_resolve_free(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <unbound-event.h>
#include <unbound.h>

#include "../common/log.h"
#include "chain.h"
#include "dnsd.h"
#include "dnsmsg.h"

/* Built-in local zones libunbound would answer itself (RFC 6303, RFC 6761, RFC 7686, RFC 8375
 * and later additions), shadowing what a runner's internal DNS says about them; a lab or a
 * company network may well serve test. or home.arpa. Only localhost and its loopback reverse
 * zones stay local. A name listed here that a given libunbound version does not have as a
 * default is ignored by it. The AS112 reverse zones (RFC 1918, 100.64/10, 169.254/16, fd00::/8
 * ...) go with unblock-lan-zones. */
static const char *const nodefault_zones[] = {
	"test.", "invalid.", "onion.", "home.arpa.", "resolver.arpa.", "service.arpa.",
};

/* Why a generated config file and not ub_ctx_set_option("local-zone:", "x nodefault"): in
 * libunbound 1.17 that call stores the whole value ("x nodefault") as the zone name, which then
 * matches no default zone and is silently ignored. The config file parser splits it right.
 * The file is a memfd read back through /proc/self/fd: nothing is written to disk. */
static int write_config(int fd)
{
	char buf[2048];
	size_t i;
	int n;

	n = snprintf(buf, sizeof(buf),
		     "server:\n"
		     /* The upstream may be a resolver on loopback (systemd-resolved, a lab). */
		     "\tdo-not-query-localhost: no\n"
		     /* No validator: there is no trust anchor, and the upstream decides. */
		     "\tmodule-config: \"iterator\"\n"
		     "\tunblock-lan-zones: yes\n"
		     /* We forward, and cache.c keeps the answers that clients ask again:
		      * libunbound's own caches (1 MiB each by default in the library, 4 MiB
		      * in unbound; filled by every new name) only grew dnsd's memory (issue
		      * 6: flat over 100k answers). The rrset cache stays twice the message
		      * cache, as unbound advises. No key or negative cache: they belong to
		      * the validator, which is not loaded. outgoing-range stays at the
		      * library's 16 (each port is a preallocated comm point). */
		     "\tmsg-cache-size: 64k\n"
		     "\trrset-cache-size: 128k\n"
		     /* one upstream: the per-server timing cache needs few entries */
		     "\tinfra-cache-numhosts: 64\n"
		     /* The upstream is an IPv4 address (--upstream): no IPv6 sockets. Each
		      * family keeps its own list of usable source ports (~60,000 ints, 236
		      * KiB resident); answers with AAAA records are not affected. */
		     "\tdo-ip6: no\n");
	for (i = 0; i < sizeof(nodefault_zones) / sizeof(nodefault_zones[0]); i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\tlocal-zone: \"%s\" nodefault\n",
			      nodefault_zones[i]);
	if ((size_t)n >= sizeof(buf))
		return -ENOSPC;
	if (write(fd, buf, (size_t)n) != n)
		return errno ? -errno : -EIO;
	return 0;
}

int resolve_setup(struct ub_ctx **out, const char *upstream)
{
	struct ub_ctx *ctx;
	char path[64];
	int fd = -1, err, ub;

	*out = NULL;
	if (!ubevent_base()) {
		log_warnx("libunbound: no event base");
		return -ENOMEM;
	}
	ctx = ub_ctx_create_ub_event(ubevent_base());
	if (!ctx) {
		log_warnx("libunbound: cannot create a context");
		return -ENOMEM;
	}
	fd = memfd_create("cargowall-dnsd-unbound.conf", MFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_warn("memfd_create");
		goto out;
	}
	err = write_config(fd);
	if (err) {
		log_warnx("libunbound config: %s", strerror(-err));
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ub = ub_ctx_config(ctx, path);
	if (ub) {
		log_warnx("libunbound config (%s): %s", path, ub_strerror(ub));
		err = -EINVAL;
		goto out;
	}
	ub = ub_ctx_set_fwd(ctx, upstream);
	if (ub) {
		log_warnx("libunbound forward to %s: %s", upstream, ub_strerror(ub));
		err = -EINVAL;
		goto out;
	}
	/* No ub_ctx_async: no worker thread, no forked process. The context is finalized and
	 * its sockets opened at the first query, after the privilege drop. */
	*out = ctx;
	ctx = NULL;
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ctx)
		ub_ctx_delete(ctx);
	return err;
}

void resolve_result_free(struct ub_result *res)
{
	if (!res)
		return;
	free(res->data);
	free(res->len);
	free(res->canonname);
	free(res->answer_packet);
	free(res);
}

struct ub_result *resolve_result(int rcode, const void *pkt, int len, int qtype, int qclass)
{
	char text[DNS_NAME_TEXT_MAX];
	struct dns_rdata *rd = NULL;
	struct ub_result *res;
	struct dns_chain ch;
	unsigned int n = 0, i;
	uint32_t ttl = 0;
	uint8_t *p;

	res = calloc(1, sizeof(*res));
	if (!res)
		return NULL;
	res->qtype = qtype;
	res->qclass = qclass;
	if (rcode || !pkt || len <= DNS_HDR_LEN) {
		/* A failure of libunbound's (SERVFAIL mostly): no packet to read. */
		res->rcode = rcode ? rcode : DNS_RCODE_SERVFAIL;
		goto empty;
	}
	p = malloc((size_t)len);
	if (!p)
		goto fail;
	memcpy(p, pkt, (size_t)len);
	res->answer_packet = p;
	res->answer_len = len;
	res->rcode = p[3] & 0x0f;
	res->nxdomain = res->rcode == DNS_RCODE_NXDOMAIN;
	/* A chain or a record section that does not parse gives no data (nothing learned or
	 * cached); answer.c's own walk of the chain then refuses the answer. */
	if (dnsmsg_cname_chain(p, (size_t)len, &ch) ||
	    dnsmsg_answer_rrs(p, (size_t)len, &ch, (uint16_t)qtype, NULL, 0, &n, &ttl))
		goto empty;
	if (ch.n > 1) {
		dnsmsg_name_text(ch.names[ch.n - 1], ch.len[ch.n - 1], text);
		res->canonname = strdup(text);
		if (!res->canonname)
			goto fail;
	}
	if (!n)
		goto empty;
	rd = calloc(n, sizeof(*rd));
	res->data = calloc(n + 1, sizeof(*res->data));
	res->len = calloc(n + 1, sizeof(*res->len));
	if (!rd || !res->data || !res->len ||
	    dnsmsg_answer_rrs(p, (size_t)len, &ch, (uint16_t)qtype, rd, n, &n, &ttl))
		goto fail;
	for (i = 0; i < n; i++) {
		res->data[i] = (char *)p + rd[i].off;
		res->len[i] = rd[i].len;
	}
	free(rd);
	res->havedata = 1;
	res->ttl = ttl > INT32_MAX ? INT32_MAX : (int)ttl;
	return res;
empty:
	free(res->data);
	free(res->len);
	res->data = calloc(1, sizeof(*res->data));
	res->len = calloc(1, sizeof(*res->len));
	if (!res->data || !res->len)
		goto fail;
	return res;
fail:
	free(rd);
	resolve_result_free(res);
	return NULL;
}

static void on_answer(void *arg, int rcode, void *pkt, int len, int sec, char *why_bogus,
		      int was_ratelimited)
{
	struct pending *p = arg;
	struct ub_result *res;

	(void)sec; /* no validator (module-config "iterator") */
	(void)why_bogus;
	(void)was_ratelimited;
	res = resolve_result(rcode, pkt, len, p->q.qtype, p->q.qclass);
	dnsd_on_result(p, res ? 0 : UB_NOMEM, res);
}

int resolve_query(struct ub_ctx *ctx, struct pending *p)
{
	/* The client's spelling of the name (plain characters only, checked by the caller), not
	 * the canonical one: the search domain stays, the upstream decides what it means. */
	return ub_resolve_event(ctx, p->q.name, p->q.qtype, p->q.qclass, p, on_answer, NULL);
}

struct selftest {
	bool done;
	bool ok;
};

static void selftest_answer(void *arg, int rcode, void *pkt, int len, int sec, char *why_bogus,
			    int was_ratelimited)
{
	static const uint8_t loopback[4] = { 127, 0, 0, 1 };
	struct selftest *st = arg;
	struct ub_result *res = resolve_result(rcode, pkt, len, DNS_TYPE_A, DNS_CLASS_IN);

	(void)sec;
	(void)why_bogus;
	(void)was_ratelimited;
	st->done = true;
	st->ok = res && res->havedata && res->len[0] == 4 && !memcmp(res->data[0], loopback, 4);
	resolve_result_free(res);
}

int resolve_selftest(struct ub_ctx *ctx)
{
	struct selftest st = { false, false };
	int ub;

	/* A local zone's answer comes back before ub_resolve_event() returns. */
	ub = ub_resolve_event(ctx, "localhost.", DNS_TYPE_A, DNS_CLASS_IN, &st, selftest_answer,
			      NULL);
	if (ub) {
		log_warnx("libunbound self-test: %s", ub_strerror(ub));
		return -EIO;
	}
	if (!st.done || !st.ok) {
		log_warnx("libunbound self-test: localhost did not resolve to 127.0.0.1 locally");
		return -EIO;
	}
	return 0;
}
