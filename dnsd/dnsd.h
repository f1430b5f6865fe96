/* SPDX-License-Identifier: Apache-2.0 */
/* cargowall-dnsd internals shared by main.c (setup, event loop, UDP), tcp.c (TCP clients),
 * query.c (one query from message to decision), answer.c (libunbound's answer to the client),
 * ack.c (waiting for the enforcer without stalling the loop), resolve.c (libunbound) and
 * ubevent.c (libunbound's event base, run by the event loop). */
#ifndef CW_DNSD_DNSD_H
#define CW_DNSD_DNSD_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <sys/socket.h>
#include <sys/uio.h>

#include "../common/policy.h"
#include "../common/shmq.h"
#include "../proto/maps.h"
#include "../proto/shmq.h"
#include "cache.h"
#include "dnsmsg.h"
#include "evdedupe.h"
#include "hist.h"
#include "learned.h"

struct ub_ctx;
struct ub_result;

/* Queries handed to libunbound or parked until the enforcer applied their addresses. Each
 * holds ~3.5 KiB; the cap bounds what a client flooding unique names can make dnsd allocate.
 * Past it: SERVFAIL at once. */
#define DNSD_INFLIGHT_MAX 1024
/* Datagrams read per wake-up and listener (one recvmmsg), so that libunbound's results are not
 * starved. */
#define DNSD_RX_BATCH 64
/* UDP answers queued for one sendmmsg: those of a receive batch, or of one loop pass. */
#define DNSD_TX_BATCH 64
/* DNS events that wake auditd at once; fewer wait at most DNSD_EVQ_DELAY_NS. */
#define DNSD_EVQ_BATCH 64
#define DNSD_EVQ_DELAY_NS 5000000LL
/* Answers in dnsd's cache (cache.h): a power of two. Each slot is ~360 bytes, plus the answer
 * and its event template (~1 KiB) while in use: ~340 KiB when full. A job asks for tens to a
 * few hundred distinct names again and again (bench/dns: 100); a name past it only goes back
 * to the resolver (libunbound's own small caches, then the upstream). 1024 slots were
 * ~1.4 MiB when full, which bench/lifecycle's load (names with a 300 s TTL) fills: the three
 * processes then took 15.6 MiB of the 15 MiB issue 6 allows. */
#define DNSD_CACHE_SLOTS 256
/* Slots of dnsd's table of applied addresses (learned.h), a power of two, 32 bytes each
 * (256 KiB, all of it touched once as many addresses went by). Not CW_LEARNED_MAX (the
 * kernel's bound, 4 MiB here): the table is a cache, and a forgotten address only costs one
 * more push to the enforcer, or NXDOMAIN for its PTR question. */
#define DNSD_LEARNED_SLOTS 8192
/* The largest query read, over UDP or TCP: a question (<= 271 bytes) and an OPT record with
 * options. Longer TCP messages close the connection; longer datagrams are dropped. */
#define DNSD_QUERY_MAX 4096
/* Bytes of a UDP query received into the batch's packed buffer (main.c); longer ones go on in
 * a buffer of their own. A question is at most 271 bytes; with an OPT record and padding
 * (RFC 8467: queries to 128-byte blocks) a query is 512 bytes at most in practice. */
#define DNSD_RX_HEAD 512
/* Addresses learned from one answer; the rest are logged and not learned. A 1232-byte answer
 * holds at most 75 A records; real round-robin names have a handful. */
#define DNSD_LEARN_MAX 64
/* An address the kernel holds for the same rule until at least (the deadline a new answer
 * would ask) - this is not pushed again. TTLs count in whole seconds: a cached answer's TTL
 * goes down by one each second while the clock runs in nanoseconds, so the deadline it asks
 * for wobbles within a second of the one already granted. Without the slack, half of the
 * cached answers would wait for the enforcer for nothing. */
#define DNSD_LEARN_SLACK_NS 1000000000LL

/* TCP clients (RFC 7766). Connections at once: past it, the oldest idle one is closed, or the
 * new one when none is idle. */
#define DNSD_TCP_MAX 64
/* A connection with nothing outstanding and no progress for this long is closed. */
#define DNSD_TCP_IDLE_MS 10000
/* Queries of one connection being resolved at once; it is not read further until one is
 * answered (pipelined queries wait in the socket, not in dnsd). */
