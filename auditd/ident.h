/* SPDX-License-Identifier: Apache-2.0 */
/* Who did it: what auditd adds to the identity the kernel captured (DESIGN.md §7).
 *
 * - cmdline, read from /proc/PID/cmdline (world-readable, unlike /proc/PID/exe) and cached by
 *   (pid, start time). The kernel stamps each event with the thread-group leader's
 *   start_boottime; /proc data is used only when /proc/PID/stat's starttime (field 22, clock
 *   ticks since boot) is that same instant, checked before and after reading the cmdline, so
 *   a process that is gone or a pid that was reused gives "unknown", never another process's
 *   command line.
 * - socket identity: TC sees packets without process context; the connect()/sendmsg() event of
 *   the same socket (same cookie) carried it. A bounded cache cookie -> identity fills it in.
 *
 * Both caches are fixed-size tables (entries replaced on collision): memory stays flat however
 * many processes and sockets a job makes. */
#ifndef CW_AUDITD_IDENT_H
#define CW_AUDITD_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/events.h"

/* Slots of each cache (powers of two). A socket slot is 312 bytes (comm and exe are most of
 * it): 1024 of them are 312 KiB, all resident once as many sockets went by (4096 were 1.2 MiB
 * of auditd's memory, issue 6). The join serves the events without process context (TC
 * egress) of sockets whose connect() or sendmsg() event came before; with any size a busy
 * job's older sockets are replaced by newer ones (the record then has no process). */
#define IDENT_PROC_SLOTS 1024
#define IDENT_SOCK_SLOTS 1024
/* Longest cmdline kept (bytes); a longer one is cut and ends in "..." */
#define IDENT_CMDLINE_MAX 4096

struct ident_proc;
struct ident_sock;

struct ident {
	int proc_dirfd;		 /* the /proc root (tests: a fake tree) */
	uint64_t ns_per_tick;	 /* 1e9 / sysconf(_SC_CLK_TCK) */
	struct ident_proc *proc; /* IDENT_PROC_SLOTS */
	struct ident_sock *sock; /* IDENT_SOCK_SLOTS */
	/* for tests and the bench */
	uint64_t proc_hits, proc_misses, proc_unknown;
	uint64_t sock_joined, sock_missed;
};

/* proc_root: "/proc", or a directory laid out like it (PID/stat, PID/cmdline). clk_tck: what
 * sysconf(_SC_CLK_TCK) says (USER_HZ, 100 on Linux). Opens proc_root: call before the sandbox.
 * 0 or -errno. */
int ident_init(struct ident *id, const char *proc_root, long clk_tck);
void ident_free(struct ident *id);

/* The command line of (pid, start_ns), arguments separated by single spaces, and its length;
 * NULL when unknown (no start time, process gone, pid reused, empty cmdline). The string stays
 * valid until the next ident_cmdline() call. */
const char *ident_cmdline(struct ident *id, uint32_t pid, uint64_t start_ns, size_t *len);

/* Remember the identity of an event with process context and a socket cookie. */
void ident_sock_remember(struct ident *id, const struct cw_conn_event *e);
/* An event without process context (pid 0) and with a cookie: copy in the identity that the
 * socket's earlier event carried (pid, tid, ppid, uid, start_ns, comm, exe). true if found. */
bool ident_sock_fill(struct ident *id, struct cw_conn_event *e);

#endif
