// SPDX-License-Identifier: Apache-2.0
/* seccomp allowlists, one table per process (CONVENTIONS.md 15, after openssh's
 * sandbox-seccomp-filter.c, with libseccomp). The tables were taken from strace -f of each child
 * after its privilege drop in lab runs (start, DNS over UDP and TCP, allowed and denied
 * connections, expiry sweeps, stop) plus what glibc does on the error paths (abort, thread
 * start). Anything else kills the process: see SECURITY.md for why not EPERM.
 *
 * The architecture is checked first: libseccomp puts the native architecture test at the top of
 * the BPF program, and on x86_64 it also refuses the x32 ABI (syscall numbers with bit 30 set),
 * which shares x86_64's audit architecture; both go to the bad-architecture action, set to kill
 * too. So an allowed name can only be reached through its native number. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <seccomp.h>

#include "log.h"
#include "seccomp.h"

struct sandbox_cmp {
	unsigned int arg;
	enum scmp_compare op;
	uint64_t a, b; /* EQ: a; MASKED_EQ: (arg & a) == b */
};

struct sandbox_rule {
	int nr; /* SCMP_SYS(name): a pseudo number (< 0) where the arch lacks it */
	const char *name;
	uint32_t action; /* SCMP_ACT_ALLOW, or SCMP_ACT_ERRNO(e): a failure glibc handles */
	bool self;	 /* argument 0 must be our own pid (tgkill) */
	unsigned int n_cmp;
	struct sandbox_cmp cmp[2];
	const char *note; /* the condition, as SECURITY.md shows it */
	bool sanitizer;	  /* only in sanitizer builds, not in SECURITY.md */
};

#define ALLOW(call)                                                           \
	{                                                                     \
		.nr = SCMP_SYS(call), .name = #call, .action = SCMP_ACT_ALLOW \
	}
/* Allowed only when argument i compares to a; note says so in words. */
#define ALLOW_EQ(call, i, a_, note_)                                                       \
	{                                                                                  \
		.nr = SCMP_SYS(call), .name = #call, .action = SCMP_ACT_ALLOW, .n_cmp = 1, \
		.cmp = { { (i), SCMP_CMP_EQ, (uint64_t)(a_), 0 } }, .note = (note_)        \
	}
#define ALLOW_EQ2(call, i, a_, j, b_, note_)                                               \
	{                                                                                  \
		.nr = SCMP_SYS(call), .name = #call, .action = SCMP_ACT_ALLOW, .n_cmp = 2, \
		.cmp = { { (i), SCMP_CMP_EQ, (uint64_t)(a_), 0 },                          \
			 { (j), SCMP_CMP_EQ, (uint64_t)(b_), 0 } },                        \
		.note = (note_)                                                            \
	}
/* Allowed only when (argument i & mask) == val. */
#define ALLOW_MASK(call, i, mask, val, note_)                                              \
	{                                                                                  \
		.nr = SCMP_SYS(call), .name = #call, .action = SCMP_ACT_ALLOW, .n_cmp = 1, \
		.cmp = { { (i), SCMP_CMP_MASKED_EQ, (uint64_t)(mask), (uint64_t)(val) } }, \
		.note = (note_)                                                            \
	}
#define ALLOW_SELF(call)                                                                     \
	{                                                                                    \
		.nr = SCMP_SYS(call), .name = #call, .action = SCMP_ACT_ALLOW, .self = true, \
		.note = "own process only"                                                   \
	}
#define FAIL(call, err)                                                             \
	{                                                                           \
		.nr = SCMP_SYS(call), .name = #call, .action = SCMP_ACT_ERRNO(err), \
		.note = "fails with " #err                                          \
	}
#define END                  \
	{                    \
		.name = NULL \
	}

/* ASan's runtime installs alternate signal stacks (sigaltstack). Only sanitizer builds (tests)
 * allow it; release builds and SECURITY.md do not. */
#if defined(__SANITIZE_ADDRESS__)
#define CW_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CW_SANITIZER 1
#endif
#endif
#ifdef CW_SANITIZER
#define SANITIZER_CALLS                \
	{ .nr = SCMP_SYS(sigaltstack), \
	  .name = "sigaltstack",       \
	  .action = SCMP_ACT_ALLOW,    \
	  .sanitizer = true },
