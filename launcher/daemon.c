// SPDX-License-Identifier: Apache-2.0
/* The supervisor: runs the enforcer, auditd and dnsd in that order, each in its own cgroup with
 * exactly the fds it needs, each only after the one before it reported live; waits for SIGTERM or
 * SIGINT; tears down in reverse. Also the fork that turns it into a daemon. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "../common/child.h"
#include "../common/log.h"
#include "../proto/maps.h"
#include "launcher.h"

const char *const ch_name[CH_MAX] = { "enforcer", "auditd", "dnsd" };

static void report(struct start_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The outcome of start: to the waiting `start` process in daemon mode, else to stderr. */
static void report(struct start_ctx *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (c->report_fd >= 0) {
		if (write(c->report_fd, buf, strnlen(buf, sizeof(buf))) < 0) {
			/* the waiting start is gone: nothing else to tell */
		}
		close(c->report_fd);
		c->report_fd = -1;
	} else {
		fprintf(stderr, "cargowall: %s\n", buf);
	}
}

/* fork+exec a child with fds[i] at fd 3+i, in its own cgroup. */
static pid_t spawn(const char *cg, char *const argv[], const int *fds, int n_fds)
{
	pid_t pid = fork();
	int tmp[16], i, fd;

	if (pid != 0)
		return pid;
	fd = open(cg, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		fprintf(stderr, "cargowall: cannot join cgroup %s: %s\n", cg, strerror(errno));
		_exit(126);
	}
	close(fd);
	for (i = 0; i < n_fds; i++) {
		tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
		if (tmp[i] < 0)
			_exit(126);
	}
	for (i = 0; i < n_fds; i++)
		if (dup2(tmp[i], 3 + i) < 0)
			_exit(126);
	close_range(3 + n_fds, ~0U, 0);
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0)
		_exit(126);
	if (fd > 0)
		close(fd);
	execv(argv[0], argv);
	fprintf(stderr, "cargowall: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int wait_ready(struct start_ctx *c, int k, int rd)
{
	struct pollfd pfd = { .fd = rd, .events = POLLIN };
	char b = 0;
	int n, status;

	n = poll(&pfd, 1, CW_CHILD_READY_TIMEOUT_MS);
	if (n > 0 && read(rd, &b, 1) == 1 && b == 'R')
		return 0;
	if (n == 0) {
		report(c, "start failed: %s did not become live within %d ms", ch_name[k],
		       CW_CHILD_READY_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	if (waitpid(c->pid[k], &status, 0) == c->pid[k]) {
		c->pid[k] = 0;
		if (WIFEXITED(status))
			report(c,
			       "start failed: %s exited with status %d (its reason is on "
			       "stderr / %s/daemon.log)",
			       ch_name[k], WEXITSTATUS(status), c->state_dir);
		else
			report(c, "start failed: %s killed by signal %d", ch_name[k],
			       WTERMSIG(status));
	} else {
		report(c, "start failed: %s closed its ready pipe", ch_name[k]);
	}
	return -EIO;
}

static int start_child(struct start_ctx *c, int k, char *const argv[], int *fds, int n_fds)
{
	int pipefd[2], ret;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	fds[1] = pipefd[1];
	c->pid[k] = spawn(c->cg[k], argv, fds, n_fds);
	close(pipefd[1]);
	if (c->pid[k] < 0) {
		ret = -errno;
		c->pid[k] = 0;
		close(pipefd[0]);
		report(c, "start failed: fork: %s", strerror(-ret));
		return ret;
	}
	ret = wait_ready(c, k, pipefd[0]);
	close(pipefd[0]);
	if (!ret)
		pidfile_write(c->state_dir, ch_name[k], c->pid[k]);
	return ret;
}

static void stop_child(struct start_ctx *c, int k)
{
	int status, waited;

	if (c->pid[k] <= 0)
		return;
	kill(c->pid[k], SIGTERM);
	for (waited = 0; waited < CW_STOP_TIMEOUT_MS; waited += 10) {
		if (waitpid(c->pid[k], &status, WNOHANG) == c->pid[k])
			break;
		usleep(10000);
	}
	if (waited >= CW_STOP_TIMEOUT_MS) {
		log_warnx("%s did not stop in time; killing it", ch_name[k]);
		kill(c->pid[k], SIGKILL);
		waitpid(c->pid[k], &status, 0);
	}
	c->pid[k] = 0;
}

/* Reverse of start: dnsd first (no answer escapes without the enforcer), the enforcer (detaches
 * and unpins), auditd last so it drains the ring. Then make sure nothing is left. */
static void teardown(struct start_ctx *c)
{
	stop_child(c, CH_DNSD);
	stop_child(c, CH_ENFORCER);
	stop_child(c, CH_AUDITD);
	if (run_enforcer_cleanup(&c->st) < 0)
		log_warnx("cleanup under %s incomplete", c->st.bpffs);
	state_remove_cgroups(&c->st);
	state_remove_files(c->state_dir);
}

static int make_cgroups(struct start_ctx *c)
{
	int k;

	if (mkdir(c->st.cg_base, 0755) < 0)
		return -errno;
	for (k = 0; k < CH_MAX; k++) {
		char dir[PATH_MAX + 16];

		snprintf(dir, sizeof(dir), "%s/%s", c->st.cg_base, ch_name[k]);
		if (mkdir(dir, 0755) < 0)
			return -errno;
		if (path_fmt(c->cg[k], sizeof(c->cg[k]), "%s/cgroup.procs", dir))
			return -ENAMETOOLONG;
	}
	return 0;
}

static int run_children(struct start_ctx *c)
{
	char prog[CH_MAX][PATH_MAX], dnsd_cg[PATH_MAX + 16], ring[PATH_MAX + 16];
	char *argv[32];
	int fds[10], n, k, ret;
	size_t i;

	for (k = 0; k < CH_MAX; k++)
		snprintf(prog[k], sizeof(prog[k]), "%s/cargowall-%s", self_dir(), ch_name[k]);
	snprintf(dnsd_cg, sizeof(dnsd_cg), "%s/dnsd", c->st.cg_base);

	n = 0;
	argv[n++] = prog[CH_ENFORCER];
	argv[n++] = "--mode";
	argv[n++] = c->st.mode;
	argv[n++] = "--bpffs";
	argv[n++] = c->st.bpffs;
	argv[n++] = "--cgroup";
	argv[n++] = c->st.cgroup;
	for (i = 0; i < c->st.n_ifaces; i++) {
		argv[n++] = "--interface";
		argv[n++] = c->st.ifaces[i];
	}
	if (c->st.scoped)
		argv[n++] = "--scoped";
	if (c->o.allow_raw)
		argv[n++] = "--allow-raw-sockets";
	argv[n++] = "--dnsd-cgroup";
	argv[n++] = dnsd_cg;
	argv[n++] = "--dns-upstream";
	argv[n++] = c->upstream;
	if (c->o.allow_private)
		argv[n++] = "--allow-private-answers";
	if (c->o.verbose)
		argv[n++] = "--verbose";
	argv[n] = NULL;
	fds[0] = c->policy_fd;
	fds[2] = c->dnsq_fd;
	fds[3] = c->dnsq_bell;
	ret = start_child(c, CH_ENFORCER, argv, fds, 4);
	if (ret)
		return ret;

	snprintf(ring, sizeof(ring), "%s/%s", c->st.bpffs, CW_PIN_EVENTS);
	c->ring_fd = bpf_obj_get(ring);
	if (c->ring_fd < 0) {
		report(c, "start failed: cannot open the event ring %s: %s", ring, strerror(errno));
		return -EIO;
	}
	n = 0;
	argv[n++] = prog[CH_AUDITD];
	argv[n++] = "--mode";
	argv[n++] = c->st.mode;
	argv[n++] = "--user";
	argv[n++] = (char *)c->o.auditd_user;
	if (c->o.verbose)
		argv[n++] = "--verbose";
	argv[n] = NULL;
	fds[0] = c->policy_fd;
	fds[2] = c->evq_fd;
	fds[3] = c->evq_bell;
	fds[4] = c->ring_fd;
	fds[5] = c->log_fd;
	ret = start_child(c, CH_AUDITD, argv, fds, 6);
	if (ret)
		return ret;

	n = 0;
	argv[n++] = prog[CH_DNSD];
	argv[n++] = "--mode";
	argv[n++] = c->st.mode;
	argv[n++] = "--upstream";
	argv[n++] = c->upstream;
	argv[n++] = "--user";
	argv[n++] = (char *)c->o.dnsd_user;
	if (c->o.allow_private)
		argv[n++] = "--allow-private-answers";
	if (c->dns_no_ipv6)
		argv[n++] = "--no-ipv6";
	if (c->o.verbose)
		argv[n++] = "--verbose";
	argv[n] = NULL;
	fds[0] = c->policy_fd;
	fds[2] = c->dnsq_fd;
	fds[3] = c->dnsq_bell;
	fds[4] = c->evq_fd;
	fds[5] = c->evq_bell;
	fds[6] = c->udp4_fd; /* CW_DNSD_FD_UDP4 = 9 */
	fds[7] = c->tcp4_fd; /* 10 */
	fds[8] = c->udp6_fd; /* 11 */
	fds[9] = c->tcp6_fd; /* 12 */
	return start_child(c, CH_DNSD, argv, fds, 10);
}

static void reap(struct start_ctx *c)
{
	int status, k;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (k = 0; k < CH_MAX; k++) {
			if (c->pid[k] != pid)
				continue;
			c->pid[k] = 0;
			/* The pinned programs keep enforcing with the maps as they are: a dead
			 * child never opens the firewall. Restart is the supervisor's next job. */
			if (WIFEXITED(status))
				log_warnx("%s exited with status %d", ch_name[k],
					  WEXITSTATUS(status));
			else
				log_warnx("%s killed by signal %d", ch_name[k], WTERMSIG(status));
		}
	}
}

/* The daemon: start the trio, report, then wait for SIGTERM/SIGINT. */
int supervise(struct start_ctx *c)
{
	struct signalfd_siginfo si;
	sigset_t set;
	int sfd, ret;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		report(c, "start failed: signalfd: %s", strerror(errno));
		return 1;
	}
	c->st.pid = getpid();
	/* The daemons' cgroups: children of ours, named after the supervisor's pid. */
	ret = path_fmt(c->st.cg_base, sizeof(c->st.cg_base), "%s/cargowall.%d", c->cg_prefix,
		       (int)c->st.pid);
	if (!ret)
		ret = pidfile_write(c->state_dir, "cargowall", c->st.pid);
	if (!ret)
		ret = state_write(c->state_dir, &c->st);
	if (ret) {
		report(c, "start failed: cannot write %s: %s", c->state_dir, strerror(-ret));
		state_remove_files(c->state_dir);
		return 1;
	}
	ret = make_cgroups(c);
	if (ret) {
		report(c, "start failed: cannot create cgroups under %s: %s", c->st.cg_base,
		       strerror(-ret));
		teardown(c);
		return 1;
	}
	if (run_children(c)) {
		teardown(c);
		return 1;
	}
	report(c, "OK");
	log_info("enforcement live: mode %s, pid %d", c->st.mode, (int)c->st.pid);
	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n != sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			log_warn("signalfd");
			break;
		}
		if (si.ssi_signo == SIGCHLD) {
			reap(c);
			continue;
		}
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			break;
	}
	log_info("stopping");
	teardown(c);
	return 0;
}

int daemon_start(struct start_ctx *c, pid_t *pid_out)
{
	char msg[1024];
	int rep[2];
	ssize_t n;
	pid_t pid;

	if (pipe2(rep, O_CLOEXEC) < 0) {
		perror("cargowall: pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("cargowall: fork");
		return 1;
	}
	if (pid == 0) {
		char logpath[PATH_MAX + 16];
		int fd;

		close(rep[0]);
		c->report_fd = rep[1];
		setsid();
		snprintf(logpath, sizeof(logpath), "%s/daemon.log", c->state_dir);
		fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		_exit(supervise(c));
	}
	close(rep[1]);
	n = read(rep[0], msg, sizeof(msg) - 1);
	close(rep[0]);
	msg[n > 0 ? n : 0] = '\0';
	if (n > 0 && !strcmp(msg, "OK")) {
		*pid_out = pid;
		return 0;
	}
	fprintf(stderr, "cargowall: %s\n", n > 0 ? msg : "start failed: the daemon died");
	waitpid(pid, NULL, 0);
	return 1;
}
