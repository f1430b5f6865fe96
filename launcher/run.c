// SPDX-License-Identifier: Apache-2.0
/* cargowall run [policy options] -- COMMAND [ARG...]: scoped mode (DESIGN.md §6). COMMAND and
 * its descendants get a fresh cgroup with the policy (sock_addr hooks and cgroup_skb egress on
 * that cgroup alone); nothing else on the host is touched. The summary goes to stderr; the exit
 * status is COMMAND's (128 + N when a signal N ended it). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "launcher.h"

/* How long the job's leftover processes get to die after cgroup.kill. */
#define RUN_KILL_WAIT_MS 2000

static volatile sig_atomic_t job_pid;

/* ^C and friends go to the job, which decides; we stop once it is gone. */
static void forward_signal(int sig)
{
	if (job_pid > 0)
		kill(job_pid, sig);
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX + 32];
	int fd, ret = 0;

	if (path_fmt(path, sizeof(path), "%s/%s", dir, name))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static bool cgroup_empty(const char *dir)
{
	char path[PATH_MAX + 32], buf[16];
	ssize_t n;
	int fd;

	if (path_fmt(path, sizeof(path), "%s/cgroup.procs", dir))
		return true;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n <= 0;
}

/* COMMAND's descendants that outlived it belong to the job: end them, then remove the cgroup
 * (cgroup.kill reaches every process in it, nothing outside). */
static void job_cgroup_remove(const char *dir)
{
	struct timespec ts = { 0, 10 * 1000000L };
	int waited;

	if (!cgroup_empty(dir)) {
		if (write_file(dir, "cgroup.kill", "1") < 0)
			log_warn("%s: cgroup.kill", dir);
		for (waited = 0; waited < RUN_KILL_WAIT_MS && !cgroup_empty(dir); waited += 10)
			nanosleep(&ts, NULL);
	}
	/* A task that has just been reaped can keep its cgroup busy for a moment. */
	for (waited = 0; rmdir(dir) < 0 && errno == EBUSY && waited < RUN_KILL_WAIT_MS;
	     waited += 10)
		nanosleep(&ts, NULL);
	if (access(dir, F_OK) == 0)
		log_warn("rmdir %s", dir);
}

static pid_t job_start(const char *cgroup, char **argv)
{
	char procs[PATH_MAX + 32];
	pid_t pid = fork();
	sigset_t none;
	int fd;

	if (pid != 0)
		return pid;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	/* Join the job's cgroup before exec: the hooks follow the process and its children. */
	if (path_fmt(procs, sizeof(procs), "%s/cgroup.procs", cgroup) ||
	    (fd = open(procs, O_WRONLY | O_CLOEXEC)) < 0 || write(fd, "0", 1) != 1) {
		fprintf(stderr, "cargowall: run: cannot join %s: %s\n", cgroup, strerror(errno));
		_exit(126);
	}
	close(fd);
	execvp(argv[0], argv);
	fprintf(stderr, "cargowall: run: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

int cmd_run(int argc, char **argv)
{
	struct sigaction sa;
	struct start_ctx c;
	struct stat sb;
	long offset = 0;
	pid_t sup, pid;
	int dash, ret, status = 0;

	for (dash = 1; dash < argc && strcmp(argv[dash], "--"); dash++)
		;
	if (dash >= argc - 1) {
		fprintf(stderr, "usage: cargowall run [policy options] -- COMMAND [ARG...]\n");
		return 2;
	}
	ret = start_setup(&c, dash, argv, true);
	if (ret)
		return ret;
	/* The summary covers this run only: the log is appended to, never truncated. */
	if (stat(c.st.audit_log, &sb) == 0)
		offset = (long)sb.st_size;
	ret = daemon_start(&c, &sup);
	src_free(&c.src); /* the daemon has its own copy */
	if (ret) {
		job_cgroup_remove(c.st.cgroup);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	pid = job_start(c.st.cgroup, argv + dash + 1);
	if (pid < 0) {
		log_warn("run: fork");
		status = 126 << 8;
	} else {
		job_pid = pid;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		job_pid = 0;
	}
	job_cgroup_remove(c.st.cgroup);
	/* Stop the trio (its teardown detaches everything) and wait for the supervisor. */
	kill(sup, SIGTERM);
	while (waitpid(sup, NULL, 0) < 0 && errno == EINTR)
		;
	fprintf(stderr, "\n");
	summary_write(stderr, c.st.audit_log, offset, "markdown");
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
