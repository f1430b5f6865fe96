/* SPDX-License-Identifier: Apache-2.0 */
/* cargowall-dnsd internals shared by main.c (setup, event loop), query.c (one query from
 * datagram to answer) and resolve.c (libunbound). */
#ifndef CW_DNSD_DNSD_H
#define CW_DNSD_DNSD_H

#include <stdbool.h>
#include <stdint.h>

#include <netinet/in.h>

#include "../common/policy.h"
#include "../common/shmq.h"
#include "../proto/maps.h"

struct ub_ctx;

/* Queries handed to libunbound and not answered yet. Each holds ~1.5 KiB; the cap bounds what
 * a client flooding unique names can make dnsd allocate. Past it: SERVFAIL at once. */
#define DNSD_INFLIGHT_MAX 1024
/* Datagrams read per wake-up, so that libunbound's results are not starved by a flood. */
#define DNSD_RX_BATCH 64

/* Per-reason counters, logged at exit. */
enum dnsd_stat {
	ST_RX = 0,
	ST_DROP_SHORT,	  /* shorter than a header */
	ST_DROP_LARGE,	  /* larger than the receive buffer, or not from an IPv4 peer */
	ST_DROP_RESPONSE, /* QR=1: never answered */
	ST_FORMERR,
	ST_NOTIMP,
	ST_REFUSED_TYPE, /* class not IN, meta qtype */
	ST_REFUSED_NAME, /* not a hostname the policy can decide */
	ST_DENIED,	 /* enforce: NXDOMAIN, nothing sent upstream */
	ST_WOULD_DENY,	 /* audit: forwarded, would be denied */
	ST_FORWARDED,
	ST_ANSWERED, /* upstream answer released to the client */
	ST_SERVFAIL,
	ST_UB_ERROR,
	ST_INFLIGHT_FULL,
	ST_LEARNED,
	ST_ADDR_REFUSED, /* learn_addr_refused() */
	ST_QUEUE_FULL,
	ST_ACK_TIMEOUT,
	ST_TRUNCATED,
	ST_EVQ_FULL,
	ST_SEND_ERROR,
	ST_MAX,
};

struct pending;

struct dnsd {
	enum cw_mode mode;
	unsigned int learn_flags; /* LEARN_ALLOW_PRIVATE (common/learn.h) */
	int sock;		  /* CW_DNSD_FD_UDP4 */
	struct policy policy;
	struct shmq dnsq;
	struct shmq evq;
	struct ub_ctx *ub;
	struct pending *inflight; /* doubly linked, for cleanup at exit */
	unsigned int n_inflight;
	uint64_t stats[ST_MAX];
};

/* query.c */
void dnsd_handle_datagram(struct dnsd *d, const uint8_t *pkt, size_t len,
			  const struct sockaddr_in *from);
void dnsd_free_inflight(struct dnsd *d);
void dnsd_log_stats(const struct dnsd *d);

/* resolve.c: a libunbound context forwarding everything to upstream ("a.b.c.d@port"), with
 * threads, no validation and no built-in local zones but localhost. 0 or -errno. */
int resolve_setup(struct ub_ctx **out, const char *upstream);
/* Answer "localhost" from the context without the network: proves the context finalizes and
 * works under the dropped privileges before dnsd reports ready. 0 or -EIO. */
int resolve_selftest(struct ub_ctx *ctx);

#endif