#else
#define SANITIZER_CALLS
#endif

/* Shared conditions. Writable-and-executable or newly executable memory is never needed after
 * start (no JIT, no dlopen), and refusing it takes shellcode staging off the table. */
#define NO_EXEC(call) ALLOW_MASK(call, 2, PROT_EXEC, 0, "without PROT_EXEC")
/* glibc's pthread_create tries clone3 first and uses clone on ENOSYS; clone3's flags sit in
 * memory that seccomp cannot read, clone's are a register: threads yes, processes no. */
#define THREADS_ONLY \
	FAIL(clone3, ENOSYS), ALLOW_MASK(clone, 0, CLONE_THREAD, CLONE_THREAD, "threads only")
/* No file is opened after the drop, but glibc's malloc reads /proc/sys/vm/overcommit_memory
 * the first time it shrinks a thread's heap, at any moment, and takes a failure as "no": for
 * processes that open nothing, openat fails instead of killing. */
#define NO_FILES FAIL(openat, EACCES)

/* cargowall-dnsd: the ppoll loop on the listeners it was handed (UDP and TCP, IPv4 and IPv6),
 * libunbound in the same thread (dnsd/ubevent.c: an epoll set made before the filter, one UDP
 * or TCP socket per upstream query), the enforcer's ack pipe, the shm queues. One thread: no
 * clone (clone3 kills too), no pipe or eventfd of its own (libunbound's event mode makes none;
 * check_seccomp runs a real query through it under this filter). */
static const struct sandbox_rule dnsd_rules[] = {
	ALLOW(read),
	ALLOW(readv),
	ALLOW(preadv2),
	ALLOW(write),
	ALLOW(writev),
	ALLOW(close),
	ALLOW(fcntl),
	NO_FILES,
	ALLOW(ppoll),
	ALLOW(poll),
	ALLOW(epoll_create1),
	ALLOW(epoll_ctl),
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW_EQ(socket, 0, AF_INET, "AF_INET"),
	ALLOW_EQ(socket, 0, AF_INET6, "AF_INET6"),
	ALLOW(bind),
	ALLOW(connect),
	ALLOW(accept4),
	ALLOW(shutdown),
	ALLOW(getsockname),
	ALLOW(getpeername),
	ALLOW(setsockopt),
	ALLOW(getsockopt),
	ALLOW(sendto),
	ALLOW(recvfrom),
	ALLOW(sendmsg),
	ALLOW(recvmsg),
	ALLOW(sendmmsg),
	ALLOW(recvmmsg),
	ALLOW(getrandom),
	ALLOW(brk),
	NO_EXEC(mmap),
	NO_EXEC(mprotect),
	ALLOW(munmap),
	ALLOW(mremap),
	ALLOW(madvise),
	SANITIZER_CALLS ALLOW(futex),
	ALLOW(sched_yield),
	ALLOW(sched_getaffinity),
	ALLOW(getpid),
	ALLOW(gettid),
	ALLOW(getuid),
	ALLOW(geteuid),
	ALLOW(getgid),
	ALLOW(getegid),
	ALLOW(clock_gettime),
	ALLOW(clock_nanosleep),
	ALLOW(nanosleep),
	ALLOW(gettimeofday),
	ALLOW(rt_sigaction),
	ALLOW(rt_sigprocmask),
	ALLOW(rt_sigreturn),
	ALLOW_SELF(tgkill),
	ALLOW(restart_syscall),
	ALLOW(exit),
	ALLOW(exit_group),
	END,
};

/* cargowall-auditd: one thread, ppoll on the ring buffer's epoll fd, the evq doorbell and the
 * supervisor's lifecycle pipe, then write(2) to the log fd it was handed. Read-only opens under
 * /proc (PID/stat and PID/cmdline: world-readable files, read for cmdline), and bpf() only to
 * look up the loss counter in the map it was handed and record there what it has reported
 * (CW_CNT_AUD_*). No sockets, no threads. */