#define DNSD_TCP_PIPELINE 16
/* Answers queued for a connection that does not read: reading stops above HIGH, and the
 * connection is closed when an answer would take it past MAX. */
#define DNSD_TCP_WBUF_HIGH 16384
#define DNSD_TCP_WBUF_MAX (256 * 1024)
/* Connections accepted per wake-up and listener. */
#define DNSD_ACCEPT_BATCH 16

/* Per-reason counters, logged at exit (names in query.c). */
enum dnsd_stat {
	ST_RX = 0,
	ST_DROP_SHORT,	  /* shorter than a header */
	ST_DROP_LARGE,	  /* a datagram larger than DNSD_QUERY_MAX */
	ST_DROP_RESPONSE, /* QR=1: never answered */
	ST_FORMERR,	  /* includes QDCOUNT != 1 */
	ST_NOTIMP,
	ST_BADVERS,
	ST_REFUSED_TYPE, /* class not IN, meta qtype */
	ST_REFUSED_NAME, /* not a hostname the policy can decide */
	ST_DENIED,	 /* enforce: NXDOMAIN, nothing sent upstream */
	ST_WOULD_DENY,	 /* audit: forwarded, would be denied */
	ST_PTR_DENIED,	 /* enforce: PTR for an address the policy does not allow */
	ST_CHAIN_DENIED, /* a CNAME chain through a name the policy does not allow */
	ST_CHAIN_BAD,	 /* an answer whose chain could not be walked */
	ST_FORWARDED,
	ST_ANSWERED, /* upstream answer released to the client */
	ST_SERVFAIL,
	ST_UB_ERROR,
	ST_INFLIGHT_FULL,
	ST_LEARNED,	 /* addresses pushed to the enforcer */
	ST_LEARN_KNOWN,	 /* not pushed: the kernel already holds them long enough */
	ST_ADDR_REFUSED, /* not learned: learn_addr_refused(), a deny CIDR rule, too many */
	ST_QUEUE_FULL,
	ST_ACK_TIMEOUT,
	ST_TRUNCATED,
	ST_EVQ_FULL,
	ST_SEND_ERROR,
	ST_TCP_ACCEPTED,
	ST_TCP_REJECTED, /* DNSD_TCP_MAX reached and none idle */
	ST_TCP_EVICTED,	 /* idle, closed for a new connection */
	ST_TCP_IDLE,	 /* closed after DNSD_TCP_IDLE_MS */
	ST_TCP_ABORTED,	 /* closed on an error, an oversized message or a full write buffer */
	ST_TCP_GONE,	 /* answers for a connection closed meanwhile */
	ST_CACHE_HIT,	 /* answered from dnsd's cache (also counted in ST_ANSWERED) */
	ST_EV_DEDUPED,	 /* DNS events counted into another's window (evdedupe.h) */
	ST_MAX,
};

/* Where a query came from and its answer goes. */
struct dnsd_client {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int udp_fd;	  /* the UDP listener it came in on, -1 for TCP */
	int tcp_slot;	  /* TCP: index in dnsd.conns */
	uint32_t tcp_gen; /* TCP: the connection's generation; a reused slot has another */
};

/* A query at libunbound, then possibly parked until the enforcer applied its addresses. */
struct pending {
	struct pending *prev, *next; /* in-flight list (at libunbound) */
	struct pending *park_next;   /* parked FIFO */
	struct dnsd *d;
	struct dnsd_client client;
	struct dns_query q;
	char canon[CW_NAME_MAX]; /* policy form: lowercase, search domain stripped */
	uint32_t rule_id;
	bool learn;	 /* allowed by a hostname rule: its A/AAAA answers go to the enforcer */
	bool would_deny; /* audit mode: enforce mode would have answered NXDOMAIN */
	bool ptr;	 /* decided as a reverse lookup: no CNAME judgement, nothing learned */
	/* the answer being released */
	uint8_t *ans;
	size_t ans_len;
	uint64_t seq; /* dnsq sequence of its last pushed entry */
	/* A copy of the answer for the cache (before truncation and dnsd's OPT), or NULL when it
	 * must not be cached; inserted when the answer is released. */
	uint8_t *cache_pkt;
	size_t cache_len;
	/* The earliest deadline the kernel holds for the answer's learned addresses (pushed or
	 * known), INT64_MAX when none: the cached copy must not outlive it. */
	int64_t trie_dl_ns;
	int64_t t_result_ns;   /* libunbound's callback ran (CLOCK_MONOTONIC) */
	int64_t park_until_ns; /* t_result_ns + CW_ACK_TIMEOUT_MS */
	int64_t learn_deadline_ns;
	unsigned int n_pushed;
	struct {
		uint8_t family;
		uint8_t addr[16];
	} pushed[DNSD_LEARN_MAX];
	struct cw_dns_event ev;
};

