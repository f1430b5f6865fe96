// SPDX-License-Identifier: Apache-2.0
/* cargowall-auditd: turns the BPF event ring buffer and dnsd's event queue into the NDJSON audit
 * log (DESIGN.md §1, §7). It runs unprivileged with the fds the launcher hands it (common/child.h)
 * and opens nothing itself. Both sources are treated as untrusted: every record is copied out and
 * checked, and whatever is refused or lost is counted and written as an `events_lost` record. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <urcu/system.h>

#include "../common/child.h"
#include "../common/log.h"
#include "../common/policy.h"
#include "../common/seccomp.h"
#include "../common/shmq.h"
#include "../proto/maps.h"
#include "ident.h"
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
	LOSS_RING_FULL,	   /* the kernel could not reserve a ring record (CW_CNT_EVENTS_LOST) */
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
	[LOSS_RING_FULL] = { "ring", "ring buffer full" },
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
	struct ident id;
	/* the kernel's per-CPU loss counter (CW_AUD_FD_COUNTERS), -1 if not handed over */
	int counters_fd;
	/* who sent each DNS query (CW_AUD_FD_DNS_CLIENTS), -1 if not handed over */
	int dns_clients_fd;
	int ncpus;
	uint64_t *cnt_vals;	 /* ncpus values of one lookup */
	uint64_t ring_full_base; /* the counter's sum last reported when auditd started */
	uint64_t evq_full_base;	 /* dnsd's dropped_full last reported when auditd started */
	/* the counters map has the CW_CNT_AUD_* slots: what was reported is recorded there */
	bool reported_ok;
	/* CW_CNT_TAMPER_* sums already reported (at start: as they were, so a restarted auditd
	 * does not report the same tamper twice) */
	uint64_t tamper_seen[CW_CNT_TAMPER_SETTINGS - CW_CNT_TAMPER_ATTACH + 1];
	bool tamper_seen_ok;
	uint64_t counters_read_ms; /* CLOCK_MONOTONIC of the last lookup */
	/* lifecycle lines from the supervisor (CW_AUD_FD_LIFECYCLE), -1 if none */
	int lc_fd;
	char lc_buf[1024];
	size_t lc_len;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cargowall-auditd --mode enforce|audit --user NAME [--verbose]\n"
		"  started by cargowall with fds 3-9 set up (policy, ready pipe, evq and its\n"
		"  eventfd, BPF event ring buffer, audit log, counters map; 10: lifecycle pipe,\n"
		"  optional); not meant to be run by hand\n");
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

static json_t *conn_record(struct auditd *a, struct cw_conn_event *e)
{
	struct audit_conn_extra x = { 0 };

	if (e->pid)
		ident_sock_remember(&a->id, e);
	else
		x.via_cookie = ident_sock_fill(&a->id, e);
	x.cmdline = ident_cmdline(&a->id, e->pid, e->start_ns, &x.cmdline_len);
	return audit_conn_record(&a->ctx, e, &x);
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
	/* The line is written before this callback returns, and libbpf moves the consumer
	 * position only after it: a killed auditd leaves every unwritten record in the ring. */
	write_record(a, conn_record(a, &e));
	return 0;
}

static void consume_ring(struct auditd *a)
{
	int n = ring_buffer__consume(a->rb);

	if (n < 0 && n != -EINTR)
		log_warnx("ring buffer consume: %s", strerror(-n));
}

/* A DNS record with who asked: the kernel kept the sender's identity under its UDP port when
 * the forced DNS path saw the query (bpf/dnsclient.bpf.h). Only an entry written before dnsd's
 * decision counts: an older one may be another socket that had the port before. */