static const struct sandbox_rule auditd_rules[] = {
	ALLOW(preadv2),
	ALLOW(read),
	ALLOW(write),
	ALLOW(close),
	ALLOW_MASK(openat, 2, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY, "read-only"),
	ALLOW_EQ(bpf, 0, BPF_MAP_LOOKUP_ELEM, "BPF_MAP_LOOKUP_ELEM"),
	ALLOW_EQ(bpf, 0, BPF_MAP_UPDATE_ELEM, "BPF_MAP_UPDATE_ELEM: what it reported"),
	ALLOW(ppoll),
	ALLOW(brk),
	NO_EXEC(mmap),
	NO_EXEC(mprotect),
	ALLOW(munmap),
	ALLOW(mremap),
	ALLOW(madvise),
	ALLOW(futex),
	ALLOW(getpid),
	ALLOW(gettid),
	ALLOW(clock_gettime),
	ALLOW(rt_sigprocmask),
	ALLOW(rt_sigreturn),
	ALLOW_SELF(tgkill),
	ALLOW(restart_syscall),
	ALLOW(exit),
	ALLOW(exit_group),
	SANITIZER_CALLS END,
};

/* cargowall-enforcer: bpf() on the maps and links it holds (updates, sweeps, tamper checks and
 * repairs, detach), rtnetlink for its TC filters and clsact qdiscs, unlink/rmdir of its pins at
 * teardown, fchmodat of a pin it put back (0660; as its own user it can change no other file's
 * mode: no CAP_FOWNER), read-only opens (its cgroup and pin directories, sysfs for liburcu, glibc's lazy
 * reads of /proc), liburcu's threads and membarrier, sysinfo (qsort of a reloaded policy). */
static const struct sandbox_rule enforcer_rules[] = {
	ALLOW(bpf),
	ALLOW_EQ2(socket, 0, AF_NETLINK, 2, NETLINK_ROUTE, "AF_NETLINK, NETLINK_ROUTE"),
	ALLOW_EQ(socket, 0, AF_UNIX, "AF_UNIX: if_nametoindex"),
	ALLOW_EQ(ioctl, 1, SIOCGIFINDEX, "SIOCGIFINDEX"),
	ALLOW_EQ(ioctl, 1, SIOCGIFNAME, "SIOCGIFNAME"),
	ALLOW(bind),
	ALLOW(getsockname),
	ALLOW(setsockopt),
	ALLOW(getsockopt),
	ALLOW(sendto),
	ALLOW(sendmsg),
	ALLOW(recvfrom),
	ALLOW(recvmsg),
	ALLOW(read),
	ALLOW(readv),
	ALLOW(preadv2),
	ALLOW(write),
	ALLOW(writev),
	ALLOW(close),
	ALLOW(fcntl),
	ALLOW(lseek),
	ALLOW_MASK(openat, 2, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY, "read-only"),
	ALLOW(newfstatat),
	ALLOW(fstat),
	ALLOW(statfs),
	ALLOW(fstatfs),
	ALLOW(getdents64),
	ALLOW(mkdir),
	ALLOW(unlink),
	ALLOW(unlinkat),
	ALLOW(rmdir),
	ALLOW(fchmodat),
	ALLOW(ppoll),
	ALLOW(poll),
	ALLOW(epoll_create1),
	ALLOW(epoll_ctl),
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW(timerfd_create),
	ALLOW(timerfd_settime),
	ALLOW(timerfd_gettime),
	ALLOW(eventfd2),
	ALLOW(getrandom),
	ALLOW(uname),
	ALLOW(sysinfo),
	ALLOW(brk),
	NO_EXEC(mmap),
	NO_EXEC(mprotect),
	ALLOW(munmap),
	ALLOW(mremap),
	ALLOW(madvise),
	THREADS_ONLY,
	SANITIZER_CALLS ALLOW(set_robust_list),
	ALLOW(rseq),
	ALLOW(futex),
	ALLOW(membarrier),
	ALLOW(sched_yield),
	ALLOW(sched_getaffinity),
	ALLOW(getpid),
	ALLOW(gettid),
	ALLOW(getuid),
	ALLOW(geteuid),
	ALLOW(getgid),
	ALLOW(getegid),
	ALLOW(clock_gettime),
	ALLOW(clock_nanosleep),
	ALLOW(nanosleep),
	ALLOW(gettimeofday),
	ALLOW(rt_sigaction),
	ALLOW(rt_sigprocmask),
	ALLOW(rt_sigreturn),
	ALLOW_SELF(tgkill),
	ALLOW(restart_syscall),
	ALLOW(exit),
	ALLOW(exit_group),
	END,
};

