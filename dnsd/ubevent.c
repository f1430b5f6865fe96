// SPDX-License-Identifier: Apache-2.0
/* libunbound's pluggable event base (unbound-event.h), run by dnsd's own event loop: libunbound
 * resolves in dnsd's thread, its sockets in an epoll set whose fd sits in the loop's poll set,
 * its timers in a heap whose earliest deadline bounds the loop's poll timeout.
 *
 * Why not ub_resolve_async with ub_fd (the usual way, and the first one dnsd used): libunbound
 * then runs a worker thread and talks to it over two pipes, and each query crossed them twice
 * (about ten fcntl, six write and five read calls, and two thread switches per query on top of
 * the resolution's own socket calls). Measured with bench/dns on two CPUs: ~40 syscalls and
 * ~144 µs of dnsd CPU per uncached query, 62% of it in the kernel, mostly switching between the
 * two threads. Here a query costs the resolution's own calls (a socket, its send and receive,
 * two epoll_ctl) and nothing else; the figures are in resolve.c.
 *
 * Semantics follow libevent's, which libunbound is written against: an event fires once unless
 * UB_EV_PERSIST; a persistent event's timeout starts again after each firing; the bits and fd
 * are changed only while the event is not added. Events freed by a callback while a batch is
 * being dispatched are freed after the batch, so that later entries of the batch never point to
 * freed memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <unistd.h>

#include <unbound-event.h>

#include "../common/log.h"
#include "dnsd.h"

/* epoll events read per dispatch; level-triggered, so what is left comes back next pass. */
#define UBE_BATCH 64
/* Timers fired per dispatch: a callback re-arming a zero timeout cannot spin the loop. */
#define UBE_TIMERS_MAX 1024

struct ube;

struct ube_base {
	struct ub_event_base base; /* first: libunbound holds a pointer to it */
	int epfd;
	struct ube **heap; /* timers, earliest first */
	size_t n_heap, cap_heap;
	struct ube **owner; /* owner[fd]: the event registered in epoll for fd, or NULL */
	size_t n_owner;
	struct ube *dead; /* freed during a dispatch, freed after it */
	bool dispatching;
};

struct ube {
	struct ub_event ev; /* first: libunbound holds a pointer to it */
	struct ube_base *b;
	int fd;
	short bits;
	void (*cb)(int, short, void *);
	void *arg;
	bool added;
	int ep_fd;	   /* the fd registered in epoll, -1 when none */
	uint32_t ep_mask;  /* its EPOLLIN/EPOLLOUT */
	size_t hidx;	   /* position in the heap, SIZE_MAX when no timer runs */
	int64_t deadline;  /* CLOCK_MONOTONIC ns */
	int64_t period_ns; /* a persistent event's timeout, 0 when none */
	bool dead;
	struct ube *next_dead;
};

static struct ube_base g_base;

/* ---- timers: a binary min-heap on deadline ------------------------------------------------- */

static void heap_swap(struct ube_base *b, size_t i, size_t j)
{
	struct ube *t = b->heap[i];

	b->heap[i] = b->heap[j];
	b->heap[j] = t;
	b->heap[i]->hidx = i;
	b->heap[j]->hidx = j;
}