/* The enforcer's ack pipe and what dnsd waits for (ack.c). */
struct ackw {
	struct shmq *q;
	int fd;		   /* CW_DNSD_FD_ACK_BELL, in the poll set */
	uint64_t want_set; /* the ack_want last stored in the dnsq header */
};

struct tcp_conn;

/* UDP answers waiting for one sendmmsg (query.c), all to the same listener's socket. */
struct dnsd_tx {
	int fd;
	unsigned int n;
	struct mmsghdr msgs[DNSD_TX_BATCH];
	struct iovec iov[DNSD_TX_BATCH];
	struct sockaddr_storage addr[DNSD_TX_BATCH];
	uint8_t buf[DNSD_TX_BATCH][DNS_EDNS_UDP_MAX];
};

struct dnsd {
	enum cw_mode mode;
	unsigned int learn_flags;   /* LEARN_ALLOW_PRIVATE (common/learn.h) */
	bool evq_pending;	    /* events pushed since auditd's doorbell last rang */
	unsigned int evq_n_pending; /* how many */
	int64_t evq_first_ns;	    /* when the first of them was pushed */
	bool dnsq_rung;		    /* the enforcer's doorbell rang during this loop pass */
	bool dnsq_pending;	    /* addresses pushed since it rang */
	int udp4, tcp4, udp6, tcp6; /* listeners; the IPv6 ones -1 with --no-ipv6 */
	int udpc, tcpc;		    /* containers' DNS listeners (--container-listeners), else -1 */
	struct policy policy;
	struct shmq dnsq;
	struct shmq evq;
	struct ub_ctx *ub;
	struct pending *inflight; /* doubly linked, for cleanup at exit */
	unsigned int n_inflight;
	struct pending *park_head, *park_tail;
	unsigned int n_parked;
	struct ackw ack;
	struct tcp_conn *conns; /* DNSD_TCP_MAX slots */
	unsigned int n_conns;
	uint32_t tcp_gen;
	int64_t accept_pause_until_ns; /* out of fds: stop accepting for a while */
	struct learned_table learned;
	struct dnscache cache;
	struct dnsd_tx tx;
	struct hist ack_hist; /* µs from libunbound's result to the enforcer's ack */
	struct evdedupe dedupe;
	uint64_t stats[ST_MAX];
};

static inline int64_t dnsd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* query.c */
void dnsd_handle_message(struct dnsd *d, const uint8_t *pkt, size_t len,
			 const struct dnsd_client *c);
/* Send an answer to a client (len 0: no answer; a TCP query is done all the same). Every
 * query gets exactly one call. */
void dnsd_reply(struct dnsd *d, const struct dnsd_client *c, const uint8_t *buf, size_t len);
/* Send the UDP answers dnsd_reply() queued (one sendmmsg). Before every wait for events. */
void dnsd_tx_flush(struct dnsd *d);
/* Ring the doorbells of the queues pushed to since they last rang (one write each); auditd's
 * only for a batch of events, an old enough one or when forced. Returns when auditd's is due
 * (CLOCK_MONOTONIC ns, for the loop's poll timeout), or 0. */
int64_t dnsd_ring_pending(struct dnsd *d, bool force);
/* An answer with no records (dnsmsg_build_reply) to the client. */
void dnsd_reply_rcode(struct dnsd *d, const struct dns_query *q, unsigned int rcode,
		      const struct dnsd_client *c);
void dnsd_event_init(struct cw_dns_event *ev, const struct dns_query *q,
		     const struct dnsd_client *c, uint8_t type, uint32_t rule_id);
