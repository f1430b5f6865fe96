// SPDX-License-Identifier: Apache-2.0
/* cargowall-dnsd: the DNS proxy (DESIGN.md §1, §2). Runs unprivileged with the fds the launcher
 * hands over (common/child.h): UDP and TCP listeners on 127.0.0.1:53 and [::1]:53, where the
 * kernel hooks redirect every port-53 connection and datagram of the workload. It decides each
 * query by the policy, forwards allowed ones through libunbound, and releases an answer only
 * once the enforcer has put its addresses in the kernel map.
 *
 * What a client can send, and what it gets:
 * - Every message is judged, whatever its transport: one UDP datagram, or each of the
 *   length-framed messages pipelined on a TCP connection (tcp.c). A message must carry exactly
 *   one question (dnsmsg_parse_query): QDCOUNT 2 is answered FORMERR without reading further,
 *   which is how a denied name cannot ride behind an allowed one.
 * - Denied names get NXDOMAIN, built here, for every query type, and nothing is sent upstream:
 *   NXDOMAIN is a final answer. Stub resolvers (glibc, musl, Go, Node) stop at once and the
 *   tool fails fast with "could not resolve host <name>", which points at the name to allow.
 *   REFUSED and SERVFAIL make resolvers try the next server or retry, turning a policy denial
 *   into slow, "transient-looking" failures; a sinkhole address (0.0.0.0) would make tools
 *   connect somewhere and fail confusingly, and would be cached as if it were real. NXDOMAIN
 *   says the name does not exist for any type (RFC 8020), so an A/AAAA/TXT mix cannot see
 *   contradictory answers; and it carries no SOA, so it is not negatively cached (RFC 2308
 *   §5): a policy change takes effect on the next lookup. Nothing reaching the upstream also
 *   closes DNS exfiltration through query names (secret.attacker.example).
 * - CNAME chains (answer.c): every name on the chain of an answer must be allowed too. When
 *   one is not ("cname-ok.test CNAME evil.test" with evil.test denied), nothing of the answer is
 *   learned and, in enforce mode, the client gets NXDOMAIN (same reasons as above: releasing
 *   addresses that the kernel then refuses would only fail later and less clearly). Only the
 *   addresses libunbound resolved for the end of an all-allowed chain are learned, under the
 *   question's rule; a CNAME target never becomes an allowed name.
 * - PTR lookups of in-addr.arpa / ip6.arpa names are decided by the address they name: it must
 *   be allowed by a CIDR rule, or learned by dnsd and not expired, or the default must be
 *   allow (query.c); otherwise NXDOMAIN in enforce mode, locally. A PTR answer never allows
 *   anything.
 * - EDNS0: a client that sent an OPT record gets one back (dnsd's, 1232 bytes) and UDP answers
 *   up to min(its size, 1232) bytes, else 512; longer answers are truncated (TC=1) and the
 *   client retries over TCP, where the limit is 65535.
 * - Cache (cache.h): an allowed question whose answer was released before (NOERROR with data,
 *   all-allowed chain, not truncated, addresses acknowledged by the enforcer) is answered from
 *   dnsd's own wire-format cache in this thread, TTLs counted down, after the same policy
 *   decision as any other question. An entry never outlives the kernel's deadline for its
 *   addresses (the earliest of them), so a cached answer always names reachable addresses
 *   without pushing them again; past that, the question goes back to libunbound and its
 *   addresses are learned anew.
 * - Names the policy cannot read as hostnames get REFUSED (no decision was taken on them);
 *   malformed queries FORMERR, other opcodes NOTIMP, EDNS versions other than 0 BADVERS,
 *   responses and runts nothing.
 *
 * Exit log (stderr), parsed by bench/dns and tests; the format is a contract:
 *   dnsd: counters: NAME=N NAME=N ...          (one or more lines, each <= 900 characters;
 *                                               names in query.c's stat_names, stable)
 *   dnsd: ack_latency: n=N p50_us=U p99_us=U max_us=U
 * ack_latency covers every answer that waited for the enforcer: from libunbound's callback
 * (answer in hand) to the event loop seeing applied_seq cover its addresses, in microseconds.
 * p50/p99 are upper bounds of fixed log-linear buckets (exact below 64 µs, within 1/16 above:
 * dnsd/hist.h), max is exact; all 0 when n=0. Answers that needed no wait (nothing new to
 * learn) are not counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <unbound.h>

#include "../common/child.h"
#include "../common/learn.h"
#include "../common/log.h"
#include "../common/netaddr.h"
#include "../common/seccomp.h"
#include "dnsd.h"

struct opts {
	const char *mode;
	const char *upstream;
	const char *user;
	bool verbose;
	bool allow_private;
	bool no_ipv6;
	bool ctr; /* --container-listeners: CW_DNSD_FD_UDP_CTR and _TCP_CTR are handed too */
	struct in_addr up_addr;
	uint16_t up_port;
	char ub_fwd[INET_ADDRSTRLEN + 8]; /* "a.b.c.d@port" for ub_ctx_set_fwd */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cargowall-dnsd --mode enforce|audit --upstream IPV4[:PORT] --user NAME "
		   "[--allow-private-answers] [--no-ipv6] [--container-listeners] [--verbose]\n"
		   "Started by cargowall with its fds at fixed numbers; not meant to be run by "
		   "hand.\n");
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warnx("%s", buf);
	usage(stderr);
	exit(2);
}

