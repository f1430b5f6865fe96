// SPDX-License-Identifier: Apache-2.0
/* Waiting for the enforcer's ack without stalling the event loop.
 *
 * The enforcer publishes applied_seq and wakes futex waiters on the queue's ack word; it has
 * no fd to ring back (and giving it one would be a second channel to distrust). The event loop
 * must not sleep in a futex: it would stop answering everybody else, cached answers included,
 * for up to CW_ACK_TIMEOUT_MS. So one small thread does the futex wait (shmq_wait_applied) for
 * the oldest parked answer's sequence number and writes an eventfd that sits in the loop's
 * poll set; the loop then releases every parked answer applied_seq covers, and tells the thread
 * the next number to wait for. Timeouts stay with the loop (its poll timeout is the oldest
 * parked answer's deadline): the thread only ever shortens a wait.
 *
 * Rejected alternatives: polling applied_seq on a short timer (adds up to a tick of latency, or
 * burns a core when the tick is short); futex_waitv on the ack word plus a private word (Linux
 * 5.16+, and a syscall many seccomp allowlists lack).
 *
 * The thread touches only the mapped queue header (read-only), its own mutex, condition
 * variable and the eventfd. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../common/log.h"
#include "dnsd.h"

/* The thread re-reads its instructions at least this often while waiting for an ack (a stop
 * request, a newer number): the futex word is the enforcer's, dnsd never writes it to wake
 * its own thread. */
#define ACKW_SLICE_MS 50

static void notify(struct ackw *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the loop is woken already. */
	}
}

static void *ackw_main(void *arg)
{
	struct ackw *w = arg;

	for (;;) {
		uint64_t want;

		pthread_mutex_lock(&w->mu);
		while (!w->stop && !w->want)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		want = w->want;
		pthread_mutex_unlock(&w->mu);

		if (shmq_wait_applied(w->q, want, ACKW_SLICE_MS))
			continue; /* not yet: look at the instructions again */
		pthread_mutex_lock(&w->mu);
		/* Done with this number unless the loop already asked for a newer one. */
		if (w->want == want)
			w->want = 0;
		pthread_mutex_unlock(&w->mu);
		notify(w);
	}
}

int ackw_start(struct ackw *w, struct shmq *q)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->q = q;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0)
		return -errno;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	err = pthread_create(&w->thread, NULL, ackw_main, w);
	if (err) {
		close(w->efd);
		w->efd = -1;
		return -err;
	}
	w->started = true;
	return 0;
}

void ackw_want(struct ackw *w, uint64_t seq)
{
	if (!w->started || w->want_set == seq)
		return;
	w->want_set = seq;
	pthread_mutex_lock(&w->mu);
	w->want = seq;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void ackw_drain(struct ackw *w)
{
	uint64_t v;

	if (read(w->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing to drain */
	}
	/* The thread cleared want after notifying; make the next ackw_want() reach it even when
	 * the loop asks for the same number again. */
	w->want_set = 0;
}

void ackw_stop(struct ackw *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL); /* within ACKW_SLICE_MS */
	w->started = false;
	close(w->efd);
	w->efd = -1;
}