static json_t *dns_record(struct auditd *a, const struct cw_dns_event *e)
{
	struct cw_dns_client_key k = { .port = ntohs(e->client_port), .family = e->client_family };
	struct audit_conn_extra x = { 0 };
	json_t *o = audit_dns_record(&a->ctx, e);
	struct cw_conn_event who;

	memcpy(k.addr, e->client_addr, e->client_family == 4 ? 4 : sizeof(k.addr));
	if (!o || a->dns_clients_fd < 0 || !k.port ||
	    bpf_map_lookup_elem(a->dns_clients_fd, &k, &who) || !who.pid ||
	    who.ts_ns + (uint64_t)a->ctx.mono_to_realtime_ns > e->ts_realtime_ns)
		return o;
	x.cmdline = ident_cmdline(&a->id, who.pid, who.start_ns, &x.cmdline_len);
	if (audit_identity_fields(o, &who, &x)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Pop at most `max` entries. Returns true when the queue may hold more. */
static bool drain_evq(struct auditd *a, unsigned int max)
{
	struct cw_dns_event e;
	const char *why;
	unsigned int i;

	/* peek, write, then consume: a killed auditd leaves the unwritten entry queued */
	for (i = 0; i < max; i++) {
		if (shmq_peek(&a->evq, &e) != 1)
			return false;
		if (audit_dns_event_check(&e, &why)) {
			log_debug("evq entry dropped: %s", why);
			shmq_count_rejected(&a->evq);
			a->lost[LOSS_EVQ_INVALID]++;
		} else {
			write_record(a, dns_record(a, &e));
		}
		shmq_consume(&a->evq);
	}
	return true;
}

/* Sum of CW_CNT_EVENTS_LOST over every possible CPU: 0, or -errno. */
static int ring_full_total(struct auditd *a, uint64_t *sum)
{
	uint32_t key = CW_CNT_EVENTS_LOST;
	int i;

	if (bpf_map_lookup_elem(a->counters_fd, &key, a->cnt_vals))
		return -errno;
	*sum = 0;
	for (i = 0; i < a->ncpus; i++)
		*sum += a->cnt_vals[i];
	return 0;
}

/* Sum of one counter over every possible CPU: 0, or -errno. */
static int counter_total(struct auditd *a, uint32_t key, uint64_t *sum)
{
	int i;

	if (bpf_map_lookup_elem(a->counters_fd, &key, a->cnt_vals))
		return -errno;
	*sum = 0;
	for (i = 0; i < a->ncpus; i++)
		*sum += a->cnt_vals[i];
	return 0;
}

/* What the enforcer counts when it undoes a tamper (enforcer/tamper.c): each increase is a
 * `tamper` record. The kind is all the counter says; the enforcer's own log line (daemon.log)
 * names the attachment, pin or setting. */
static void read_tamper(struct auditd *a, bool baseline)
{
	static const char *const what[] = {
		"an attachment (a cgroup link or the TC egress program: detached, replaced or "
		"preceded)",
		"a pin (removed or pointing elsewhere)",
		"the settings map (rewritten)",
	};
	static const char *const kind[] = { "attachment", "pin", "settings" };
	uint64_t sum = 0;
	size_t i;
	char msg[256];
	json_t *o;

	for (i = 0; i < sizeof(a->tamper_seen) / sizeof(a->tamper_seen[0]); i++) {
		if (counter_total(a, (uint32_t)(CW_CNT_TAMPER_ATTACH + i), &sum) ||
		    sum <= a->tamper_seen[i])
			continue;
		if (baseline) {
			a->tamper_seen[i] = sum;
			continue;
		}
		snprintf(msg, sizeof(msg), "the enforcer restored %s", what[i]);
		o = audit_lifecycle_record(&a->ctx, clock_ns(CLOCK_REALTIME), msg);
		if (o &&
		    (json_object_set_new(o, "event_type", json_string("tamper")) ||
		     json_object_set_new(o, "tamper", json_string(kind[i])) ||
		     json_object_set_new(o, "count",
					 json_integer((json_int_t)(sum - a->tamper_seen[i]))))) {
			json_decref(o);
			o = NULL;
		}
		log_warnx("tamper: %s (%llu time(s))", msg,
			  (unsigned long long)(sum - a->tamper_seen[i]));
		a->tamper_seen[i] = sum;
		write_record(a, o);
	}
}

/* Record in the counters map (CPU 0's slot) the total a loss is reported up to. Written after
 * the record: a kill between the two reports those losses twice, never not at all. */
static void reported_store(struct auditd *a, uint32_t key, uint64_t total)
{
	if (!a->reported_ok)
		return;
	memset(a->cnt_vals, 0, (size_t)a->ncpus * sizeof(uint64_t));
	a->cnt_vals[0] = total;
	if (bpf_map_update_elem(a->counters_fd, &key, a->cnt_vals, BPF_ANY)) {
		log_warn("counters map: recording what was reported (a restarted auditd may "
			 "report it again)");
		a->reported_ok = false;
	}
}

/* The kernel's ring reserve failures since auditd started, read once per tick (or when forced
 * at the stop). Reported like the other losses: the increase since the last record. */
static void read_ring_full(struct auditd *a, bool force)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC) / 1000000, sum;
	int err;

	if (a->counters_fd < 0 || (!force && now - a->counters_read_ms < CW_AUDIT_TICK_MS))
		return;
	a->counters_read_ms = now;
	err = ring_full_total(a, &sum);
	if (err) {
		log_warnx("counters map lookup: %s", strerror(-err));
		return;
	}
	if (sum > a->ring_full_base)
		a->lost[LOSS_RING_FULL] = sum - a->ring_full_base;
	if (a->tamper_seen_ok)
		read_tamper(a, false);
}

