// SPDX-License-Identifier: Apache-2.0
/* cargowall-dnsd: the DNS proxy (DESIGN.md §1, §2). Runs unprivileged with the fds the launcher
 * hands over (common/child.h), decides each query by the hostname rules, forwards allowed ones
 * through libunbound, and releases an answer only once the enforcer has put its addresses in
 * the kernel map.
 *
 * Denied names get NXDOMAIN, built here, for every query type, and nothing is sent upstream:
 * - NXDOMAIN is a final answer. Stub resolvers (glibc, musl, Go, Node) stop at once and the
 *   tool fails fast with "could not resolve host <name>", which points at the name to allow.
 *   REFUSED and SERVFAIL make resolvers try the next server or retry, turning a policy denial
 *   into slow, "transient-looking" failures; a sinkhole address (0.0.0.0) would make tools
 *   connect somewhere and fail confusingly, and would be cached as if it were real.
 * - It says the name does not exist for any type (RFC 8020), so an A/AAAA/TXT mix cannot see
 *   contradictory answers; and it carries no SOA, so it is not negatively cached (RFC 2308
 *   §5): a policy change takes effect on the next lookup.
 * - Nothing reaching the upstream also closes DNS exfiltration through query names
 *   (secret.attacker.example).
 * Names the policy cannot read as hostnames get REFUSED (no decision was taken on them);
 * malformed queries FORMERR, other opcodes NOTIMP, responses and runts nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "dnsd.h"

struct opts {
	const char *mode;
	const char *upstream;
	const char *user;
	bool verbose;
	bool allow_private;
	struct in_addr up_addr;
	uint16_t up_port;
	char ub_fwd[INET_ADDRSTRLEN + 8]; /* "a.b.c.d@port" for ub_ctx_set_fwd */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cargowall-dnsd --mode enforce|audit --upstream IPV4[:PORT] --user NAME "
		   "[--allow-private-answers] [--verbose]\n"
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

/* fd 9 must be the IPv4 UDP socket the launcher bound; the upstream must not be that very
 * address, or every query would be forwarded back to dnsd. */
static int check_listener(int fd, const struct opts *o, struct sockaddr_in *bound)
{
	socklen_t sl = sizeof(int);
	int type = 0, domain = 0, fl;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &sl) < 0) {
		log_warn("fd %d (DNS listener)", fd);
		return -EBADF;
	}
	if (type != SOCK_DGRAM || domain != AF_INET) {
		log_warnx("fd %d (DNS listener) is not an IPv4 UDP socket", fd);
		return -EBADF;
	}
	sl = sizeof(*bound);
	if (getsockname(fd, (struct sockaddr *)bound, &sl) < 0 || bound->sin_port == 0) {
		log_warnx("fd %d (DNS listener) is not bound", fd);
		return -EBADF;
	}
	if (bound->sin_addr.s_addr == o->up_addr.s_addr && ntohs(bound->sin_port) == o->up_port) {
		log_warnx("--upstream %s is dnsd's own listening address", o->upstream);
		return -ELOOP;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_warn("fd %d (DNS listener): O_NONBLOCK", fd);
		return -errno;
	}
	return 0;
}

static void receive_batch(struct dnsd *d)
{
	uint8_t buf[4096];
	int i;

	for (i = 0; i < DNSD_RX_BATCH; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		memset(&from, 0, sizeof(from));
		/* MSG_TRUNC: the real length, so an oversized datagram is dropped, never parsed
		 * cut. */
		n = recvfrom(d->sock, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("recvfrom");
			return;
		}
		if ((size_t)n > sizeof(buf) || fl != sizeof(from) || from.sin_family != AF_INET) {
			d->stats[ST_RX]++;
			d->stats[ST_DROP_LARGE]++;
			continue;
		}
		dnsd_handle_datagram(d, buf, (size_t)n, &from);
	}
}

static int event_loop(struct dnsd *d, const sigset_t *waitmask)
{
	struct pollfd pfd[2];
	int ubfd = ub_fd(d->ub);

	if (ubfd < 0) {
		log_warnx("libunbound: no result fd");
		return -EIO;
	}
	while (!child_stop_signal()) {
		pfd[0].fd = d->sock;
		pfd[0].events = POLLIN;
		pfd[1].fd = ubfd;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (ppoll(pfd, 2, NULL, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("ppoll");
			return -errno;
		}
		if (pfd[1].revents & POLLIN) {
			int ub = ub_process(d->ub);

			if (ub)
				log_warnx("libunbound: %s", ub_strerror(ub));
		}
		if (pfd[0].revents & POLLIN)
			receive_batch(d);
		if (pfd[0].revents & (POLLERR | POLLNVAL | POLLHUP)) {
			log_warnx("DNS listener fd failed");
			return -EIO;
		}
		if (pfd[1].revents & (POLLERR | POLLNVAL | POLLHUP)) {
			log_warnx("libunbound result fd failed");
			return -EIO;
		}
	}
	log_info("signal %d: exiting", child_stop_signal());
	return 0;
}

int main(int argc, char **argv)
{
	static struct dnsd d;
	struct policy_error perr;
	struct sockaddr_in bound;
	char baddr[INET_ADDRSTRLEN];
	sigset_t waitmask;
	struct opts o;
	uid_t uid;
	gid_t gid;
	int err, ret = 1;

	log_procinit("dnsd");
	parse_args(argc, argv, &o);
	log_setverbose(o.verbose);
	d.mode = strcmp(o.mode, "audit") ? CW_MODE_ENFORCE : CW_MODE_AUDIT;
	d.learn_flags = o.allow_private ? LEARN_ALLOW_PRIVATE : 0;
	d.sock = CW_DNSD_FD_UDP4;
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
	if (check_listener(d.sock, &o, &bound))
		goto out;
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
	if (resolve_selftest(d.ub))
		goto out;
	child_ready();
	inet_ntop(AF_INET, &bound.sin_addr, baddr, sizeof(baddr));
	log_info("ready: %s mode, %zu rules, default %s, listening on %s:%u, forwarding to %s",
		 o.mode, d.policy.n_rules,
		 d.policy.default_action == CW_ACTION_ALLOW ? "allow" : "deny", baddr,
		 ntohs(bound.sin_port), o.ub_fwd);
	if (event_loop(&d, &waitmask) == 0)
		ret = 0;
	dnsd_log_stats(&d);
out:
	if (d.ub)
		ub_ctx_delete(d.ub); /* stops the worker thread; callbacks are not called */
	dnsd_free_inflight(&d);
	shmq_detach(&d.evq);
	shmq_detach(&d.dnsq);
	policy_free(&d.policy);
	return ret;
}
