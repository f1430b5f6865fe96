// SPDX-License-Identifier: Apache-2.0
/* New TCP connections per second, for bench/datapath/run.sh (built there with cc, no library).
 *
 *   connrate server ADDR PORT THREADS MAX_SECONDS
 *       listens on ADDR:PORT, THREADS threads accept and close; exits after MAX_SECONDS (a bound
 *       in case whoever started it dies).
 *   connrate client ADDR PORT THREADS SECONDS
 *       THREADS threads each connect and close in a loop for SECONDS; prints one line:
 *       "connections N errors E seconds S rate R first_error MSG".
 *
 * The client closes with SO_LINGER {1, 0}: an RST instead of a FIN, so that neither side keeps
 * a TIME_WAIT socket and the ephemeral ports never run out; each connection is still a full
 * three-way handshake (connect() returns once the SYN-ACK arrived), which is what a filter on
 * the path judges. Python's socket loop was too slow to measure this (see bench/README.md). */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define THREADS_MAX 64
#define SECONDS_MAX 3600

struct job {
	struct sockaddr_in sa;
	double deadline;
	unsigned long n_ok;
	unsigned long n_err;
	int first_errno;
	int listen_fd;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static void *client_loop(void *arg)
{
	struct job *j = arg;
	const struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	unsigned int i = 0;

	/* The clock is read every 64 connections: cheap next to a handshake, and the run still
	 * ends within a few milliseconds of the deadline. */
	while ((i++ & 63) || now_s() < j->deadline) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			if (!j->first_errno)
				j->first_errno = errno;
			j->n_err++;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (connect(fd, (const struct sockaddr *)&j->sa, sizeof(j->sa)) == 0) {
			j->n_ok++;
		} else {
			if (!j->first_errno)
				j->first_errno = errno;
			j->n_err++;
		}
		close(fd);
	}
	return NULL;
}

static void *server_loop(void *arg)
{
	const struct job *j = arg;

	for (;;) {
		int fd = accept4(j->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			close(fd);
		else if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
			usleep(1000); /* EMFILE and the like: do not spin */
	}
	return NULL;
}

static int run_client(struct job *jobs, unsigned long nthreads, unsigned long seconds)
{
	pthread_t tid[THREADS_MAX];
	unsigned long i, ok = 0, err = 0;
	int first_errno = 0;
	double t0, t1;

	t0 = now_s();
	for (i = 0; i < nthreads; i++) {
		jobs[i].deadline = t0 + (double)seconds;
		if (pthread_create(&tid[i], NULL, client_loop, &jobs[i])) {
			fprintf(stderr, "connrate: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		ok += jobs[i].n_ok;
		err += jobs[i].n_err;
		if (!first_errno)
			first_errno = jobs[i].first_errno;
	}
	t1 = now_s();
	printf("connections %lu errors %lu seconds %.3f rate %.0f first_error %s\n", ok, err,
	       t1 - t0, (double)ok / (t1 - t0), first_errno ? strerror(first_errno) : "none");
	return ok ? 0 : 1;
}

static int run_server(struct job *jobs, unsigned long nthreads, unsigned long seconds)
{
	pthread_t tid;
	unsigned long i;
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)&jobs[0].sa, sizeof(jobs[0].sa)) ||
	    listen(fd, 4096)) {
		perror("connrate: listen");
		return 1;
	}
	for (i = 0; i < nthreads; i++) {
		jobs[i].listen_fd = fd;
		if (pthread_create(&tid, NULL, server_loop, &jobs[i])) {
			fprintf(stderr, "connrate: pthread_create failed\n");
			return 1;
		}
	}
	printf("listening\n");
	fflush(stdout);
	/* The threads never return: the process ends here, at the bound, or by a signal. */
	sleep((unsigned int)seconds);
	return 0;
}

int main(int argc, char **argv)
{
	static struct job jobs[THREADS_MAX];
	unsigned long port, nthreads, seconds, i;
	struct sockaddr_in sa = { .sin_family = AF_INET };

	if (argc != 6 || (strcmp(argv[1], "client") && strcmp(argv[1], "server")) ||
	    inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1 ||
	    parse_ulong(argv[3], 1, 65535, &port) ||
	    parse_ulong(argv[4], 1, THREADS_MAX, &nthreads) ||
	    parse_ulong(argv[5], 1, SECONDS_MAX, &seconds)) {
		fprintf(stderr,
			"usage: connrate client|server IPV4 PORT THREADS(1-%d) SECONDS(1-%d)\n",
			THREADS_MAX, SECONDS_MAX);
		return 2;
	}
	sa.sin_port = htons((unsigned short)port);
	for (i = 0; i < nthreads; i++)
		jobs[i].sa = sa;
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "client"))
		return run_client(jobs, nthreads, seconds);
	return run_server(jobs, nthreads, seconds);
}