static const struct {
	const char *name;
	const struct sandbox_rule *rules;
} tables[SANDBOX_PROC_MAX] = {
	[SANDBOX_DNSD] = { "dnsd", dnsd_rules },
	[SANDBOX_AUDITD] = { "auditd", auditd_rules },
	[SANDBOX_ENFORCER] = { "enforcer", enforcer_rules },
};

const char *sandbox_proc_name(enum sandbox_proc proc)
{
	return (unsigned int)proc < SANDBOX_PROC_MAX ? tables[proc].name : NULL;
}

static int add_rule(scmp_filter_ctx ctx, const struct sandbox_rule *r, pid_t self)
{
	struct scmp_arg_cmp cmp[2];
	unsigned int i, n = 0;

	if (r->self) {
		cmp[n].arg = 0;
		cmp[n].op = SCMP_CMP_EQ;
		cmp[n].datum_a = (scmp_datum_t)self;
		cmp[n].datum_b = 0;
		n++;
	}
	for (i = 0; i < r->n_cmp && n < 2; i++, n++) {
		cmp[n].arg = r->cmp[i].arg;
		cmp[n].op = r->cmp[i].op;
		cmp[n].datum_a = r->cmp[i].a;
		cmp[n].datum_b = r->cmp[i].b;
	}
	return seccomp_rule_add_array(ctx, r->action, r->nr, n, cmp);
}

static bool log_mode(void)
{
	const char *v = getenv(SANDBOX_LOG_ENV);

	return v && !strcmp(v, "1");
}

int sandbox_apply(enum sandbox_proc proc)
{
	const struct sandbox_rule *r;
	scmp_filter_ctx ctx;
	uint32_t def = SCMP_ACT_KILL_PROCESS;
	pid_t self = getpid();
	int err;

	if ((unsigned int)proc >= SANDBOX_PROC_MAX)
		return -EINVAL;
	/* glibc reads /etc/localtime at the first time conversion (gmtime_r included): now,
	 * while open() is still allowed, and never again. */
	tzset();
	if (log_mode()) {
		def = SCMP_ACT_LOG;
		log_warnx("seccomp: %s=1: syscalls outside the allowlist are logged (dmesg, audit "
			  "type 1326), not refused; for debugging only",
			  SANDBOX_LOG_ENV);
	}
	ctx = seccomp_init(def);
	if (!ctx) {
		log_warnx("seccomp: init failed");
		return -ENOMEM;
	}
	/* Only the native architecture (seccomp_init's default), anything else killed. */
	err = seccomp_arch_exist(ctx, SCMP_ARCH_NATIVE);
	if (!err)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* Every thread, should a library have started one already. */
	if (!err)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (err) {
		log_warnx("seccomp: filter attributes: %s", strerror(-err));
		goto out;
	}
	for (r = tables[proc].rules; r->name; r++) {
		err = add_rule(ctx, r, self);
		if (err) {
			log_warnx("seccomp: %s: rule for %s: %s", tables[proc].name, r->name,
				  strerror(-err));
			goto out;
		}
	}
	err = seccomp_load(ctx);
	if (err)
		log_warnx("seccomp: loading the %s filter: %s", tables[proc].name, strerror(-err));
out:
	seccomp_release(ctx);
	return err;
}

int sandbox_describe(enum sandbox_proc proc, FILE *f)
{
	const struct sandbox_rule *r, *prev = NULL;
	bool paren = false;

	if ((unsigned int)proc >= SANDBOX_PROC_MAX)
		return -EINVAL;
	/* Rules for one call are adjacent in the tables: "`socket` (AF_INET; AF_INET6)". */
	for (r = tables[proc].rules; r->name; r++) {
		if (r->sanitizer)
			continue;
		if (!prev || strcmp(prev->name, r->name)) {
			if (paren)
				fputc(')', f);
			paren = false;
			fprintf(f, "%s`%s`", prev ? ", " : "", r->name);
		}
		if (r->note) {
			fputs(paren ? "; " : " (", f);
			fputs(r->note, f);
			paren = true;
		}
		prev = r;
	}
	if (paren)
		fputc(')', f);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
