// SPDX-License-Identifier: Apache-2.0
/* cargowall-auditd: turns the BPF event ring buffer and dnsd's event queue into the NDJSON audit
 * log (DESIGN.md §1, §7). It runs unprivileged with the fds the launcher hands it (common/child.h)
 * and opens nothing itself. Both sources are treated as untrusted: every record is copied out and
 * checked, and whatever is refused or lost is counted and written as an `events_lost` record. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <urcu/system.h>

#include "../common/child.h"
#include "../common/log.h"
#include "../common/policy.h"
#include "../common/seccomp.h"
#include "../common/shmq.h"
#include "../proto/maps.h"
#include "record.h"

/* evq entries handled before the ring buffer gets another turn: a flooding dnsd must not
 * starve the kernel's events. */
#define EVQ_BATCH 1024

/* What is lost, by cause; each is reported once as the difference since the last report. */
enum loss {
	LOSS_RING_SHORT,   /* ring record shorter than struct cw_conn_event */
	LOSS_RING_INVALID, /* ring record that failed audit_conn_event_check() */
	LOSS_EVQ_INVALID,  /* evq entry that failed audit_dns_event_check() */
	LOSS_EVQ_FULL,	   /* dnsd's pushes refused because the evq was full (dnsd's count) */
	LOSS_EVQ_OVERRUN,  /* times dnsd's head ran past the queue (entries skipped) */
	LOSS_WRITE,	   /* records that could not be built or written */
	LOSS_MAX,
};

static const struct {
	const char *source;
	const char *reason;
} loss_desc[LOSS_MAX] = {
	[LOSS_RING_SHORT] = { "ring", "short record" },
	[LOSS_RING_INVALID] = { "ring", "invalid record" },
	[LOSS_EVQ_INVALID] = { "evq", "invalid entry" },
	[LOSS_EVQ_FULL] = { "evq", "queue full" },
	[LOSS_EVQ_OVERRUN] = { "evq", "producer overran the queue" },
	[LOSS_WRITE] = { "log", "record not written" },
};

struct auditd {
	struct audit_ctx ctx;
	struct shmq evq;
	struct ring_buffer *rb;
	int log_fd;
	uint64_t lost[LOSS_MAX];
	uint64_t reported[LOSS_MAX];
	uint64_t evq_full_seen; /* dnsd's dropped_full when last read */
	int last_write_errno;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cargowall-auditd --mode enforce|audit --user NAME [--verbose]\n"
		   "  started by cargowall with fds 3-8 set up (policy, ready pipe, evq and its\n"
		   "  eventfd, BPF event ring buffer, audit log); not meant to be run by hand\n");
}

static void __attribute__((format(printf, 1, 2), noreturn)) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cargowall-auditd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	exit(2);
}

struct options {
	const char *mode;
	const char *user;
	bool verbose;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "user", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *arg;
	int ch, at;

