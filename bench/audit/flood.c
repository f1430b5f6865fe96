// SPDX-License-Identifier: Apache-2.0
/* Connection events at a fixed rate, for bench/audit/run.sh (built there with cc, no library).
 *
 *   flood tcp|udp ADDR PORT0 NPORTS RATE COUNT
 *       COUNT connect()s to ADDR on ports PORT0 .. PORT0 + NPORTS - 1 in turn (distinct
 *       destinations, so the kernel's burst dedupe does not fold them), RATE per second
 *       (paced every millisecond; 0 = as fast as possible). tcp: a denied connect fails with
 *       EPERM at once; udp: connect() sends nothing, so an allowed one costs no packet either.
 *       Prints one line: "sent N eperm E ok K other O seconds S rate R".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || s[0] == '-' || *out > max ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	unsigned long port0, nports, rate, count, i, eperm = 0, ok = 0, other = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	double t0, t;
	int udp, fd;

	if (argc != 7 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp")) ||
	    inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1 || parse_ulong(argv[3], 65535, &port0) ||
	    parse_ulong(argv[4], 65535, &nports) || !nports || port0 + nports > 65536 ||
	    parse_ulong(argv[5], 10000000, &rate) || parse_ulong(argv[6], 100000000, &count)) {
		fprintf(stderr, "usage: flood tcp|udp ADDR PORT0 NPORTS RATE COUNT\n");
		return 2;
	}
	udp = !strcmp(argv[1], "udp");
	/* One socket for every connect() while it can be reused (a UDP socket reconnects; a TCP
	 * connect refused by the hook leaves it unconnected): the events cost the hook, not
	 * socket()/close(). */
	fd = -1;
	t0 = now_s();
	for (i = 0; i < count; i++) {
		/* pacing: never ahead of i / rate */
		while (rate && (t = now_s() - t0) < (double)i / (double)rate) {
			struct timespec ts = { 0, 1000000 };

			if ((double)i / (double)rate - t > 0.001)
				nanosleep(&ts, NULL);
		}
		if (fd < 0) {
			fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
			if (fd < 0) {
				perror("socket");
				return 1;
			}
		}
		sa.sin_port = htons((unsigned short)(port0 + i % nports));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			ok++;
			if (!udp) { /* a connected TCP socket cannot connect again */
				close(fd);
				fd = -1;
			}
		} else if (errno == EPERM) {
			eperm++; /* refused by the hook before anything changed: reusable */
		} else {
			other++;
			close(fd);
			fd = -1;
		}
	}
	t = now_s() - t0;
	printf("sent %lu eperm %lu ok %lu other %lu seconds %.3f rate %.0f\n", count, eperm, ok,
	       other, t, (double)count / t);
	return 0;
}
