// SPDX-License-Identifier: Apache-2.0
/* DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message has a 2-byte length prefix; a client
 * may pipeline several queries on one connection, and answers go back as they are ready, in
 * any order (the ID pairs them). Every message is parsed and judged on its own by
 * dnsd_handle_message(), exactly like a datagram.
 *
 * Bounds, so that TCP clients cannot exhaust dnsd:
 * - DNSD_TCP_MAX connections; a new one closes the oldest idle connection (nothing
 *   outstanding, nothing to send), or is closed itself when none is idle;
 * - DNSD_TCP_IDLE_MS without progress and with nothing outstanding closes a connection;
 * - DNSD_TCP_PIPELINE queries of one connection at once: the connection is not read further
 *   until one is answered (TCP flow control pushes back on the client);
 * - a message longer than DNSD_QUERY_MAX closes the connection (no query is that long);
 * - answers wait in a per-connection buffer when the client does not read; reading stops
 *   above DNSD_TCP_WBUF_HIGH, and the connection is closed past DNSD_TCP_WBUF_MAX.
 * Partial reads and writes are buffered. A connection is closed only from tcp_sweep(), never
 * while a message of it is being handled; an answer for a connection closed meanwhile finds
 * another generation in the slot and is dropped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../common/log.h"
#include "dnsd.h"

struct tcp_conn {
	int fd; /* -1: free slot */
	uint32_t gen;
	bool eof;  /* the client shut down its side: answer what is outstanding, then close */
	bool dead; /* close at the next sweep */
	unsigned int outstanding; /* queries handed to dnsd_handle_message, not answered yet */
	int64_t last_ns;	  /* last progress: bytes read or written */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	size_t rlen; /* bytes in rbuf: whole messages are handled, a partial one waits */
	uint8_t *wbuf;
	size_t woff, wlen, wcap;
	/* TCP_RBUF_LEN bytes while the connection is open: allocated at accept, so that the
	 * DNSD_TCP_MAX slots do not keep 4 KiB each resident (issue 6) */
	uint8_t *rbuf;
};

#define TCP_RBUF_LEN (2 + DNSD_QUERY_MAX)

int tcp_init(struct dnsd *d)
{
	int i;

	d->conns = calloc(DNSD_TCP_MAX, sizeof(*d->conns));
	if (!d->conns)
		return -ENOMEM;
	for (i = 0; i < DNSD_TCP_MAX; i++)
		d->conns[i].fd = -1;
	return 0;
}

static void conn_close(struct dnsd *d, struct tcp_conn *c)
{
	close(c->fd);
	free(c->wbuf);
	free(c->rbuf);
	c->fd = -1;
	c->wbuf = NULL;
	c->rbuf = NULL;
	c->wcap = c->wlen = c->woff = 0;
	c->rlen = 0;
	c->outstanding = 0;
	d->n_conns--;
}

void tcp_free(struct dnsd *d)
{
	int i;

	if (!d->conns)
		return;
	for (i = 0; i < DNSD_TCP_MAX; i++)
		if (d->conns[i].fd >= 0)
			conn_close(d, &d->conns[i]);
	free(d->conns);
	d->conns = NULL;
}

static bool conn_idle(const struct tcp_conn *c)
{
	return !c->outstanding && c->wlen == c->woff;
}

/* A slot for a new connection: a free one, else the oldest idle one (closed), else -1. */
static int free_slot(struct dnsd *d)
{
	int i, victim = -1;

	for (i = 0; i < DNSD_TCP_MAX; i++) {
		struct tcp_conn *c = &d->conns[i];

		if (c->fd < 0)
			return i;
		if ((conn_idle(c) || c->dead) &&
		    (victim < 0 || c->last_ns < d->conns[victim].last_ns))
			victim = i;
	}
	if (victim >= 0) {
		d->stats[ST_TCP_EVICTED]++;
		conn_close(d, &d->conns[victim]);
	}
	return victim;
}