	opterr = 0; /* our messages name the option */
	/* "+": no permutation, so the option being parsed is always argv[at] */
	for (at = optind; (ch = getopt_long(argc, argv, "+:", longopts, NULL)) != -1; at = optind) {
		arg = argv[at];
		switch (ch) {
		case 'm':
			if (o->mode)
				usage_error("--mode given twice");
			if (strcmp(optarg, "enforce") && strcmp(optarg, "audit"))
				usage_error("--mode: '%s' is not enforce or audit", optarg);
			o->mode = optarg;
			break;
		case 'u':
			if (o->user)
				usage_error("--user given twice");
			if (!*optarg)
				usage_error("--user: empty user name");
			o->user = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			usage_error("%s: missing argument", arg);
		default:
			if (strncmp(arg, "--", 2))
				usage_error("unknown option '-%c'", optopt);
			if (optopt) /* a known long option given a value it does not take */
				usage_error("%.*s takes no argument", (int)strcspn(arg, "="), arg);
			usage_error("unknown option '%.*s'", (int)strcspn(arg, "="), arg);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->mode)
		usage_error("missing --mode (enforce or audit)");
	if (!o->user)
		usage_error("missing --user NAME");
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Ring timestamps are bpf_ktime_get_ns() (CLOCK_MONOTONIC). Take the realtime reading between
 * two monotonic ones so the offset is off by at most half the gap. A later clock step (NTP)
 * is not followed; a run is short and the order of records stays right. */
static int64_t mono_to_realtime_offset(void)
{
	uint64_t m1 = clock_ns(CLOCK_MONOTONIC);
	uint64_t r = clock_ns(CLOCK_REALTIME);
	uint64_t m2 = clock_ns(CLOCK_MONOTONIC);

	return (int64_t)(r - (m1 + (m2 - m1) / 2));
}

/* One record = one write(2) on an O_APPEND fd, so another writer of the same log (a restarted
 * auditd, the launcher) never lands inside a line. A short write (disk full) is finished with
 * more writes; if that fails too, the torn line is ended so the next record stays parseable. */
static void write_record(struct auditd *a, json_t *rec)
{
	size_t len, off = 0;
	ssize_t n;
	char *line;

	line = rec ? audit_line(rec, &len) : NULL;
	json_decref(rec);
	if (!line) {
		a->lost[LOSS_WRITE]++;
		return;
	}
	while (off < len) {
		n = write(a->log_fd, line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (errno != a->last_write_errno)
				log_warn("audit log write");
			a->last_write_errno = n < 0 ? errno : EIO;
			a->lost[LOSS_WRITE]++;
			if (off && write(a->log_fd, "\n", 1) != 1) {
				/* nothing more to try: the loss is counted */
			}
			break;
		}
		off += (size_t)n;
	}
	if (off == len)
		a->last_write_errno = 0;
	free(line);
}

static int on_ring_record(void *arg, void *data, size_t size)
{
	struct auditd *a = arg;
	struct cw_conn_event e;
	const char *why;

	if (size < sizeof(e)) {
		a->lost[LOSS_RING_SHORT]++;
		return 0;
	}
	/* one private copy: the checks and the record see the same bytes */
	memcpy(&e, data, sizeof(e));
	if (audit_conn_event_check(&e, &why)) {
		log_debug("ring record dropped: %s", why);
		a->lost[LOSS_RING_INVALID]++;
		return 0;
	}
	write_record(a, audit_conn_record(&a->ctx, &e));
	return 0;
}

static void consume_ring(struct auditd *a)
{
	int n = ring_buffer__consume(a->rb);

	if (n < 0 && n != -EINTR)
		log_warnx("ring buffer consume: %s", strerror(-n));
}

/* Pop at most `max` entries. Returns true when the queue may hold more. */
static bool drain_evq(struct auditd *a, unsigned int max)
{
	struct cw_dns_event e;
	const char *why;
	unsigned int i;

	for (i = 0; i < max; i++) {
		if (shmq_pop(&a->evq, &e) != 1)
			return false;
		if (audit_dns_event_check(&e, &why)) {
			log_debug("evq entry dropped: %s", why);
			shmq_count_rejected(&a->evq);
			a->lost[LOSS_EVQ_INVALID]++;
			continue;
		}
		write_record(a, audit_dns_record(&a->ctx, &e));
	}
	return true;
}

static void report_losses(struct auditd *a)
{
	uint64_t full, now, delta;
	int i;

	/* written by dnsd: a number to report, never a size to trust */
	full = CMM_LOAD_SHARED(a->evq.hdr->dropped_full);
	if (full > a->evq_full_seen)
		a->lost[LOSS_EVQ_FULL] += full - a->evq_full_seen;
	a->evq_full_seen = full;
	a->lost[LOSS_EVQ_OVERRUN] = a->evq.hostile;

	for (i = 0; i < LOSS_MAX; i++) {
		if (a->lost[i] <= a->reported[i])
			continue;
		delta = a->lost[i] - a->reported[i];
		a->reported[i] = a->lost[i];
		log_warnx("%" PRIu64 " events lost (%s: %s)", delta, loss_desc[i].source,
			  loss_desc[i].reason);
		now = clock_ns(CLOCK_REALTIME);
		write_record(a, audit_events_lost_record(&a->ctx, now, loss_desc[i].source,
							 loss_desc[i].reason, delta));
	}
	/* a failed events_lost record is itself reported next round, not in a loop here */
}

static void lifecycle(struct auditd *a, const char *message)
{
	write_record(a, audit_lifecycle_record(&a->ctx, clock_ns(CLOCK_REALTIME), message));
}

/* Every fd the launcher promised must be open; the log must be writable and appending. */
static int check_fds(void)
{
	static const int fds[] = { CW_FD_POLICY,       CW_FD_READY,	  CW_AUD_FD_EVQ,
				   CW_AUD_FD_EVQ_BELL, CW_AUD_FD_RINGBUF, CW_AUD_FD_LOG };
	size_t i;
	int fl;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (fcntl(fds[i], F_GETFD) < 0) {
			log_warnx("fd %d not handed over by the launcher", fds[i]);
			return -EBADF;
		}
	}
	fl = fcntl(CW_AUD_FD_LOG, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY) {
		log_warnx("fd %d (audit log) is not open for writing", CW_AUD_FD_LOG);
		return -EBADF;
	}
	if (!(fl & O_APPEND) && fcntl(CW_AUD_FD_LOG, F_SETFL, fl | O_APPEND) < 0) {
		log_warn("fd %d (audit log): set O_APPEND", CW_AUD_FD_LOG);
		return -EBADF;
	}
	/* shmq_clear_doorbell() reads the eventfd: it must never block the loop */
	fl = fcntl(CW_AUD_FD_EVQ_BELL, F_GETFL);
	if (fl < 0 || fcntl(CW_AUD_FD_EVQ_BELL, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_warn("fd %d (evq eventfd): set O_NONBLOCK", CW_AUD_FD_EVQ_BELL);
		return -EBADF;
	}
	return 0;
}

static int run(struct auditd *a, const sigset_t *run_mask)
{
	static const struct timespec zero = { 0, 0 };
	/* Allowed-connection events are submitted without a wakeup (bpf/cargowall.bpf.c): read
	 * the ring on this tick too. */
	static const struct timespec tick = { 0, CW_AUDIT_TICK_MS * 1000000L };
	struct pollfd pfd[2];
	bool more = false;
	int n;

	pfd[0].fd = ring_buffer__epoll_fd(a->rb);
	pfd[0].events = POLLIN;
	pfd[1].fd = a->evq.efd;
	pfd[1].events = POLLIN;
	while (!child_stop_signal()) {
		n = ppoll(pfd, 2, more ? &zero : &tick, run_mask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("ppoll");
			return -errno;
		}
		if (pfd[0].revents & (POLLERR | POLLNVAL)) {
			log_warnx("poll: error on the ring buffer");
			return -EIO;
		}
		if (pfd[1].revents & (POLLERR | POLLNVAL)) {
			log_warnx("poll: error on the evq eventfd");
			return -EIO;
		}
		if (n == 0 || (pfd[0].revents & POLLIN))
			consume_ring(a);
		if (more || pfd[1].revents & POLLIN) {
			/* clear before popping: a push after the pop rings again */
			if (pfd[1].revents & POLLIN)
				shmq_clear_doorbell(&a->evq);
			more = drain_evq(a, EVQ_BATCH);
		}
		report_losses(a);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct policy_error perr;
	struct auditd a;
	struct policy pol;
	sigset_t run_mask;
	uid_t uid;
	gid_t gid;
	int err, n;

	log_procinit("auditd");
	parse_args(argc, argv, &opt);
	log_setverbose(opt.verbose);
	log_libbpf_init();

	memset(&a, 0, sizeof(a));
	a.evq.memfd = a.evq.efd = -1;
	a.log_fd = CW_AUD_FD_LOG;
	a.ctx.mode = strcmp(opt.mode, "audit") ? CW_MODE_ENFORCE : CW_MODE_AUDIT;
	a.ctx.policy = &pol;
	policy_init(&pol);

	err = check_fds();
	if (err)
		goto out;
	err = policy_load_fd(&pol, CW_FD_POLICY, "<policy fd>", &perr);
	if (err) {
		log_warnx("policy: %s", perr.msg);
		goto out;
	}
	close(CW_FD_POLICY);
	a.ctx.mono_to_realtime_ns = mono_to_realtime_offset();

	err = shmq_attach(&a.evq, CW_AUD_FD_EVQ, CW_AUD_FD_EVQ_BELL, CW_EVQ_CAPACITY,
			  sizeof(struct cw_dns_event));
	if (err) {
		log_warnx("evq attach: %s", strerror(-err));
		goto out;
	}
	a.evq_full_seen = CMM_LOAD_SHARED(a.evq.hdr->dropped_full);
	a.rb = ring_buffer__new(CW_AUD_FD_RINGBUF, on_ring_record, &a, NULL);
	if (!a.rb) {
		err = -errno;
		log_warnx("ring buffer (fd %d): %s", CW_AUD_FD_RINGBUF, strerror(-err));
		goto out;
	}
	err = child_signals_init(&run_mask);
	if (err) {
		log_warnx("signals: %s", strerror(-err));
		goto out;
	}

	err = child_lookup_user(opt.user, &uid, &gid);
	if (err) {
		log_warnx("--user: no user '%s'", opt.user);
		goto out;
	}
	privdrop(uid, gid, NULL, 0);
	if (sandbox_apply(SANDBOX_AUDITD))
		fatalx("seccomp allowlist not applied");
	child_ready();

	lifecycle(&a, "auditd started");
	log_info("started, mode %s", audit_mode_name(a.ctx.mode));
	err = run(&a, &run_mask);

	/* Drain what is already queued so nothing accepted before the stop goes unlogged. */
	consume_ring(&a);
	for (n = 0; n <= CW_EVQ_CAPACITY / EVQ_BATCH && drain_evq(&a, EVQ_BATCH); n++)
		; /* bounded: dnsd may keep pushing, but what was queued at the stop fits */
	report_losses(&a);
	lifecycle(&a, err ? "auditd stopped on error" : "auditd stopped");
	log_info("stopped");
out:
	ring_buffer__free(a.rb);
	if (a.evq.hdr)
		shmq_detach(&a.evq);
	policy_free(&pol);
	return err ? 1 : 0;
}
