/* SPDX-License-Identifier: Apache-2.0 */
/* Single-producer single-consumer queue in shared memory (layout: proto/shmq.h). */
#ifndef CW_COMMON_SHMQ_H
#define CW_COMMON_SHMQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/shmq.h"

struct shmq {
	struct cw_shmq_hdr *hdr;
	uint8_t *slots;
	size_t map_len;
	/* geometry this side was configured with: never re-read from the shared header */
	uint32_t capacity;
	uint32_t slot_size;
	int memfd;
	int efd;	     /* doorbell eventfd, -1 if none */
	uint64_t local_tail; /* consumer: private copy of tail */
	uint64_t local_head; /* producer: private copy of head */
	uint64_t hostile;    /* consumer: times the producer's head was out of range */
	uint64_t woken_want; /* consumer: the last ack_want it woke the producer for */
};

/* Launcher: create the memfd and initialise the header. */
int shmq_create(const char *name, uint32_t capacity, uint32_t slot_size, int *memfd_out);
/* Map an existing queue, checking magic, version, geometry and the file size. */
int shmq_attach(struct shmq *q, int memfd, int efd, uint32_t capacity, uint32_t slot_size);
void shmq_detach(struct shmq *q);

/* Producer: copy an entry in (len <= slot_size, rest zeroed). Returns 0 and the entry's sequence
 * number (head after the push), or -ENOSPC when full (counted in dropped_full). */
int shmq_push(struct shmq *q, const void *entry, size_t len, uint64_t *seq);
/* Producer: ring the doorbell (one eventfd write for any number of pushes). */
void shmq_ring(struct shmq *q);
/* Producer: tell the consumer which sequence number it waits for (0: none), so that the consumer
 * wakes it only then (shmq_publish_applied). Ordered (full barrier) before the caller's next
 * shmq_applied(): check applied_seq again after it, or a wake-up may be missed. */
void shmq_want_applied(struct shmq *q, uint64_t seq);
/* Producer: wait until applied_seq >= seq or timeout. 0, or -ETIMEDOUT. */
int shmq_wait_applied(struct shmq *q, uint64_t seq, int timeout_ms);
/* Producer: the consumer's applied_seq now, without waiting (an event loop checks it and parks
 * answers whose entries are not applied yet). Ordered before later reads of the queue. */
uint64_t shmq_applied(const struct shmq *q);

/* Consumer: copy the next entry out into buf (slot_size bytes). 1 = got one, 0 = empty.
 * A producer head that runs more than `capacity` ahead is hostile: counted, and the consumer
 * skips to it (entries in between are lost, never read half-written). */
int shmq_pop(struct shmq *q, void *buf);
/* Consumer: like shmq_pop, but the entry stays queued until shmq_consume(): a consumer that
 * dies in between (auditd killed before the entry's line was written) leaves it for the next
 * one. 1 = got one, 0 = empty (a hostile head is skipped as in shmq_pop). */
int shmq_peek(struct shmq *q, void *buf);
/* Consumer: drop the entry shmq_peek() returned. */
void shmq_consume(struct shmq *q);
/* Consumer: everything popped so far is applied; publish it. When that reaches the producer's
 * ack_want (a value not woken for before), wake futex waiters and return 1: the caller wakes the
 * producer by its other means too (the enforcer's ack pipe). Otherwise no syscall, 0. */
int shmq_publish_applied(struct shmq *q);
/* Consumer: count an entry refused after validation. */
void shmq_count_rejected(struct shmq *q);
/* Consumer: drain the doorbell eventfd (non-blocking). */
void shmq_clear_doorbell(struct shmq *q);

#endif
