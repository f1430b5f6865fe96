// SPDX-License-Identifier: Apache-2.0
/* Single-producer single-consumer queue in a memfd (layout and roles: proto/shmq.h).
 *
 * Ordering: the producer fills a slot, then cmm_smp_wmb(), then stores head; the consumer loads
 * head, cmm_smp_rmb(), copies the slot out, then cmm_smp_mb() before storing tail so the slot is
 * not reused while being copied. applied_seq is stored before ack_futex is bumped, and waiters
 * re-check applied_seq after each wake-up, so a wake-up is never lost.
 *
 * Wake-ups only for a waiter: the producer stores ack_want, full barrier, then reads applied_seq;
 * the consumer stores applied_seq, full barrier, then reads ack_want. Either the producer sees
 * its number applied, or the consumer sees the wish and wakes it (store-buffer litmus: both
 * barriers are needed). A consumer with no waiter to wake pays no syscall per publish. */
#include "shmq.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <urcu/arch.h>
#include <urcu/system.h>
#include <urcu/uatomic.h>

static size_t shmq_len(uint32_t capacity, uint32_t slot_size)
{
	return CW_SHMQ_HDR_SIZE + (size_t)capacity * slot_size;
}

static int shmq_geometry_ok(uint32_t capacity, uint32_t slot_size)
{
	if (capacity == 0 || (capacity & (capacity - 1)) || capacity > (1U << 20))
		return 0;
	if (slot_size == 0 || slot_size % 8 || slot_size > 65536)
		return 0;
	return 1;
}

int shmq_create(const char *name, uint32_t capacity, uint32_t slot_size, int *memfd_out)
{
	struct cw_shmq_hdr *hdr;
	size_t len;
	int fd, err;

	if (!shmq_geometry_ok(capacity, slot_size))
		return -EINVAL;
	len = shmq_len(capacity, slot_size);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0) {
		err = -errno;
		goto out_close;
	}
	/* The size can never change again: a peer cannot shrink the file under the other's map. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		err = -errno;
		goto out_close;
	}
	hdr = mmap(NULL, CW_SHMQ_HDR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (hdr == MAP_FAILED) {
		err = -errno;
		goto out_close;
	}
	hdr->magic = CW_SHMQ_MAGIC;
	hdr->version = CW_SHMQ_VERSION;
	hdr->slot_size = slot_size;
	hdr->capacity = capacity;
	munmap(hdr, CW_SHMQ_HDR_SIZE);
	*memfd_out = fd;
	return 0;
out_close:
	close(fd);
	return err;
}

int shmq_attach(struct shmq *q, int memfd, int efd, uint32_t capacity, uint32_t slot_size)
{
	struct stat st;
	void *map;
	size_t len;
	int err;

	memset(q, 0, sizeof(*q));
	q->memfd = -1;
	q->efd = -1;
	if (!shmq_geometry_ok(capacity, slot_size))
		return -EINVAL;
	len = shmq_len(capacity, slot_size);
	if (fstat(memfd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size != len)
		return -EBADMSG;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (map == MAP_FAILED)
		return -errno;
	q->hdr = map;
	if (CMM_LOAD_SHARED(q->hdr->magic) != CW_SHMQ_MAGIC ||
	    CMM_LOAD_SHARED(q->hdr->version) != CW_SHMQ_VERSION ||
	    CMM_LOAD_SHARED(q->hdr->capacity) != capacity ||
	    CMM_LOAD_SHARED(q->hdr->slot_size) != slot_size) {
		err = -EBADMSG;
		goto out_unmap;
	}
	q->slots = (uint8_t *)map + CW_SHMQ_HDR_SIZE;
	q->map_len = len;
	q->capacity = capacity;
	q->slot_size = slot_size;
	q->memfd = memfd;
	q->efd = efd;
	q->local_head = CMM_LOAD_SHARED(q->hdr->head);
	q->local_tail = CMM_LOAD_SHARED(q->hdr->tail);
	return 0;
out_unmap:
	munmap(map, len);
	q->hdr = NULL;
	return err;
}

void shmq_detach(struct shmq *q)
{
	if (q->hdr)
		munmap(q->hdr, q->map_len);
	q->hdr = NULL;
	q->slots = NULL;
}

int shmq_push(struct shmq *q, const void *entry, size_t len, uint64_t *seq)
{
	uint64_t head = q->local_head;
	uint64_t tail = CMM_LOAD_SHARED(q->hdr->tail);
	uint8_t *slot;

	if (len > q->slot_size)
		return -EMSGSIZE;
	/* A consumer that moved tail past head or far behind is broken: refuse rather than
	 * overwrite what it has not read. */
	if (head - tail >= q->capacity) {
		uatomic_add(&q->hdr->dropped_full, 1);
		return -ENOSPC;
	}
	cmm_smp_mb(); /* read tail before reusing the slot */
	slot = q->slots + (size_t)(head & (q->capacity - 1)) * q->slot_size;
	memcpy(slot, entry, len);
	if (len < q->slot_size)
		memset(slot + len, 0, q->slot_size - len);
	cmm_smp_wmb(); /* slot contents before head */
	q->local_head = head + 1;
	CMM_STORE_SHARED(q->hdr->head, head + 1);
	if (seq)
		*seq = head + 1;
	return 0;
}