static void parse_upstream(struct opts *o)
{
	const char *why;

	if (netaddr_parse_upstream(o->upstream, &o->up_addr, &o->up_port, &why))
		usage_error("--upstream: '%s': %s", o->upstream, why);
	snprintf(o->ub_fwd, sizeof(o->ub_fwd), "%s@%u", inet_ntoa(o->up_addr), o->up_port);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "user", required_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "allow-private-answers", no_argument, NULL, 'P' },
		{ "no-ipv6", no_argument, NULL, '6' },
		{ "container-listeners", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char **slot, *name;
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			slot = &o->mode;
			name = "mode";
			break;
		case 'u':
			slot = &o->upstream;
			name = "upstream";
			break;
		case 'U':
			slot = &o->user;
			name = "user";
			break;
		case 'v':
			o->verbose = true;
			continue;
		case 'P':
			o->allow_private = true;
			continue;
		case '6':
			o->no_ipv6 = true;
			continue;
		case 'C':
			o->ctr = true;
			continue;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			usage_error("%s requires a value", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option: -%c", optopt);
			usage_error("unknown option: %s", argv[optind - 1]);
		}
		if (*slot)
			usage_error("--%s given twice", name);
		*slot = optarg;
	}
	if (optind < argc)
		usage_error("unexpected argument: %s", argv[optind]);
	if (!o->mode)
		usage_error("--mode is required");
	if (strcmp(o->mode, "enforce") && strcmp(o->mode, "audit"))
		usage_error("--mode: '%s' is not enforce or audit", o->mode);
	if (!o->upstream)
		usage_error("--upstream is required");
	parse_upstream(o);
	if (!o->user)
		usage_error("--user is required");
	if (!*o->user)
		usage_error("--user: empty user name");
}

/* The listener at fd must be a bound socket of that family and type (TCP ones listening),
 * non-blocking; the IPv4 ones must not be the upstream itself, or every query would be
 * forwarded back to dnsd. */