void tcp_accept(struct dnsd *d, int lfd)
{
	int64_t now = dnsd_now_ns();
	int i;

	if (now < d->accept_pause_until_ns)
		return;
	for (i = 0; i < DNSD_ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct tcp_conn *c;
		int fd, slot;

		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* The listener stays readable: pause instead of spinning. */
				log_warn("accept");
				d->accept_pause_until_ns = now + 1000000000LL;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_warn("accept");
			}
			return;
		}
		slot = free_slot(d);
		if (slot < 0) {
			d->stats[ST_TCP_REJECTED]++;
			close(fd);
			continue;
		}
		c = &d->conns[slot];
		c->rbuf = malloc(TCP_RBUF_LEN);
		if (!c->rbuf) {
			log_warnx("TCP connection: out of memory");
			d->stats[ST_TCP_REJECTED]++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->gen = ++d->tcp_gen;
		c->eof = c->dead = false;
		c->outstanding = 0;
		c->last_ns = now;
		c->peer = ss;
		c->peerlen = sl;
		c->rlen = 0;
		d->n_conns++;
		d->stats[ST_TCP_ACCEPTED]++;
	}
}

static bool may_read(const struct tcp_conn *c)
{
	return !c->dead && !c->eof && c->outstanding < DNSD_TCP_PIPELINE &&
	       c->wlen - c->woff < DNSD_TCP_WBUF_HIGH && c->rlen < TCP_RBUF_LEN;
}

unsigned int tcp_poll_fill(struct dnsd *d, struct pollfd *pfd, int *slot, int64_t *next)
{
	unsigned int n = 0;
	int i;

	for (i = 0; i < DNSD_TCP_MAX; i++) {
		struct tcp_conn *c = &d->conns[i];
		int64_t idle_at = c->last_ns + (int64_t)DNSD_TCP_IDLE_MS * 1000000LL;

		if (c->fd < 0 || c->dead)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events =
			(short)((may_read(c) ? POLLIN : 0) | (c->wlen > c->woff ? POLLOUT : 0));
		pfd[n].revents = 0;
		slot[n++] = i;
		if (!c->outstanding && (!*next || idle_at < *next))
			*next = idle_at;
	}
	return n;
}

/* Handle every whole message in rbuf, up to the pipelining cap; keep the rest. */
static void handle_messages(struct dnsd *d, int slot)
{
	struct tcp_conn *c = &d->conns[slot];
	size_t off = 0;

	while (!c->dead && c->outstanding < DNSD_TCP_PIPELINE && c->rlen - off >= 2) {
		size_t mlen = (size_t)c->rbuf[off] << 8 | c->rbuf[off + 1];
		struct dnsd_client cl;

		if (mlen > DNSD_QUERY_MAX) {
			log_debug("TCP client sent a %zu-byte message: closing", mlen);
			d->stats[ST_TCP_ABORTED]++;
			c->dead = true;
			break;
		}
		if (c->rlen - off < 2 + mlen)
			break;
		memset(&cl, 0, sizeof(cl));
		cl.addr = c->peer;
		cl.addrlen = c->peerlen;
		cl.udp_fd = -1;
		cl.tcp_slot = slot;
		cl.tcp_gen = c->gen;
		c->outstanding++;
		/* May answer at once (tcp_reply on this very connection), never closes it. */
		dnsd_handle_message(d, c->rbuf + off + 2, mlen, &cl);
		off += 2 + mlen;
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
}

static void conn_read(struct dnsd *d, int slot)
{
	struct tcp_conn *c = &d->conns[slot];
	ssize_t n;

	if (!may_read(c))
		return;
	n = recv(c->fd, c->rbuf + c->rlen, TCP_RBUF_LEN - c->rlen, MSG_DONTWAIT);
	if (n > 0) {
		c->rlen += (size_t)n;
		c->last_ns = dnsd_now_ns();
		handle_messages(d, slot);
	} else if (n == 0) {
		c->eof = true; /* a partial message left in rbuf is dropped with the connection */
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		log_debug("TCP recv: %s", strerror(errno));
		d->stats[ST_TCP_ABORTED]++;
		c->dead = true;
	}
}

static void conn_flush(struct dnsd *d, struct tcp_conn *c)
{
	ssize_t n;

	if (c->dead || c->wlen == c->woff)
		return;
	n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			log_debug("TCP send: %s", strerror(errno));
			d->stats[ST_TCP_ABORTED]++;
			c->dead = true;
		}
		return;
	}
	c->woff += (size_t)n;
	c->last_ns = dnsd_now_ns();
	if (c->woff == c->wlen)
		c->woff = c->wlen = 0;
}