static void heap_up(struct ube_base *b, size_t i)
{
	while (i > 0 && b->heap[(i - 1) / 2]->deadline > b->heap[i]->deadline) {
		heap_swap(b, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct ube_base *b, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < b->n_heap && b->heap[l]->deadline < b->heap[m]->deadline)
			m = l;
		if (r < b->n_heap && b->heap[r]->deadline < b->heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(b, i, m);
		i = m;
	}
}

static void timer_clear(struct ube *e)
{
	struct ube_base *b = e->b;
	size_t i = e->hidx;

	if (i == SIZE_MAX)
		return;
	e->hidx = SIZE_MAX;
	b->n_heap--;
	if (i == b->n_heap)
		return;
	b->heap[i] = b->heap[b->n_heap];
	b->heap[i]->hidx = i;
	heap_up(b, i);
	heap_down(b, b->heap[i]->hidx);
}

static int timer_set(struct ube *e, int64_t delay_ns)
{
	struct ube_base *b = e->b;

	timer_clear(e);
	if (b->n_heap == b->cap_heap) {
		size_t cap = b->cap_heap ? 2 * b->cap_heap : 256;
		struct ube **h = realloc(b->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		b->heap = h;
		b->cap_heap = cap;
	}
	e->deadline = dnsd_now_ns() + delay_ns;
	e->hidx = b->n_heap;
	b->heap[b->n_heap++] = e;
	heap_up(b, e->hidx);
	return 0;
}

static int64_t tv_ns(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000000LL + (int64_t)tv->tv_usec * 1000LL;
}

/* ---- fds ------------------------------------------------------------------------------------ */

static int owner_grow(struct ube_base *b, int fd)
{
	size_t n = b->n_owner ? b->n_owner : 256;
	struct ube **o;

	while (n <= (size_t)fd)
		n *= 2;
	o = realloc(b->owner, n * sizeof(*o));
	if (!o)
		return -ENOMEM;
	memset(o + b->n_owner, 0, (n - b->n_owner) * sizeof(*o));
	b->owner = o;
	b->n_owner = n;
	return 0;
}

static void ep_clear(struct ube *e)
{
	struct ube_base *b = e->b;

	if (e->ep_fd < 0)
		return;
	/* Only our own registration: the fd may have been closed and reused by another event. */
	if ((size_t)e->ep_fd < b->n_owner && b->owner[e->ep_fd] == e) {
		b->owner[e->ep_fd] = NULL;
		if (epoll_ctl(b->epfd, EPOLL_CTL_DEL, e->ep_fd, NULL) < 0 && errno != ENOENT &&
		    errno != EBADF)
			log_warn("libunbound events: epoll_ctl DEL fd %d", e->ep_fd);
	}
	e->ep_fd = -1;
	e->ep_mask = 0;
}

static int ep_set(struct ube *e)
{
	struct ube_base *b = e->b;
	uint32_t mask =
		(e->bits & UB_EV_READ ? EPOLLIN : 0) | (e->bits & UB_EV_WRITE ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = mask, .data.ptr = e };
	struct ube *prev;
	int op = EPOLL_CTL_ADD;

	if (e->ep_fd >= 0 && e->ep_fd != e->fd)
		ep_clear(e);
	if (e->fd < 0 || !mask) {
		ep_clear(e);
		return 0;
	}
	if ((size_t)e->fd >= b->n_owner && owner_grow(b, e->fd))
		return -ENOMEM;
	prev = b->owner[e->fd];
	if (prev == e && e->ep_mask == mask)
		return 0;
	if (prev) {
		/* Ours already (other bits), or a stale one of a closed fd reused since. */
		if (prev != e) {
			prev->ep_fd = -1;
			prev->ep_mask = 0;
		}
		op = EPOLL_CTL_MOD;
	}
	if (epoll_ctl(b->epfd, op, e->fd, &ev) < 0) {
		/* The kernel forgot a closed fd on its own: add it anew. */
		if (op == EPOLL_CTL_MOD && errno == ENOENT)
			op = EPOLL_CTL_ADD;
		else if (op == EPOLL_CTL_ADD && errno == EEXIST)
			op = EPOLL_CTL_MOD;
		else
			op = -1;
		if (op < 0 || epoll_ctl(b->epfd, op, e->fd, &ev) < 0) {
			log_warn("libunbound events: epoll_ctl fd %d", e->fd);
			b->owner[e->fd] = NULL;
			return -errno;
		}
	}
	b->owner[e->fd] = e;
	e->ep_fd = e->fd;
	e->ep_mask = mask;
	return 0;
}

/* ---- the ub_event methods --------------------------------------------------------------------- */

static struct ube *E(struct ub_event *ev)
{
	return (struct ube *)ev;
}

static void ube_add_bits(struct ub_event *ev, short bits)
{
	E(ev)->bits |= bits;
}

static void ube_del_bits(struct ub_event *ev, short bits)
{
	E(ev)->bits &= (short)~bits;
}

static void ube_set_fd(struct ub_event *ev, int fd)
{
	E(ev)->fd = fd;
}

static int ube_del(struct ub_event *ev)
{
	struct ube *e = E(ev);

	e->added = false;
	ep_clear(e);
	timer_clear(e);
	return 0;
}

static void ube_free(struct ub_event *ev)
{
	struct ube *e = E(ev);

	if (!e)
		return;
	ube_del(ev);
	if (e->b->dispatching) {
		e->dead = true;
		e->next_dead = e->b->dead;
		e->b->dead = e;
		return;
	}
	free(e);
}

static int ube_add(struct ub_event *ev, struct timeval *tv)
{
	struct ube *e = E(ev);

	e->added = true;
	e->period_ns = 0;
	if (ep_set(e))
		goto fail;
	if (tv) {
		e->period_ns = tv_ns(tv);
		if (timer_set(e, e->period_ns))
			goto fail;
	} else {
		timer_clear(e);
	}
	return 0;
fail:
	ube_del(ev);
	return -1;
}

static int ube_add_timer(struct ub_event *ev, struct ub_event_base *base,
			 void (*cb)(int, short, void *), void *arg, struct timeval *tv)
{
	struct ube *e = E(ev);

	(void)base;
	e->cb = cb;
	e->arg = arg;
	e->added = true;
	e->period_ns = 0;
	if (!tv || timer_set(e, tv_ns(tv))) {
		e->added = false;
		return -1;
	}
	return 0;
}

static int ube_del_timer(struct ub_event *ev)
{
	return ube_del(ev);
}

static int ube_signal_unused(struct ub_event *ev, struct timeval *tv)
{
	(void)ev;
	(void)tv;
	return -1;
}

static int ube_del_signal_unused(struct ub_event *ev)
{
	(void)ev;
	return -1;
}

static void ube_wsa_unused(struct ub_event *ev)
{
	(void)ev;
}

static void ube_wsa_block_unused(struct ub_event *ev, int bits)
{
	(void)ev;
	(void)bits;
}

static struct ub_event_vmt ube_vmt = {
	.add_bits = ube_add_bits,
	.del_bits = ube_del_bits,
	.set_fd = ube_set_fd,
	.free = ube_free,
	.add = ube_add,
	.del = ube_del,
	.add_timer = ube_add_timer,
	.del_timer = ube_del_timer,
	.add_signal = ube_signal_unused,
	.del_signal = ube_del_signal_unused,
	.winsock_unregister_wsaevent = ube_wsa_unused,
	.winsock_tcp_wouldblock = ube_wsa_block_unused,
};

/* ---- the ub_event_base methods ---------------------------------------------------------------- */

static void ubb_free(struct ub_event_base *base)
{
	(void)base; /* not called by libunbound; ubevent_free() */
}

static int ubb_dispatch(struct ub_event_base *base)
{
	(void)base; /* not called with ub_resolve_event: dnsd's loop dispatches */
	return -1;
}

static int ubb_loopexit(struct ub_event_base *base, struct timeval *tv)
{
	(void)base;
	(void)tv;
	return 0;
}

static struct ub_event *ubb_new_event(struct ub_event_base *base, int fd, short bits,
				      void (*cb)(int, short, void *), void *arg)
{
	struct ube *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->ev.magic = UB_EVENT_MAGIC;
	e->ev.vmt = &ube_vmt;
	e->b = (struct ube_base *)base;
	e->fd = fd;
	e->bits = bits;
	e->cb = cb;
	e->arg = arg;
	e->ep_fd = -1;
	e->hidx = SIZE_MAX;
	return &e->ev;
}

static struct ub_event *ubb_new_signal(struct ub_event_base *base, int fd,
				       void (*cb)(int, short, void *), void *arg)
{
	(void)base;
	(void)fd;
	(void)cb;
	(void)arg;
	return NULL; /* libunbound handles no signals in a library context */
}

static struct ub_event *ubb_wsa_unused(struct ub_event_base *base, void *wsaevent,
				       void (*cb)(int, short, void *), void *arg)
{
	(void)base;
	(void)wsaevent;
	(void)cb;
	(void)arg;
	return NULL;
}

static struct ub_event_base_vmt ubb_vmt = {
	.free = ubb_free,
	.dispatch = ubb_dispatch,
	.loopexit = ubb_loopexit,
	.new_event = ubb_new_event,
	.new_signal = ubb_new_signal,
	.winsock_register_wsaevent = ubb_wsa_unused,
};

/* ---- dnsd's side ------------------------------------------------------------------------------ */

struct ub_event_base *ubevent_base(void)
{
	struct ube_base *b = &g_base;

	if (b->base.vmt)
		return &b->base;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0) {
		log_warn("epoll_create1");
		return NULL;
	}
	b->base.magic = UB_EVENT_MAGIC;
	b->base.vmt = &ubb_vmt;
	return &b->base;
}

int ubevent_fd(void)
{
	return g_base.base.vmt ? g_base.epfd : -1;
}

int64_t ubevent_next_timer(void)
{
	return g_base.n_heap ? g_base.heap[0]->deadline : 0;
}

/* Fire e for `what`, libevent's way: a one-shot event is no longer added when its callback
 * runs; a persistent one with a timeout starts its timeout again. */
static void fire(struct ube *e, short what)
{
	if (!(e->bits & UB_EV_PERSIST))
		ube_del(&e->ev);
	else if (e->period_ns && timer_set(e, e->period_ns))
		timer_clear(e);
	if (e->cb)
		e->cb(e->fd, what, e->arg);
}

void ubevent_dispatch(bool fds, void (*tick)(void *), void *arg)
{
	struct ube_base *b = &g_base;
	struct epoll_event evs[UBE_BATCH];
	unsigned int fired = 0;
	int n = 0, i;
	int64_t now;

	if (!b->base.vmt)
		return;
	b->dispatching = true;
	if (fds) {
		n = epoll_wait(b->epfd, evs, UBE_BATCH, 0);
		if (n < 0 && errno != EINTR)
			log_warn("libunbound events: epoll_wait");
	}
	for (i = 0; i < n; i++) {
		struct ube *e = evs[i].data.ptr;
		uint32_t r = evs[i].events;
		short what = 0;

		/* Freed, deleted or moved to another fd by an earlier callback of this batch. */
		if (e->dead || !e->added || e->ep_fd < 0)
			continue;
		if ((r & (EPOLLIN | EPOLLERR | EPOLLHUP)) && (e->bits & UB_EV_READ))
			what |= UB_EV_READ;
		if ((r & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && (e->bits & UB_EV_WRITE))
			what |= UB_EV_WRITE;
		if (!what)
			continue;
		fire(e, what);
		/* Answers park while the batch goes on: release the acknowledged ones after each
		 * callback (one shared-memory load when there are none), not after the batch. */
		if (tick)
			tick(arg);
	}
	now = dnsd_now_ns();
	while (b->n_heap && b->heap[0]->deadline <= now && fired++ < UBE_TIMERS_MAX) {
		struct ube *e = b->heap[0];

		timer_clear(e);
		fire(e, UB_EV_TIMEOUT);
	}
	b->dispatching = false;
	while (b->dead) {
		struct ube *e = b->dead;

		b->dead = e->next_dead;
		free(e);
	}
}

void ubevent_free(void)
{
	struct ube_base *b = &g_base;

	if (!b->base.vmt)
		return;
	close(b->epfd);
	free(b->heap);
	free(b->owner);
	memset(b, 0, sizeof(*b));
}