/* Both sides hold the same eventfd file description, so one of them could clear O_NONBLOCK
 * under the other. Reads use RWF_NOWAIT, which stays non-blocking whatever the shared flags say.
 * eventfd has no write_iter, so pwritev2 cannot carry RWF_NOWAIT: a write blocks only when the
 * counter would pass its maximum, so check POLLOUT first (a peer racing to fill the counter
 * between the two calls is the one case left, and it can only stall its own doorbell). */
void shmq_ring(struct shmq *q)
{
	struct pollfd pfd = { .fd = q->efd, .events = POLLOUT };
	uint64_t one = 1;

	if (q->efd < 0 || poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT))
		return;
	if (write(q->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: counter saturated, the consumer is already woken. */
	}
}

static long futex_wait(uint32_t *addr, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, FUTEX_WAIT, val, ts, NULL, 0);
}

static long futex_wake(uint32_t *addr)
{
	return syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void shmq_want_applied(struct shmq *q, uint64_t seq)
{
	CMM_STORE_SHARED(q->hdr->ack_want, seq);
	cmm_smp_mb(); /* the wish before the caller reads applied_seq again */
}

int shmq_wait_applied(struct shmq *q, uint64_t seq, int timeout_ms)
{
	int64_t deadline = mono_ns() + (int64_t)timeout_ms * 1000000LL;

	for (;;) {
		uint32_t gen = CMM_LOAD_SHARED(q->hdr->ack_futex);
		struct timespec ts;
		int64_t left;

		/* Again each round: the consumer wakes once per value, and may have woken for
		 * this one before gen was read. */
		shmq_want_applied(q, seq);
		if (CMM_LOAD_SHARED(q->hdr->applied_seq) >= seq)
			return 0;
		left = deadline - mono_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		ts.tv_sec = left / 1000000000LL;
		ts.tv_nsec = left % 1000000000LL;
		/* EAGAIN (gen moved), EINTR and ETIMEDOUT all lead back to the check above. */
		futex_wait(&q->hdr->ack_futex, gen, &ts);
	}
}

uint64_t shmq_applied(const struct shmq *q)
{
	uint64_t v = CMM_LOAD_SHARED(q->hdr->applied_seq);

	cmm_smp_rmb();
	return v;
}

int shmq_pop(struct shmq *q, void *buf)
{
	int n = shmq_peek(q, buf);

	if (n == 1)
		shmq_consume(q);
	return n;
}

int shmq_peek(struct shmq *q, void *buf)
{
	uint64_t head = CMM_LOAD_SHARED(q->hdr->head);
	uint64_t tail = q->local_tail;

	if (head == tail)
		return 0;
	if (head - tail > q->capacity) {
		/* hostile, as in shmq_pop: skip to its head */
		q->hostile++;
		uatomic_add(&q->hdr->rejected, 1);
		q->local_tail = head;
		CMM_STORE_SHARED(q->hdr->tail, head);
		return 0;
	}
	cmm_smp_rmb(); /* head before slot contents */
	memcpy(buf, q->slots + (size_t)(tail & (q->capacity - 1)) * q->slot_size, q->slot_size);
	return 1;
}

void shmq_consume(struct shmq *q)
{
	cmm_smp_mb(); /* finish copying before the producer may reuse the slot */
	q->local_tail++;
	CMM_STORE_SHARED(q->hdr->tail, q->local_tail);
}

int shmq_publish_applied(struct shmq *q)
{
	uint64_t want;

	cmm_smp_wmb();
	CMM_STORE_SHARED(q->hdr->applied_seq, q->local_tail);
	cmm_smp_wmb();
	uatomic_add(&q->hdr->ack_futex, 1);
	cmm_smp_mb(); /* applied_seq before reading the producer's wish */
	want = CMM_LOAD_SHARED(q->hdr->ack_want);
	if (!want || want > q->local_tail || want == q->woken_want)
		return 0;
	q->woken_want = want;
	futex_wake(&q->hdr->ack_futex);
	return 1;
}

void shmq_count_rejected(struct shmq *q)
{
	uatomic_add(&q->hdr->rejected, 1);
}

void shmq_clear_doorbell(struct shmq *q)
{
	uint64_t v;
	struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };

	if (q->efd >= 0 && preadv2(q->efd, &iov, 1, -1, RWF_NOWAIT) < 0) {
		/* EAGAIN: nothing pending. */
	}
}
