/* SPDX-License-Identifier: Apache-2.0 */
/* Burst dedupe of dnsd's DNS events, as bpf/dedupe.bpf.h does for connections: a client asking
 * the same question again and again from one socket (a build tool's resolver loop, a load
 * generator, a retry storm) would fill auditd's queue and keep auditd busy writing identical
 * lines, costing the answers' CPU on a small runner and pushing out the records that matter.
 * The first event of a kind is reported at once; identical ones in the next window
 * (CW_DEDUPE_WINDOW_NS) are only counted, and when the window ends they are reported as one
 * event carrying `count`. "Identical": everything but the time and the TTL (same client
 * address and port, so the same socket; same question, decision, rule, rcode, answers and
 * CNAME chain). Nothing is dropped: a slot taken by another live kind just means the event is
 * reported on its own, as without dedupe; at exit (SIGTERM, stop, reload) every open count is
 * reported. The one gap: the counts live in dnsd's memory, so a dnsd killed outright (SIGKILL,
 * a seccomp kill) loses those of its open windows, at most a second of repeats whose first
 * event was reported. The kernel's windows (bpf/dedupe.bpf.h) sit in a pinned map instead.
 *
 * Pure (no I/O, no clock): the caller passes the time and a function that reports an event. */
#ifndef CW_DNSD_EVDEDUPE_H
#define CW_DNSD_EVDEDUPE_H

#include <stdbool.h>
#include <stdint.h>

#include "../proto/shmq.h"

/* Power of two. One slot per kind open at a time, 840 bytes each (only slots in use become
 * resident). A kind may sit in any of EVDEDUPE_PROBE slots from its hash's, so that a few
 * hundred kinds at once do not collide. */
#define EVDEDUPE_SLOTS 256
#define EVDEDUPE_PROBE 8

struct evdedupe_slot {
	int64_t until_ns;	/* end of this kind's window; 0: free */
	uint64_t hash;		/* of ev: compared before the whole event */
	uint32_t pending;	/* identical events counted since the first */
	struct cw_dns_event ev; /* the first, reported at once: the template of the summary */
};

struct evdedupe {
	uint64_t seed;
	int64_t window_ns;
	int64_t next_due; /* the earliest window end of a slot with pending events; 0: none */
	struct evdedupe_slot slot[EVDEDUPE_SLOTS];
};

/* Reports one event (the summary of a window: the template with `count` set). */
typedef void (*evdedupe_emit_fn)(void *ctx, const struct cw_dns_event *ev);

void evdedupe_init(struct evdedupe *t, uint64_t seed, int64_t window_ns);
/* True: counted into an open window, the caller reports nothing. False: the caller reports ev
 * now (a window was opened for its kind when a slot was free). May report an ended window's
 * summary through emit first. */
bool evdedupe_absorb(struct evdedupe *t, const struct cw_dns_event *ev, int64_t now_ns,
		     evdedupe_emit_fn emit, void *ctx);
/* Reports the summaries of the windows that ended by now_ns (all of them with `all`); returns
 * when the next one ends (0: none waiting). Cheap when nothing is due. */
int64_t evdedupe_expire(struct evdedupe *t, int64_t now_ns, bool all, evdedupe_emit_fn emit,
			void *ctx);

#endif