static int check_listener(int fd, int family, int type, const struct opts *o)
{
	const char *what = type == SOCK_STREAM ? (family == AF_INET ? "TCP/IPv4" : "TCP/IPv6") :
						 (family == AF_INET ? "UDP/IPv4" : "UDP/IPv6");
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(int);
	int t = 0, dom = 0, acc = 0, fl;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &sl) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &sl) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl) < 0) {
		log_warn("fd %d (DNS listener, %s)", fd, what);
		return -EBADF;
	}
	if (t != type || dom != family || (type == SOCK_STREAM) != (acc != 0)) {
		log_warnx("fd %d is not a %s DNS listener", fd, what);
		return -EBADF;
	}
	sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
				 ((struct sockaddr_in6 *)&ss)->sin6_port) == 0) {
		log_warnx("fd %d (DNS listener, %s) is not bound", fd, what);
		return -EBADF;
	}
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

		if (sin->sin_addr.s_addr == o->up_addr.s_addr &&
		    ntohs(sin->sin_port) == o->up_port) {
			log_warnx("--upstream %s is dnsd's own listening address", o->upstream);
			return -ELOOP;
		}
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_warn("fd %d (DNS listener, %s): O_NONBLOCK", fd, what);
		return -errno;
	}
	return 0;
}

static int check_listeners(struct dnsd *d, const struct opts *o)
{
	d->udp4 = CW_DNSD_FD_UDP4;
	d->tcp4 = CW_DNSD_FD_TCP4;
	d->udp6 = d->tcp6 = -1;
	d->udpc = d->tcpc = -1;
	if (check_listener(d->udp4, AF_INET, SOCK_DGRAM, o) ||
	    check_listener(d->tcp4, AF_INET, SOCK_STREAM, o))
		return -EBADF;
	/* Containers' DNS (issue 7): the same service on a host address their namespaces reach. */
	if (o->ctr) {
		d->udpc = CW_DNSD_FD_UDP_CTR;
		d->tcpc = CW_DNSD_FD_TCP_CTR;
		if (check_listener(d->udpc, AF_INET, SOCK_DGRAM, o) ||
		    check_listener(d->tcpc, AF_INET, SOCK_STREAM, o))
			return -EBADF;
	}
	if (o->no_ipv6) {
		/* The launcher found no IPv6 on the host and handed placeholders. */
		close(CW_DNSD_FD_UDP6);
		close(CW_DNSD_FD_TCP6);
		return 0;
	}
	d->udp6 = CW_DNSD_FD_UDP6;
	d->tcp6 = CW_DNSD_FD_TCP6;
	if (check_listener(d->udp6, AF_INET6, SOCK_DGRAM, o) ||
	    check_listener(d->tcp6, AF_INET6, SOCK_STREAM, o))
		return -EBADF;
	return 0;
}

/* Up to DNSD_RX_BATCH datagrams in one recvmmsg, each handled, then their UDP answers (the
 * cached ones, the refusals) in one sendmmsg. */