static void report_losses(struct auditd *a, bool force)
{
	uint64_t full, now, delta;
	int i;

	read_ring_full(a, force);

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
		if (i == LOSS_RING_FULL)
			reported_store(a, CW_CNT_AUD_RING_REPORTED, a->ring_full_base + a->lost[i]);
		else if (i == LOSS_EVQ_FULL)
			reported_store(a, CW_CNT_AUD_EVQ_REPORTED, a->evq_full_base + a->lost[i]);
	}
	/* a failed events_lost record is itself reported next round, not in a loop here */
}

static void lifecycle(struct auditd *a, const char *message)
{
	write_record(a, audit_lifecycle_record(&a->ctx, clock_ns(CLOCK_REALTIME), message));
}

/* Lines from the supervisor (restarts, log reopen): each one a lifecycle record. The writer
 * sends whole lines of at most CW_LIFECYCLE_MSG_MAX bytes in one write(2) each; a longer run
 * without a newline is cut into records of the buffer's size rather than dropped. */
static void read_lifecycle(struct auditd *a)
{
	char *nl;
	ssize_t n;

	for (;;) {
		n = read(a->lc_fd, a->lc_buf + a->lc_len, sizeof(a->lc_buf) - 1 - a->lc_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* the supervisor closed its end, or an error: stop watching it */
			if (n < 0)
				log_warn("lifecycle pipe");
			close(a->lc_fd);
			a->lc_fd = -1;
			return;
		}
		a->lc_len += (size_t)n;
		a->lc_buf[a->lc_len] = '\0';
		while ((nl = memchr(a->lc_buf, '\n', a->lc_len)) ||
		       a->lc_len == sizeof(a->lc_buf) - 1) {
			size_t l = nl ? (size_t)(nl - a->lc_buf) : a->lc_len;

			a->lc_buf[l] = '\0';
			if (l)
				lifecycle(a, a->lc_buf);
			l += nl ? 1 : 0;
			memmove(a->lc_buf, a->lc_buf + l, a->lc_len - l);
			a->lc_len -= l;
		}
	}
}

/* Start from what the previous auditd of this run recorded as reported (0 at a fresh start: a
 * new counters map), so that losses it counted but did not write are reported now. A recorded
 * total above the current one (someone else's numbers) is not trusted: then from now. */
static void reported_restore(struct auditd *a)
{
	uint64_t v;

	if (!counter_total(a, CW_CNT_AUD_RING_REPORTED, &v) && v <= a->ring_full_base)
		a->ring_full_base = v;
	if (!counter_total(a, CW_CNT_AUD_EVQ_REPORTED, &v) && v <= a->evq_full_seen)
		a->evq_full_seen = a->evq_full_base = v;
}

