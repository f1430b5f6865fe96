/* SPDX-License-Identifier: Apache-2.0 */
/* How the launcher starts each child (DESIGN.md §1): the fds it hands over at fixed numbers,
 * and the one privilege-drop routine every child runs after taking them. */
#ifndef CW_COMMON_CHILD_H
#define CW_COMMON_CHILD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <sys/capability.h>

/* Every child. */
#define CW_FD_POLICY 3 /* memfd: normalized policy JSON (common/policy.h) */
/* pipe: child writes one byte "R" once it is live, then closes it; the enforcer may write "M"
 * before it (its maps for auditd are pinned; enforcer/attach.c) */
#define CW_FD_READY 4

/* cargowall-enforcer */
#define CW_ENF_FD_DNSQ 5      /* memfd of the dnsq (consumer) */
#define CW_ENF_FD_DNSQ_BELL 6 /* eventfd: dnsd rings after pushing */
/* pipe, write end (O_NONBLOCK): one byte when applied_seq reaches the dnsq's ack_want (dnsd
 * waits for it). A pipe, not an eventfd: dnsd holds only the read end, another open file, so it
 * cannot make this end block (an eventfd's O_NONBLOCK is shared by every holder). */
#define CW_ENF_FD_ACK_BELL 7

/* cargowall-dnsd */
#define CW_DNSD_FD_DNSQ 5      /* memfd of the dnsq (producer) */
#define CW_DNSD_FD_DNSQ_BELL 6 /* eventfd: ring the enforcer */
#define CW_DNSD_FD_EVQ 7       /* memfd of the evq (producer) */
#define CW_DNSD_FD_EVQ_BELL 8  /* eventfd: ring auditd */
#define CW_DNSD_FD_UDP4 9      /* UDP socket bound to 127.0.0.1:53 */
#define CW_DNSD_FD_TCP4 10     /* TCP socket bound to 127.0.0.1:53, listening */
#define CW_DNSD_FD_UDP6 11     /* UDP socket bound to [::1]:53 (IPV6_V6ONLY) */
#define CW_DNSD_FD_TCP6 12     /* TCP socket bound to [::1]:53, listening (IPV6_V6ONLY) */
#define CW_DNSD_FD_ACK_BELL 13 /* pipe, read end: the enforcer applied what dnsd waits for */
/* Containers' DNS (launcher --container-dns, proto/maps.h container_dns): UDP and TCP (listening)
 * sockets bound to that host IPv4 address, port 53. Only when configured: absent (closed) fds
 * otherwise. */
#define CW_DNSD_FD_UDP_CTR 14
#define CW_DNSD_FD_TCP_CTR 15

/* cargowall-auditd */
#define CW_AUD_FD_EVQ 5	     /* memfd of the evq (consumer) */
#define CW_AUD_FD_EVQ_BELL 6 /* eventfd: dnsd rings after pushing */
#define CW_AUD_FD_RINGBUF 7  /* BPF ring buffer map fd (opened from the pin by the launcher) */
#define CW_AUD_FD_LOG 8	     /* audit log, O_WRONLY|O_APPEND */
#define CW_AUD_FD_COUNTERS 9 /* per-CPU counters map (proto/maps.h): CW_CNT_EVENTS_LOST */
/* pipe, read end (O_NONBLOCK): lifecycle messages from the supervisor (restarts, log reopen),
 * one line each ending in '\n', each written in one write(2) of at most 512 bytes; the
 * supervisor holds both ends, so what it wrote while auditd was down waits for the next one */
#define CW_AUD_FD_LIFECYCLE 10
#define CW_AUD_FD_DNS_CLIENTS 11 /* the dns_clients map (proto/maps.h), read-only: who asked */

/* SIGTERM and SIGINT set the stop flag; they stay blocked except inside ppoll() called with
 * *wait_mask, so a stop is never missed between checking child_stop_signal() and waiting.
 * SIGPIPE is ignored. 0 or -errno. */
int child_signals_init(sigset_t *wait_mask);
/* The stop signal received (SIGTERM or SIGINT), or 0. */
int child_stop_signal(void);

/* Tell the launcher the child is live: write "R" to CW_FD_READY and close it. */
void child_ready(void);

/* Privilege drop, in one order for every child: setgroups, setresgid, setresuid (uid never 0:
 * fatal), keep exactly `keep` capabilities (permitted and effective, across the uid change
 * through SECBIT_NO_SETUID_FIXUP; none inheritable or ambient; bounding set cleared but them),
 * verify the old ids cannot be regained, PR_SET_NO_NEW_PRIVS, not dumpable. Any failure is
 * fatal. dnsd and auditd keep nothing; the enforcer keeps CAP_BPF and CAP_NET_ADMIN. */
void privdrop(uid_t uid, gid_t gid, const cap_value_t *keep, size_t n_keep);

/* Look up a user name: 0 and its uid/gid, or -ENOENT. */
int child_lookup_user(const char *name, uid_t *uid, gid_t *gid);

#endif