void dnsd_event_push(struct dnsd *d, const struct cw_dns_event *ev);
/* Reports the dedupe windows that ended (all with `all`, at exit); when the next ends, or 0. */
int64_t dnsd_dedupe_expire(struct dnsd *d, bool all);
const char *dnsd_client_str(const struct dnsd_client *c, char *buf, size_t len);
/* libunbound's callback ran for p: off the in-flight list. */
void dnsd_inflight_done(struct dnsd *d, struct pending *p);
void dnsd_free_inflight(struct dnsd *d);
void dnsd_log_stats(const struct dnsd *d);

/* answer.c */
void dnsd_on_result(void *arg, int ub_err, struct ub_result *res);
/* Release the parked answers the enforcer acknowledged, time out the overdue ones, and tell
 * the enforcer what to wake dnsd for next. Returns the deadline of the oldest one still parked,
 * or 0. */
int64_t dnsd_release_parked(struct dnsd *d);
void dnsd_free_parked(struct dnsd *d);
/* The same, only when the oldest parked answer is acknowledged (one shared-memory load
 * otherwise): called between pieces of work in a busy loop pass, so that an acknowledged answer
 * does not wait for the whole pass. */
void dnsd_release_acked(struct dnsd *d);

/* ack.c: check the ack pipe's read end at fd. 0 or -EBADF. */
int ackw_init(struct ackw *w, struct shmq *q, int fd);
/* Have the enforcer wake the event loop (w->fd readable) once applied_seq >= seq; 0 = nothing
 * to wait for. The caller checks applied_seq again afterwards (shmq_want_applied). */
void ackw_want(struct ackw *w, uint64_t seq);
/* Read what the enforcer wrote, once w->fd polled readable. */
void ackw_drain(struct ackw *w);

/* tcp.c */
int tcp_init(struct dnsd *d);
void tcp_free(struct dnsd *d);
void tcp_accept(struct dnsd *d, int lfd);
/* Fill pfd[] with the connections to watch (slot[i] = their index) and return how many; *next
 * gets the earliest idle deadline (or stays). */
unsigned int tcp_poll_fill(struct dnsd *d, struct pollfd *pfd, int *slot, int64_t *next);
void tcp_handle(struct dnsd *d, int slot, short revents);
void tcp_reply(struct dnsd *d, int slot, uint32_t gen, const uint8_t *buf, size_t len);
/* Handle messages the pipelining cap left waiting, then close what is dead, finished or idle
 * too long. Once per loop iteration, before tcp_poll_fill(). */
void tcp_sweep(struct dnsd *d);

/* resolve.c: a libunbound context on ubevent.c's event base, forwarding everything to upstream
 * ("a.b.c.d@port"), no validation and no built-in local zones but localhost. 0 or -errno. */
int resolve_setup(struct ub_ctx **out, const char *upstream);
/* Send p's question (p->q) to libunbound; dnsd_on_result(p, ...) runs when it is answered,
 * possibly before this returns (local zones). 0 or a libunbound error (ub_strerror). */
int resolve_query(struct ub_ctx *ctx, struct pending *p);
/* libunbound's answer (rcode != 0: its failure, no packet) as a ub_result (resolve.c's header);
 * NULL when out of memory. Free it with resolve_result_free(). */
struct ub_result *resolve_result(int rcode, const void *pkt, int len, int qtype, int qclass);
void resolve_result_free(struct ub_result *res);
/* Answer "localhost" from the context without the network: proves the context finalizes and
 * works under the dropped privileges before dnsd reports ready. 0 or -EIO. */
int resolve_selftest(struct ub_ctx *ctx);

/* ubevent.c: libunbound's event base, dispatched by the event loop. ubevent_base() creates it
 * (NULL on failure); ubevent_fd() is the epoll fd to poll for readability; ubevent_next_timer()
 * the earliest timer's deadline (CLOCK_MONOTONIC ns) or 0; ubevent_dispatch() runs the
 * callbacks of ready fds (when `fds`) and of due timers, calling tick(arg) (when not NULL) after
 * each fd callback. */
struct ub_event_base;
struct ub_event_base *ubevent_base(void);
int ubevent_fd(void);
int64_t ubevent_next_timer(void);
void ubevent_dispatch(bool fds, void (*tick)(void *), void *arg);
void ubevent_free(void);

#endif
