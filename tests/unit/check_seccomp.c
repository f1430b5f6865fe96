// SPDX-License-Identifier: Apache-2.0
/* The seccomp allowlists of common/seccomp.c, applied for real in forked children: what each
 * process must never do is refused (the child dies of SIGSYS), what it needs still works, and
 * SECURITY.md lists exactly what the tables allow.
 *
 * `check_seccomp --print` prints each table as SECURITY.md shows it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/membarrier.h>
#include <linux/netlink.h>
#include <unbound-event.h>
#include <unbound.h>

#include "dnsd/dnsd.h"

#include "common/seccomp.h"

#ifndef CW_SECURITY_MD
#error "CW_SECURITY_MD (path of SECURITY.md) must be defined by the build"
#endif

/* Exit codes of a probe child: 0 all well, PROBE_SETUP the filter did not load, else the line
 * of the failed step (so a failure names it). */
#define PROBE_SETUP 250
#define NEED(cond)                                 \
	do {                                       \
		if (!(cond))                       \
			_exit(__LINE__ % 200 + 1); \
	} while (0)

typedef void (*probe_fn)(void);

/* Start fn in a child under proc's filter; its pid. The child leaves by _exit: exit handlers
 * (LeakSanitizer's among them) are no business of a sandboxed child. */
static pid_t spawn_sandboxed(enum sandbox_proc proc, probe_fn fn)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (sandbox_apply(proc))
			_exit(PROBE_SETUP);
		fn();
		_exit(0);
	}
	return pid;
}