static void receive_batch(struct dnsd *d, int fd)
{
	/* Static: 256 KiB is too much for the stack, and only the event loop's thread is here.
	 * Each datagram lands in a small head, packed with the others', and only past it in its
	 * own tail: a query is a few dozen bytes, and one DNSD_QUERY_MAX buffer each kept a page
	 * per datagram of the batch resident (256 KiB, issue 6). A longer one is joined. */
	static uint8_t heads[DNSD_RX_BATCH][DNSD_RX_HEAD];
	static uint8_t tails[DNSD_RX_BATCH][DNSD_QUERY_MAX - DNSD_RX_HEAD];
	static uint8_t joined[DNSD_QUERY_MAX];
	static struct sockaddr_storage addrs[DNSD_RX_BATCH];
	static struct iovec iov[DNSD_RX_BATCH][2];
	static struct mmsghdr msgs[DNSD_RX_BATCH];
	int i, n;

	for (i = 0; i < DNSD_RX_BATCH; i++) {
		iov[i][0].iov_base = heads[i];
		iov[i][0].iov_len = sizeof(heads[i]);
		iov[i][1].iov_base = tails[i];
		iov[i][1].iov_len = sizeof(tails[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = &addrs[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
		msgs[i].msg_hdr.msg_iov = iov[i];
		msgs[i].msg_hdr.msg_iovlen = 2;
	}
	/* MSG_TRUNC: each msg_len is the real length, so an oversized datagram is dropped, never
	 * parsed cut. */
	n = recvmmsg(fd, msgs, DNSD_RX_BATCH, MSG_TRUNC | MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_warn("recvmmsg");
		return;
	}
	for (i = 0; i < n; i++) {
		const struct msghdr *h = &msgs[i].msg_hdr;
		const uint8_t *pkt = heads[i];
		struct dnsd_client c;

		if (msgs[i].msg_len > DNSD_QUERY_MAX || (h->msg_flags & MSG_TRUNC) ||
		    h->msg_namelen > sizeof(c.addr)) {
			d->stats[ST_RX]++;
			d->stats[ST_DROP_LARGE]++;
			continue;
		}
		memset(&c, 0, sizeof(c));
		memcpy(&c.addr, &addrs[i], h->msg_namelen);
		c.addrlen = h->msg_namelen;
		c.udp_fd = fd;
		c.tcp_slot = -1;
		if (msgs[i].msg_len > DNSD_RX_HEAD) {
			memcpy(joined, heads[i], DNSD_RX_HEAD);
			memcpy(joined + DNSD_RX_HEAD, tails[i], msgs[i].msg_len - DNSD_RX_HEAD);
			pkt = joined;
		}
		dnsd_handle_message(d, pkt, msgs[i].msg_len, &c);
		/* A batch of misses takes a while (each sends a query upstream). */
		if ((i & 7) == 7)
			dnsd_release_acked(d);
	}
	dnsd_tx_flush(d);
}

static void release_tick(void *arg)
{
	dnsd_release_acked(arg);
}

/* Fixed poll slots, then one per TCP connection. */
enum { PF_UDP4, PF_TCP4, PF_UDP6, PF_TCP6, PF_UB, PF_ACK, PF_UDPC, PF_TCPC, PF_FIXED };

static int event_loop(struct dnsd *d, const sigset_t *waitmask)
{
	struct pollfd pfd[PF_FIXED + DNSD_TCP_MAX];
	int slot[DNSD_TCP_MAX], ubfd = ubevent_fd(), k;

	if (ubfd < 0) {
		log_warnx("libunbound: no event fd");
		return -EIO;
	}
	while (!child_stop_signal()) {
		int64_t next, now, evq_due, ub_due;
		struct timespec ts, *tsp = NULL;
		unsigned int n, i;

		/* libunbound's due timers (retransmits, upstream timeouts) */
		ub_due = ubevent_next_timer();
		if (ub_due && ub_due <= dnsd_now_ns())
			ubevent_dispatch(false, NULL, NULL);
		next = dnsd_release_parked(d);
		tcp_sweep(d);
		/* Nothing waits behind the poll below but a few events for auditd: doorbells
		 * rung, answers sent. */
		dnsd_tx_flush(d);
		evq_due = dnsd_dedupe_expire(d, false);
		if (evq_due && (!next || evq_due < next))
			next = evq_due;
		evq_due = dnsd_ring_pending(d, false);
		if (evq_due && (!next || evq_due < next))
			next = evq_due;
		ub_due = ubevent_next_timer();
		if (ub_due && (!next || ub_due < next))
			next = ub_due;
		pfd[PF_UDP4].fd = d->udp4;
		pfd[PF_UDP6].fd = d->udp6; /* -1 with --no-ipv6: poll skips it */
		/* Out of fds: the listeners stay readable, leave them out until the pause ends. */
		pfd[PF_TCP4].fd = d->accept_pause_until_ns ? -1 : d->tcp4;
		pfd[PF_TCP6].fd = d->accept_pause_until_ns ? -1 : d->tcp6;
		pfd[PF_UDPC].fd = d->udpc; /* -1 without containers' listeners */
		pfd[PF_TCPC].fd = d->accept_pause_until_ns ? -1 : d->tcpc;
		pfd[PF_UB].fd = ubfd;
		pfd[PF_ACK].fd = d->ack.fd;
		for (k = 0; k < PF_FIXED; k++) {
			pfd[k].events = POLLIN;
			pfd[k].revents = 0;
		}
		n = tcp_poll_fill(d, pfd + PF_FIXED, slot, &next);
		if (d->accept_pause_until_ns && (!next || d->accept_pause_until_ns < next))
			next = d->accept_pause_until_ns;
		if (next) {
			now = dnsd_now_ns();
			next = next > now ? next - now : 0;
			ts.tv_sec = next / 1000000000LL;
			ts.tv_nsec = next % 1000000000LL;
			tsp = &ts;
		}
		if (ppoll(pfd, PF_FIXED + n, tsp, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("ppoll");
			return -errno;
		}
		for (k = 0; k < PF_FIXED; k++) {
			if (pfd[k].revents & (POLLERR | POLLNVAL)) {
				log_warnx("poll: fd %d failed (%s)", pfd[k].fd,
					  k == PF_UB  ? "libunbound" :
					  k == PF_ACK ? "ack" :
							"listener");
				return -EIO;
			}
		}
		if (pfd[PF_ACK].revents & POLLIN) {
			ackw_drain(&d->ack);
		} else if (pfd[PF_ACK].revents & POLLHUP) {
			/* Every write end is closed: the enforcer and the supervisor (which keeps
			 * one for the next enforcer) are both gone, so no answer can be
			 * acknowledged any more. Polling on would spin on the hang-up and, ppoll
			 * returning ready each time, never take the SIGTERM of a `stop`. */
			log_warnx("ack pipe closed: no enforcer and no supervisor left; exiting");
			return -EPIPE;
		}
		if (pfd[PF_UB].revents & POLLIN) {
			ubevent_dispatch(true, release_tick, d);
			/* The enforcer starts on these answers' addresses while the loop goes on. */
			dnsd_ring_pending(d, false);
			dnsd_release_acked(d);
		}
		if (pfd[PF_UDP4].revents & POLLIN)
			receive_batch(d, d->udp4);
		if (pfd[PF_UDP6].revents & POLLIN)
			receive_batch(d, d->udp6);
		if (pfd[PF_UDPC].revents & POLLIN)
			receive_batch(d, d->udpc);
		/* Connections before accepting: accepting may evict one and reuse its slot, which
		 * must not inherit the old connection's revents. */
		for (i = 0; i < n; i++)
			if (pfd[PF_FIXED + i].revents)
				tcp_handle(d, slot[i], pfd[PF_FIXED + i].revents);
		if (pfd[PF_TCP4].revents & POLLIN)
			tcp_accept(d, d->tcp4);
		if (pfd[PF_TCP6].revents & POLLIN)
			tcp_accept(d, d->tcp6);
		if (pfd[PF_TCPC].revents & POLLIN)
			tcp_accept(d, d->tcpc);
		if (d->accept_pause_until_ns && dnsd_now_ns() >= d->accept_pause_until_ns)
			d->accept_pause_until_ns = 0;
	}
	dnsd_tx_flush(d);
	dnsd_dedupe_expire(d, true);
	dnsd_ring_pending(d, true);
	log_info("signal %d: exiting", child_stop_signal());
	return 0;
}

static uint64_t random_seed(void)
{
	uint64_t seed = 0;

	if (getentropy(&seed, sizeof(seed)) < 0)
		seed = (uint64_t)dnsd_now_ns() ^ (uint64_t)getpid() << 32;
	return seed;
}

int main(int argc, char **argv)
{
	static struct dnsd d;
	struct policy_error perr;
	sigset_t waitmask;
	struct opts o;
	uid_t uid;
	gid_t gid;
	int err, ret = 1;

	/* glibc raises its mmap threshold (up to 32 MiB) each time a mapped chunk is freed; then
	 * the big zeroed tables (learned.c, cache.c) come from the heap, where calloc() clears,
	 * and so makes resident, every page of them. Fixed at its default, they are mapped and
	 * only the slots in use are resident (issue 6). */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	log_procinit("dnsd");
	parse_args(argc, argv, &o);
	log_setverbose(o.verbose);
	d.mode = strcmp(o.mode, "audit") ? CW_MODE_ENFORCE : CW_MODE_AUDIT;
	d.learn_flags = o.allow_private ? LEARN_ALLOW_PRIVATE : 0;
	d.ack.fd = -1;
	policy_init(&d.policy);

	err = child_signals_init(&waitmask);
	if (err) {
		log_warnx("signals: %s", strerror(-err));
		goto out;
	}
	err = policy_load_fd(&d.policy, CW_FD_POLICY, "<policy fd>", &perr);
	if (err) {
		log_warnx("policy: %s", perr.msg);
		goto out;
	}
	close(CW_FD_POLICY);
	/* The parse's garbage (jansson objects of every rule) given back before libunbound and
	 * the tables allocate: else they are carved from its pages, resident already. */
	malloc_trim(0);
	err = shmq_attach(&d.dnsq, CW_DNSD_FD_DNSQ, CW_DNSD_FD_DNSQ_BELL, CW_DNSQ_CAPACITY,
			  sizeof(struct cw_dnsq_entry));
	if (err) {
		log_warnx("address queue (fds %d, %d): %s", CW_DNSD_FD_DNSQ, CW_DNSD_FD_DNSQ_BELL,
			  strerror(-err));
		goto out;
	}
	err = shmq_attach(&d.evq, CW_DNSD_FD_EVQ, CW_DNSD_FD_EVQ_BELL, CW_EVQ_CAPACITY,
			  sizeof(struct cw_dns_event));
	if (err) {
		log_warnx("event queue (fds %d, %d): %s", CW_DNSD_FD_EVQ, CW_DNSD_FD_EVQ_BELL,
			  strerror(-err));
		goto out;
	}
	if (check_listeners(&d, &o) || ackw_init(&d.ack, &d.dnsq, CW_DNSD_FD_ACK_BELL))
		goto out;
	if (tcp_init(&d) || learned_init(&d.learned, DNSD_LEARNED_SLOTS, random_seed()) ||
	    dnscache_init(&d.cache, DNSD_CACHE_SLOTS, random_seed())) {
		log_warnx("out of memory");
		goto out;
	}
	evdedupe_init(&d.dedupe, random_seed(), (int64_t)CW_DEDUPE_WINDOW_NS);
	if (resolve_setup(&d.ub, o.ub_fwd))
		goto out;
	err = child_lookup_user(o.user, &uid, &gid);
	if (err) {
		log_warnx("--user: %s: %s", o.user,
			  err == -ENOENT ? "no such user" : strerror(-err));
		goto out;
	}
	if (uid == 0) {
		log_warnx("--user: %s is uid 0; dnsd parses hostile input and must not be root",
			  o.user);
		goto out;
	}
	/* Before the first client packet is read: everything from here on is untrusted input. */
	privdrop(uid, gid, NULL, 0);
	if (sandbox_apply(SANDBOX_DNSD))
		fatalx("seccomp allowlist not applied");
	if (resolve_selftest(d.ub))
		goto out;
	child_ready();
	/* What libunbound's set-up and the self-test freed below the heap's top, given back
	 * (after the ready signal: not on `cargowall start`'s path). */
	malloc_trim(0);
	log_info("ready: %s mode, %zu rules, default %s, listening on 127.0.0.1:53%s (UDP, TCP), "
		 "forwarding to %s",
		 o.mode, d.policy.n_rules,
		 d.policy.default_action == CW_ACTION_ALLOW ? "allow" : "deny",
		 o.no_ipv6 ? "" : " and [::1]:53", o.ub_fwd);
	if (event_loop(&d, &waitmask) == 0)
		ret = 0;
	dnsd_log_stats(&d);
out:
	if (d.ub)
		ub_ctx_delete(d.ub); /* frees its events; callbacks are not called */
	ubevent_free();
	dnsd_free_inflight(&d);
	dnsd_free_parked(&d);
	tcp_free(&d);
	learned_free(&d.learned);
	dnscache_free(&d.cache);
	shmq_detach(&d.evq);
	shmq_detach(&d.dnsq);
	policy_free(&d.policy);
	return ret;
}