/* The per-CPU counters map the launcher handed over: checked before the sandbox (which only
 * lets bpf() look up). 0 or -errno. */
static int counters_init(struct auditd *a)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int err;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(CW_AUD_FD_COUNTERS, &info, &len)) {
		err = -errno;
		log_warnx("fd %d (counters map): %s", CW_AUD_FD_COUNTERS, strerror(-err));
		return err;
	}
	if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.value_size != sizeof(uint64_t) ||
	    info.max_entries <= CW_CNT_EVENTS_LOST) {
		log_warnx("fd %d is not the per-CPU counters map", CW_AUD_FD_COUNTERS);
		return -EINVAL;
	}
	a->ncpus = libbpf_num_possible_cpus();
	if (a->ncpus <= 0) {
		log_warnx("possible CPUs: %s", strerror(-a->ncpus));
		return a->ncpus ? a->ncpus : -EINVAL;
	}
	/* a per-CPU lookup fills one value per possible CPU, each rounded up to 8 bytes */
	a->cnt_vals = calloc((size_t)a->ncpus, sizeof(uint64_t));
	if (!a->cnt_vals)
		return -ENOMEM;
	a->counters_fd = CW_AUD_FD_COUNTERS;
	/* a counters map without the tamper counters (another version's): no tamper records */
	a->tamper_seen_ok = info.max_entries > CW_CNT_TAMPER_SETTINGS;
	if (a->tamper_seen_ok)
		read_tamper(a, true);
	err = ring_full_total(a, &a->ring_full_base);
	if (err) {
		log_warnx("counters map lookup: %s", strerror(-err));
		return err;
	}
	a->evq_full_base = a->evq_full_seen;
	a->reported_ok = info.max_entries > CW_CNT_AUD_EVQ_REPORTED;
	if (a->reported_ok)
		reported_restore(a);
	return 0;
}

/* The dns_clients map at CW_AUD_FD_DNS_CLIENTS, or -1: DNS records then carry no process. */
static int dns_clients_check(void)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	if (fcntl(CW_AUD_FD_DNS_CLIENTS, F_GETFD) < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(CW_AUD_FD_DNS_CLIENTS, &info, &len) ||
	    info.type != BPF_MAP_TYPE_LRU_HASH ||
	    info.key_size != sizeof(struct cw_dns_client_key) ||
	    info.value_size != sizeof(struct cw_conn_event)) {
		log_warnx("fd %d is not the dns_clients map: DNS records name no process",
			  CW_AUD_FD_DNS_CLIENTS);
		return -1;
	}
	return CW_AUD_FD_DNS_CLIENTS;
}