void tcp_handle(struct dnsd *d, int slot, short revents)
{
	struct tcp_conn *c = &d->conns[slot];

	if (revents & (POLLERR | POLLNVAL)) {
		c->dead = true;
		return;
	}
	if (revents & POLLOUT)
		conn_flush(d, c);
	if (revents & POLLIN)
		conn_read(d, slot);
	else if (revents & POLLHUP)
		c->dead = true; /* both directions gone: nobody to answer */
}

/* Queue bytes behind what waits already. false when that would pass DNSD_TCP_WBUF_MAX. */
static bool queue(struct tcp_conn *c, const uint8_t *b, size_t len)
{
	size_t need;

	if (c->woff) { /* compact first: the buffer never grows while it has room at the front */
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
	}
	need = c->wlen + len;
	if (need > DNSD_TCP_WBUF_MAX)
		return false;
	if (need > c->wcap) {
		size_t cap = c->wcap ? c->wcap : 4096;
		uint8_t *nb;

		while (cap < need)
			cap *= 2;
		if (cap > DNSD_TCP_WBUF_MAX)
			cap = DNSD_TCP_WBUF_MAX;
		nb = realloc(c->wbuf, cap);
		if (!nb)
			return false;
		c->wbuf = nb;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, b, len);
	c->wlen += len;
	return true;
}

void tcp_reply(struct dnsd *d, int slot, uint32_t gen, const uint8_t *buf, size_t len)
{
	struct tcp_conn *c = &d->conns[slot];
	uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	size_t sent = 0;

	if (c->fd < 0 || c->gen != gen) {
		d->stats[ST_TCP_GONE]++;
		return;
	}
	if (c->outstanding)
		c->outstanding--;
	if (c->dead || !len || len > DNS_TCP_MAX)
		return;
	if (c->wlen == c->woff) {
		/* Nothing queued: try to send at once, length and message in one segment. */
		struct iovec iov[2] = { { hdr, 2 }, { (void *)buf, len } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			log_debug("TCP send: %s", strerror(errno));
			d->stats[ST_TCP_ABORTED]++;
			c->dead = true;
			return;
		}
		sent = n > 0 ? (size_t)n : 0;
		if (sent)
			c->last_ns = dnsd_now_ns();
		if (sent == len + 2)
			return;
	}
	if ((sent < 2 && !queue(c, hdr + sent, 2 - sent)) ||
	    !queue(c, buf + (sent > 2 ? sent - 2 : 0), len - (sent > 2 ? sent - 2 : 0))) {
		log_debug("TCP client does not read its answers: closing");
		d->stats[ST_TCP_ABORTED]++;
		c->dead = true;
	}
}

void tcp_sweep(struct dnsd *d)
{
	int64_t now = dnsd_now_ns();
	int i;

	for (i = 0; i < DNSD_TCP_MAX; i++) {
		struct tcp_conn *c = &d->conns[i];

		if (c->fd < 0)
			continue;
		/* Messages left waiting by the pipelining cap, now that answers went out: the
		 * client may send nothing more to wake this connection up. */
		if (!c->dead && c->rlen >= 2 && c->outstanding < DNSD_TCP_PIPELINE)
			handle_messages(d, i);
		if (c->dead || (c->eof && conn_idle(c))) {
			conn_close(d, c);
		} else if (!c->outstanding &&
			   now - c->last_ns >= (int64_t)DNSD_TCP_IDLE_MS * 1000000LL) {
			d->stats[ST_TCP_IDLE]++;
			conn_close(d, c);
		}
	}
}
