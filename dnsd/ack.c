// SPDX-License-Identifier: Apache-2.0
/* Waiting for the enforcer's ack without stalling the event loop.
 *
 * dnsd tells the enforcer which sequence number it waits for (the oldest parked answer's) in the
 * dnsq header (shmq_want_applied); the enforcer, once applied_seq reaches it, writes one byte to
 * a pipe whose read end sits in the event loop's poll set (child.h: CW_DNSD_FD_ACK_BELL). The loop
 * then releases every parked answer applied_seq covers and asks for its new oldest one. Timeouts
 * stay with the loop (its poll timeout is the oldest parked answer's deadline).
 *
 * Why: before, a thread of dnsd slept in a futex on applied_seq and wrote an eventfd to the loop,
 * three wake-ups from the answer to its release (dnsd -> enforcer -> ack thread -> loop) where
 * this has two; on two loaded CPUs each wake-up is a scheduling delay, and the bench's
 * answer-to-ack p99 was milliseconds. The wish in the header lets the enforcer skip the write
 * (and the futex wake) when nobody waits, and write once per value dnsd asks for: dnsd releases
 * everything applied by the time it runs, so one write covers a whole burst.
 *
 * The pipe and not an eventfd: dnsd holds only the read end, so it cannot make the enforcer's
 * write end blocking (O_NONBLOCK belongs to the open file, and an eventfd is one open file
 * shared by every holder); a dnsd that does not read only fills the pipe, and the enforcer's
 * writes then fail with EAGAIN. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "dnsd.h"

int ackw_init(struct ackw *w, struct shmq *q, int fd)
{
	struct stat st;
	int flags;

	memset(w, 0, sizeof(*w));
	w->q = q;
	w->fd = -1;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		log_warnx("ack pipe fd %d is not a pipe", fd);
		return -EBADF;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (flags & O_ACCMODE) != O_RDONLY ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		log_warnx("ack pipe fd %d is not a pipe's read end", fd);
		return -EBADF;
	}
	w->fd = fd;
	/* Nothing parked yet: whatever a previous dnsd asked for is void. */
	shmq_want_applied(q, 0);
	return 0;
}

void ackw_want(struct ackw *w, uint64_t seq)
{
	if (w->want_set == seq)
		return;
	w->want_set = seq;
	shmq_want_applied(w->q, seq);
}

void ackw_drain(struct ackw *w)
{
	char buf[256];

	/* One read: bytes left over keep the fd readable, and the next pass reads them. */
	if (read(w->fd, buf, sizeof(buf)) < 0) {
		/* EAGAIN: nothing to drain */
	}
}