/* Run fn in a child under proc's filter; the child's wait status. */
static int run_sandboxed(enum sandbox_proc proc, probe_fn fn)
{
	int status = 0;
	pid_t pid = spawn_sandboxed(proc, fn);

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_killed(enum sandbox_proc proc, probe_fn fn, const char *what)
{
	int st = run_sandboxed(proc, fn);

	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		      "%s: %s was not refused: %s %d (want killed by SIGSYS)",
		      sandbox_proc_name(proc), what, WIFSIGNALED(st) ? "signal" : "exit status",
		      WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

static void assert_status_ok(enum sandbox_proc proc, int st, const char *what)
{
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "%s: %s failed: %s %d (an exit status is the probe's line %% 200 + 1)",
		      sandbox_proc_name(proc), what, WIFSIGNALED(st) ? "signal" : "exit status",
		      WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

static void assert_works(enum sandbox_proc proc, probe_fn fn, const char *what)
{
	assert_status_ok(proc, run_sandboxed(proc, fn), what);
}

/* ---- what no process may do ------------------------------------------------------------- */

static void do_execve(void)
{
	char *const argv[] = { "/bin/true", NULL };

	execve(argv[0], argv, NULL);
}

static void do_ptrace(void)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void do_fork(void)
{
	/* Raw clone without CLONE_THREAD: what fork() is, without glibc's atfork work. */
	if (syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0) == 0)
		_exit(0);
}

static void do_bpf(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
}

static void do_netlink(void)
{
	socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

static void do_exec_memory(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void do_signal_parent(void)
{
	/* signal 0: harmless if it were allowed */
	syscall(SYS_tgkill, getppid(), getppid(), 0);
}

static void do_getppid(void)
{
	syscall(SYS_getppid);
}

#ifdef __x86_64__
/* The x32 ABI shares x86_64's audit architecture; an allowed call (getpid) reached through
 * its x32 number must not pass. */
static void do_x32_getpid(void)
{
	syscall(0x40000000 | SYS_getpid);
}
#endif

START_TEST(test_refused_everywhere)
{
	enum sandbox_proc p = (enum sandbox_proc)_i;

	assert_killed(p, do_execve, "execve");
	assert_killed(p, do_ptrace, "ptrace");
	assert_killed(p, do_fork, "fork (clone without CLONE_THREAD)");
	assert_killed(p, do_exec_memory, "mmap PROT_EXEC");
	assert_killed(p, do_signal_parent, "tgkill of another process");
	assert_killed(p, do_getppid, "getppid (in no table)");
#ifdef __x86_64__
	assert_killed(p, do_x32_getpid, "an x32 syscall");
#endif
}
END_TEST

START_TEST(test_refused_dnsd_auditd)
{
	enum sandbox_proc p = _i ? SANDBOX_AUDITD : SANDBOX_DNSD;

	assert_killed(p, do_bpf, "bpf()");
	assert_killed(p, do_netlink, "socket(AF_NETLINK)");
}
END_TEST

static void do_unix_socket(void)
{
	socket(AF_UNIX, SOCK_STREAM, 0);
}

static void do_packet_socket(void)
{
	socket(AF_PACKET, SOCK_RAW, 0);
}

/* dnsd and auditd open nothing: openat fails (glibc's malloc probes a /proc file lazily) */
static void need_open_fails(void)
{
	NEED(openat(AT_FDCWD, "/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC) < 0 &&
	     errno == EACCES);
	NEED(openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES);
}

START_TEST(test_refused_dnsd_files_sockets)
{
	assert_killed(SANDBOX_DNSD, do_unix_socket, "socket(AF_UNIX)");
	assert_killed(SANDBOX_DNSD, do_packet_socket, "socket(AF_PACKET)");
	assert_works(SANDBOX_DNSD, need_open_fails, "openat failing with EACCES");
}
END_TEST

static void do_inet_socket(void)
{
	socket(AF_INET, SOCK_DGRAM, 0);
}

static void do_open_write(void)
{
	openat(AT_FDCWD, "/nonexistent-cargowall-test/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}

static void do_netlink_diag(void)
{
	socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
}

START_TEST(test_refused_enforcer)
{
	assert_killed(SANDBOX_ENFORCER, do_inet_socket, "socket(AF_INET)");
	assert_killed(SANDBOX_ENFORCER, do_open_write, "openat for writing");
	assert_killed(SANDBOX_ENFORCER, do_netlink_diag, "socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
	assert_killed(SANDBOX_AUDITD, do_inet_socket, "socket(AF_INET)");
	assert_killed(SANDBOX_AUDITD, do_open_write, "openat for writing");
}
END_TEST

/* ---- what each process needs ------------------------------------------------------------ */

static void *thread_main(void *arg)
{
	return arg;
}

/* glibc tries clone3 first; the filter answers ENOSYS and it falls back to clone. */
static void need_thread(void)
{
	static int token;
	void *ret = NULL;
	pthread_t t;

	NEED(pthread_create(&t, NULL, thread_main, &token) == 0);
	NEED(pthread_join(t, &ret) == 0 && ret == &token);
}

static void need_common(void)
{
	struct timespec ts;
	void *m;

	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	NEED(m != MAP_FAILED);
	NEED(mprotect(m, 4096, PROT_READ) == 0);
	NEED(munmap(m, 1 << 20) == 0);
	m = malloc(1 << 22); /* large: mmap'd */
	NEED(m);
	free(m);
	NEED(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	NEED(clock_gettime(CLOCK_REALTIME, &ts) == 0);
	NEED(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0) == 0);
}

static void need_dnsd(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t sl = sizeof(sin);
	char buf[16];
	int fd, ep;

	need_common();
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	NEED(fd >= 0);
	NEED(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	NEED(getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
	NEED(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	NEED(ep >= 0);
	NEED(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	NEED(sendto(fd, "q", 1, 0, NULL, 0) == 1);
	NEED(epoll_wait(ep, &ev, 1, 1000) == 1);
	NEED(recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL) == 1);
	NEED(close(fd) == 0);
	NEED(close(ep) == 0);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	NEED(fd >= 0 || errno == EAFNOSUPPORT);
	if (fd >= 0)
		NEED(close(fd) == 0);
	NEED(getrandom(buf, sizeof(buf), 0) == sizeof(buf));
}

/* auditd's evq doorbell: an eventfd the launcher made (eventfd2 itself is not allowed). */
static int probe_efd = -1;

static void need_auditd(void)
{
	union bpf_attr attr;
	char buf[256];
	int fd;
	struct iovec iov;
	struct tm tm;
	uint64_t v = 0;
	time_t now = time(NULL);

	need_common();
	/* gmtime_r would open /etc/localtime the first time; sandbox_apply read it already */
	NEED(gmtime_r(&now, &tm));
	NEED(write(STDERR_FILENO, "", 0) == 0);
	iov.iov_base = &v;
	iov.iov_len = sizeof(v);
	NEED(preadv2(probe_efd, &iov, 1, -1, RWF_NOWAIT) == sizeof(v) && v == 1);
	NEED(preadv2(probe_efd, &iov, 1, -1, RWF_NOWAIT) < 0 && errno == EAGAIN);
	/* cmdline from /proc, read-only */
	fd = openat(AT_FDCWD, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	NEED(fd >= 0);
	NEED(read(fd, buf, sizeof(buf)) > 0);
	NEED(close(fd) == 0);
	/* the loss counter: a map lookup reaches the kernel (no map at fd -1: EBADF) */
	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)-1;
	NEED(syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)) < 0 &&
	     (errno == EBADF || errno == EPERM));
}

static void need_enforcer(void)
{
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct itimerspec its = { { 0, 0 }, { 1, 0 } };
	union bpf_attr attr;
	char buf[4096];
	int fd;

	need_common();
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	NEED(fd >= 0);
	NEED(bind(fd, (struct sockaddr *)&snl, sizeof(snl)) == 0);
	NEED(close(fd) == 0);
	NEED(if_nametoindex("lo") > 0);
	/* bpf() reaches the kernel: an empty map definition is EINVAL (EPERM when not root) */
	memset(&attr, 0, sizeof(attr));
	NEED(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)) < 0 &&
	     (errno == EINVAL || errno == EPERM));
	fd = openat(AT_FDCWD, "/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
	NEED(fd >= 0);
	NEED(read(fd, buf, sizeof(buf)) > 0);
	NEED(close(fd) == 0);
	fd = openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	NEED(fd >= 0);
	NEED(syscall(SYS_getdents64, fd, buf, sizeof(buf)) > 0);
	NEED(close(fd) == 0);
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	NEED(fd >= 0);
	NEED(timerfd_settime(fd, 0, &its, NULL) == 0);
	NEED(close(fd) == 0);
	NEED(syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0) >= 0);
	need_thread();
}

START_TEST(test_needed_calls_work)
{
	assert_works(SANDBOX_DNSD, need_dnsd, "sockets, epoll, randomness");
	probe_efd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(probe_efd, 0);
	assert_works(SANDBOX_AUDITD, need_auditd,
		     "memory, time, write, the doorbell, /proc reads, a map lookup");
	close(probe_efd);
	assert_works(SANDBOX_ENFORCER, need_enforcer, "netlink, bpf, read-only open, a thread");
}
END_TEST

/* libunbound as dnsd runs it (dnsd/ubevent.c): in the event loop's own thread, the context
 * finalized and its socket opened at the first query, after the filter. A real query goes to a
 * forwarder on loopback that this test's parent answers, unfiltered (nothing leaves the host); the child resolves it
 * under dnsd's filter, with no thread, pipe or eventfd, and must get the address. */
static struct ub_ctx *probe_ub;
static int probe_ub_done;

static void on_ub_event(void *arg, int err, void *pkt, int len, int sec, char *why_bogus,
			int was_ratelimited)
{
	const uint8_t *p = pkt;

	(void)arg;
	(void)sec;
	(void)why_bogus;
	(void)was_ratelimited;
	/* NOERROR, and our A record's address, 10.0.0.7 (rdlength 4, then the address); a name
	 * outside libunbound's locally served zones (test. is one: NXDOMAIN, never asked). */
	probe_ub_done = !err && p && len > 12 && (p[3] & 0x0f) == 0 &&
					memmem(p, (size_t)len, "\0\4\12\0\0\7", 6) ?
				1 :
				-1;
}

static void need_unbound_inloop(void)
{
	struct pollfd pfd = { .fd = ubevent_fd(), .events = POLLIN };
	int i;

	NEED(ub_resolve_event(probe_ub, "probe.cargowall.net.", 1, 1, NULL, on_ub_event, NULL) ==
	     0);
	for (i = 0; i < 500 && !probe_ub_done; i++) {
		NEED(poll(&pfd, 1, 10) >= 0);
		ubevent_dispatch(true, NULL, NULL);
	}
	NEED(probe_ub_done != 0); /* answered at all */
	NEED(probe_ub_done == 1); /* with the forwarder's address */
}

/* The forwarder: answers every query on fd with one A record, 10.0.0.7, until the child is
 * gone (bounded: 10 s). */
static int serve_until_exit(int fd, pid_t pid)
{
	uint8_t q[512], a[600];
	struct sockaddr_in from;
	socklen_t fl;
	int status = 0, i;

	for (i = 0; i < 1000; i++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		size_t off;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		fl = sizeof(from);
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n < 17)
			continue;
		for (off = 12; off < (size_t)n && q[off]; off += q[off] + 1u)
			;
		off += 5; /* the root label, QTYPE, QCLASS */
		if (off > (size_t)n)
			continue;
		memcpy(a, q, off);
		a[2] = 0x81;			 /* QR, RD */
		a[3] = 0x80;			 /* RA, NOERROR */
		a[6] = 0, a[7] = 1;		 /* ANCOUNT */
		a[8] = a[9] = a[10] = a[11] = 0; /* no authority, no additional */
		memcpy(a + off, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x07",
		       16);
		sendto(fd, a, off + 16, 0, (struct sockaddr *)&from, fl);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return status;
}

START_TEST(test_dnsd_libunbound_inloop)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	char fwd[64];
	int fd, st;
	pid_t pid;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(fwd, sizeof(fwd), "127.0.0.1@%u", (unsigned int)ntohs(sin.sin_port));
	ck_assert_ptr_nonnull(ubevent_base());
	probe_ub = ub_ctx_create_ub_event(ubevent_base());
	ck_assert_ptr_nonnull(probe_ub);
	ck_assert_int_eq(ub_ctx_set_option(probe_ub, "do-not-query-localhost:", "no"), 0);
	ck_assert_int_eq(ub_ctx_set_option(probe_ub, "module-config:", "iterator"), 0);
	ck_assert_int_eq(ub_ctx_set_fwd(probe_ub, fwd), 0);
	pid = spawn_sandboxed(SANDBOX_DNSD, need_unbound_inloop);
	st = serve_until_exit(fd, pid);
	assert_status_ok(SANDBOX_DNSD, st, "libunbound in the event loop, a real query");
	ub_ctx_delete(probe_ub);
	ubevent_free();
	close(fd);
}
END_TEST

/* dnsd starts no thread: one is refused (glibc's pthread_create: clone3, then clone). */
static void do_thread(void)
{
	need_thread();
}

START_TEST(test_dnsd_no_thread)
{
	assert_killed(SANDBOX_DNSD, do_thread, "a thread (clone)");
}
END_TEST

/* ---- the debugging mode and the API ----------------------------------------------------- */

static void do_getppid_logged(void)
{
	NEED(syscall(SYS_getppid) == getppid());
}

START_TEST(test_log_mode)
{
	enum sandbox_proc p = (enum sandbox_proc)_i;

	/* Only "1" turns it on; anything else leaves the filter killing. */
	ck_assert_int_eq(setenv(SANDBOX_LOG_ENV, "yes", 1), 0);
	assert_killed(p, do_getppid, "getppid with " SANDBOX_LOG_ENV "=yes");
	ck_assert_int_eq(setenv(SANDBOX_LOG_ENV, "1", 1), 0);
	assert_works(p, do_getppid_logged, "getppid with " SANDBOX_LOG_ENV "=1 (logged)");
	ck_assert_int_eq(unsetenv(SANDBOX_LOG_ENV), 0);
}
END_TEST

START_TEST(test_api)
{
	ck_assert_int_eq(sandbox_apply(SANDBOX_PROC_MAX), -EINVAL);
	ck_assert_ptr_null(sandbox_proc_name(SANDBOX_PROC_MAX));
	ck_assert_str_eq(sandbox_proc_name(SANDBOX_DNSD), "dnsd");
	ck_assert_str_eq(sandbox_proc_name(SANDBOX_AUDITD), "auditd");
	ck_assert_str_eq(sandbox_proc_name(SANDBOX_ENFORCER), "enforcer");
	ck_assert_int_eq(sandbox_describe(SANDBOX_PROC_MAX, stdout), -EINVAL);
}
END_TEST

/* ---- SECURITY.md lists exactly the tables ------------------------------------------------- */

static char *describe(enum sandbox_proc p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int err;

	if (!f)
		return NULL;
	err = sandbox_describe(p, f);
	if (fclose(f) || err) {
		free(text);
		return NULL;
	}
	return text;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* Runs of white space become one space: SECURITY.md wraps the lists at 100 columns. */
static void squeeze(char *s)
{
	char *out = s;
	bool space = false;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\t') {
			space = true;
			continue;
		}
		if (space && out != s)
			*out++ = ' ';
		space = false;
		*out++ = *s;
	}
	*out = '\0';
}

START_TEST(test_security_md_in_sync)
{
	char *doc = read_file(CW_SECURITY_MD), *line, *want;
	char prefix[64];
	int p;

	squeeze(doc);
	for (p = 0; p < SANDBOX_PROC_MAX; p++) {
		snprintf(prefix, sizeof(prefix), "- `cargowall-%s`: ", sandbox_proc_name(p));
		want = describe(p);
		ck_assert_ptr_nonnull(want);
		squeeze(want);
		line = strstr(doc, prefix);
		ck_assert_msg(line != NULL, "SECURITY.md has no line starting \"%s\"", prefix);
		line += strlen(prefix);
		ck_assert_msg(!strncmp(line, want, strlen(want)) &&
				      (line[strlen(want)] == ' ' || !line[strlen(want)]),
			      "SECURITY.md's syscall list of %s differs from common/seccomp.c; "
			      "regenerate it with `check_seccomp --print`. The table says:\n%s",
			      sandbox_proc_name(p), want);
		free(want);
	}
	free(doc);
}
END_TEST

static Suite *seccomp_suite(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("seccomp");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_refused_everywhere, 0, SANDBOX_PROC_MAX);
	tcase_add_loop_test(tc, test_refused_dnsd_auditd, 0, 2);
	tcase_add_test(tc, test_refused_dnsd_files_sockets);
	tcase_add_test(tc, test_refused_enforcer);
	tcase_add_test(tc, test_needed_calls_work);
	tcase_add_test(tc, test_dnsd_libunbound_inloop);
	tcase_add_test(tc, test_dnsd_no_thread);
	tcase_add_loop_test(tc, test_log_mode, 0, SANDBOX_PROC_MAX);
	tcase_add_test(tc, test_api);
	tcase_add_test(tc, test_security_md_in_sync);
	suite_add_tcase(s, tc);
	return s;
}

/* The lists as SECURITY.md shows them: a Markdown item per process, wrapped at 100 columns. */
static int print_tables(void)
{
	char *text, *word, *save = NULL;
	size_t col;
	int p;

	for (p = 0; p < SANDBOX_PROC_MAX; p++) {
		text = describe(p);
		if (!text)
			return 1;
		printf("- `cargowall-%s`:", sandbox_proc_name(p));
		col = strlen("- `cargowall-`:") + strlen(sandbox_proc_name(p));
		for (word = strtok_r(text, " \n", &save); word;
		     word = strtok_r(NULL, " \n", &save)) {
			if (col + 1 + strlen(word) > 100) {
				printf("\n ");
				col = 1;
			}
			printf(" %s", word);
			col += 1 + strlen(word);
		}
		printf("\n");
		free(text);
	}
	return 0;
}

int main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc == 2 && !strcmp(argv[1], "--print"))
		return print_tables();
	sr = srunner_create(seccomp_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
