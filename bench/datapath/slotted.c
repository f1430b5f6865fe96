// SPDX-License-Identifier: Apache-2.0
/* Side-by-side measurement in time slices, for bench/datapath/run.sh (built there with cc).
 *
 * Back-to-back runs of the same path on this kind of shared machine differ by 5 to 15 %: other
 * tenants take the CPU for a while, then give it back. A 2 % target cannot be judged that way.
 * Here the paths under comparison run in one window instead, taking turns: N client processes
 * share the clock, time is cut into slots of SLOT_MS, and client i works only in the slots
 * with (slot number mod N) == i, sleeping in the others. Every path meets the same disturbances
 * within a fraction of a second, and each reports its work per second of its own slots.
 *
 *   slotted conn ADDR PORT SLOT_MS N I START_MS SECONDS
 *       new TCP connections (connect, close with RST) in its slots: a full three-way handshake
 *       each, no TIME_WAIT left (as connrate.c).
 *   slotted stream ADDR PORT SLOT_MS N I START_MS SECONDS
 *       one TCP connection, 128 KiB writes in its slots (what `iperf3 -c` sends). The socket
 *       buffers are capped (BUF_BYTES) so that what is queued when a slot ends, and drains
 *       in the next one, is well under 1 % of a slot's work.
 *   slotted sink ADDR PORT MAX_SECONDS
 *       accepts stream connections and reads them to the end, one thread each.
 *
 * START_MS is a CLOCK_BOOTTIME instant in milliseconds (/proc/uptime's clock), the same for the
 * N clients, a little in the future; each runs until START_MS + SECONDS. The client prints one
 * line: "slots S active_s A count C rate R errors E first_error MSG" (count: connections or
 * bytes; rate per second of its active slots). */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WRITE_BYTES (128 * 1024)
#define BUF_BYTES (256 * 1024)
#define SECONDS_MAX 3600

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ULL),
			       .tv_nsec = (long)(t % 1000000000ULL) };

	while (clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

struct slots {
	uint64_t start, end, slot, n, me;
};

/* Sleeps until one of our slots: its end, or 0 when the run is over. *active_ns gets the time
 * from now to that end (a late start or the end of the run can cut a slot short). */
static uint64_t slot_next(const struct slots *s, uint64_t *n_slots, uint64_t *active_ns)
{
	uint64_t t, k, next;

	for (;;) {
		t = now_ns();
		if (t < s->start) {
			sleep_until(s->start);
			continue;
		}
		if (t >= s->end)
			return 0;
		k = (t - s->start) / s->slot;
		if (k % s->n == s->me) {
			(*n_slots)++;
			next = s->start + (k + 1) * s->slot;
			if (next > s->end)
				next = s->end;
			*active_ns += next - t;
			return next;
		}
		next = s->start + (k + (s->me + s->n - k % s->n) % s->n) * s->slot;
		if (next >= s->end)
			return 0;
		sleep_until(next);
	}
}

static int conn_once(const struct sockaddr_in *sa)
{
	static const struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)))
		rc = errno;
	close(fd);
	return rc;
}

static int stream_open(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), buf = BUF_BYTES;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf)) ||
	    connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int run_client(int stream, const struct sockaddr_in *sa, const struct slots *s)
{
	static char buf[WRITE_BYTES];
	uint64_t count = 0, errs = 0, n_slots = 0, active_ns = 0, until, t;
	int first_err = 0, fd = -1, e;
	double active;

	if (stream) {
		fd = stream_open(sa);
		if (fd < 0) {
			fprintf(stderr, "slotted: connect: %s\n", strerror(errno));
			return 1;
		}
	}
	while ((until = slot_next(s, &n_slots, &active_ns))) {
		/* The clock is read after every operation: a handshake or a 128 KiB write is far
		 * longer than a vDSO clock read. */
		do {
			if (stream) {
				ssize_t w = write(fd, buf, sizeof(buf));

				if (w < 0) {
					first_err = errno;
					errs++;
					goto out;
				}
				count += (uint64_t)w;
			} else if ((e = conn_once(sa))) {
				if (!first_err)
					first_err = e;
				errs++;
			} else {
				count++;
			}
			t = now_ns();
		} while (t < until);
	}
out:
	if (fd >= 0)
		close(fd);
	active = (double)active_ns / 1e9;
	printf("slots %llu active_s %.3f count %llu rate %.0f errors %llu first_error %s\n",
	       (unsigned long long)n_slots, active, (unsigned long long)count,
	       active > 0 ? (double)count / active : 0.0, (unsigned long long)errs,
	       first_err ? strerror(first_err) : "none");
	return count && !errs ? 0 : 1;
}

static void *sink_conn(void *arg)
{
	static char buf[WRITE_BYTES];
	int fd = (int)(intptr_t)arg;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

static int run_sink(const struct sockaddr_in *sa, uint64_t seconds)
{
	int one = 1, buf = BUF_BYTES, lfd, fd;
	pthread_t tid;
	uint64_t end = now_ns() + seconds * 1000000000ULL;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)) ||
	    bind(lfd, (const struct sockaddr *)sa, sizeof(*sa)) || listen(lfd, 64)) {
		perror("slotted: listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	/* Bounded: the process ends at MAX_SECONDS even if whoever started it is gone (the poll
	 * timeout lets the loop look at the clock). */
	while (now_ns() < end) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		if (poll(&p, 1, 1000) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (pthread_create(&tid, NULL, sink_conn, (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		pthread_detach(tid);
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: slotted conn|stream IPV4 PORT SLOT_MS N I START_MS SECONDS\n"
			"       slotted sink IPV4 PORT MAX_SECONDS\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint64_t port, slot_ms, n, i, start_ms, seconds;
	struct slots s;
	int stream;

	if (argc < 5 || inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1 ||
	    parse_u64(argv[3], 1, 65535, &port))
		return usage();
	sa.sin_port = htons((unsigned short)port);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "sink")) {
		if (argc != 5 || parse_u64(argv[4], 1, SECONDS_MAX, &seconds))
			return usage();
		return run_sink(&sa, seconds);
	}
	stream = !strcmp(argv[1], "stream");
	if ((!stream && strcmp(argv[1], "conn")) || argc != 9 ||
	    parse_u64(argv[4], 10, 10000, &slot_ms) || parse_u64(argv[5], 1, 16, &n) ||
	    parse_u64(argv[6], 0, n - 1, &i) ||
	    parse_u64(argv[7], 1, UINT64_MAX / 2000000, &start_ms) ||
	    parse_u64(argv[8], 1, SECONDS_MAX, &seconds))
		return usage();
	s.start = start_ms * 1000000ULL;
	s.end = s.start + seconds * 1000000000ULL;
	s.slot = slot_ms * 1000000ULL;
	s.n = n;
	s.me = i;
	return run_client(stream, &sa, &s);
}