/* Every fd the launcher promised must be open; the log must be writable and appending. */
static int check_fds(void)
{
	static const int fds[] = { CW_FD_POLICY,       CW_FD_READY,	  CW_AUD_FD_EVQ,
				   CW_AUD_FD_EVQ_BELL, CW_AUD_FD_RINGBUF, CW_AUD_FD_LOG,
				   CW_AUD_FD_COUNTERS };
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
	 * the ring on this tick too, counted from the last read and not from the last wake-up:
	 * dnsd's doorbell rings every few milliseconds while names are resolved, and a poll
	 * timeout restarted by each ring never came (the lifecycle bench's load filled the ring,
	 * "ring buffer full", at a few thousand connections a second). */
	const uint64_t tick_ns = CW_AUDIT_TICK_MS * 1000000ULL;
	uint64_t now, ring_due = clock_ns(CLOCK_MONOTONIC) + tick_ns;
	struct timespec tick;
	struct pollfd pfd[3];
	bool more = false;
	int n;

	pfd[0].fd = ring_buffer__epoll_fd(a->rb);
	pfd[0].events = POLLIN;
	pfd[1].fd = a->evq.efd;
	pfd[1].events = POLLIN;
	pfd[2].fd = a->lc_fd;
	pfd[2].events = POLLIN;
	while (!child_stop_signal()) {
		now = clock_ns(CLOCK_MONOTONIC);
		tick.tv_sec = 0;
		tick.tv_nsec = ring_due > now ? (long)(ring_due - now) : 0;
		n = ppoll(pfd, a->lc_fd >= 0 ? 3 : 2, more ? &zero : &tick, run_mask);
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
		now = clock_ns(CLOCK_MONOTONIC);
		if (n == 0 || (pfd[0].revents & POLLIN) || now >= ring_due) {
			consume_ring(a);
			ring_due = now + tick_ns;
		}
		if (more || pfd[1].revents & POLLIN) {
			/* clear before popping: a push after the pop rings again */
			if (pfd[1].revents & POLLIN)
				shmq_clear_doorbell(&a->evq);
			more = drain_evq(a, EVQ_BATCH);
		}
		if (a->lc_fd >= 0 && pfd[2].revents)
			read_lifecycle(a);
		report_losses(a, false);
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

	/* As in dnsd: a fixed mmap threshold keeps ident.c's tables mapped, resident only where
	 * used, instead of cleared (and resident) in the heap (issue 6). */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	log_procinit("auditd");
	parse_args(argc, argv, &opt);
	log_setverbose(opt.verbose);
	log_libbpf_init();

	memset(&a, 0, sizeof(a));
	a.evq.memfd = a.evq.efd = -1;
	a.counters_fd = -1;
	a.id.proc_dirfd = -1;
	a.lc_fd = fcntl(CW_AUD_FD_LIFECYCLE, F_GETFD) < 0 ? -1 : CW_AUD_FD_LIFECYCLE;
	a.dns_clients_fd = dns_clients_check();
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
	/* the parse's garbage (jansson objects of every rule) given back */
	malloc_trim(0);
	a.ctx.mono_to_realtime_ns = mono_to_realtime_offset();

	err = shmq_attach(&a.evq, CW_AUD_FD_EVQ, CW_AUD_FD_EVQ_BELL, CW_EVQ_CAPACITY,
			  sizeof(struct cw_dns_event));
	if (err) {
		log_warnx("evq attach: %s", strerror(-err));
		goto out;
	}
	a.evq_full_seen = CMM_LOAD_SHARED(a.evq.hdr->dropped_full);
	err = counters_init(&a);
	if (err)
		goto out;
	/* /proc stays reachable after the drop: cmdline and stat are world-readable */
	err = ident_init(&a.id, "/proc", sysconf(_SC_CLK_TCK));
	if (err) {
		log_warnx("/proc: %s", strerror(-err));
		goto out;
	}
	if (a.lc_fd >= 0 && fcntl(a.lc_fd, F_SETFL, fcntl(a.lc_fd, F_GETFL) | O_NONBLOCK) < 0) {
		log_warn("fd %d (lifecycle pipe): set O_NONBLOCK", a.lc_fd);
		a.lc_fd = -1;
	}
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
	{
		char msg[128];

		/* The policy this run enforces, as auditd was handed it (a reload restarts auditd
		 * with the new one, so each policy in force shows up here). */
		snprintf(msg, sizeof(msg), "policy loaded: %zu rule(s), default %s", pol.n_rules,
			 pol.default_action == CW_ACTION_ALLOW ? "allow" : "deny");
		lifecycle(&a, msg);
	}
	log_info("started, mode %s", audit_mode_name(a.ctx.mode));
	err = run(&a, &run_mask);

	/* Drain what is already queued so nothing accepted before the stop goes unlogged. */
	consume_ring(&a);
	for (n = 0; n <= CW_EVQ_CAPACITY / EVQ_BATCH && drain_evq(&a, EVQ_BATCH); n++)
		; /* bounded: dnsd may keep pushing, but what was queued at the stop fits */
	report_losses(&a, true);
	lifecycle(&a, err ? "auditd stopped on error" : "auditd stopped");
	log_info("stopped");
out:
	ident_free(&a.id);
	free(a.cnt_vals);
	ring_buffer__free(a.rb);
	if (a.evq.hdr)
		shmq_detach(&a.evq);
	policy_free(&pol);
	return err ? 1 : 0;
}
