// SPDX-License-Identifier: Apache-2.0
/* The supervisor's start and stop: runs the enforcer and dnsd side by side, then auditd once the
 * enforcer has pinned its maps (run_children()), each in its own cgroup with exactly the fds it
 * needs; supervises them (supervise.c) until SIGTERM or SIGINT; tears down in reverse. Also the
 * fork that turns it into a daemon. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/sched.h>

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

/* What one child is started with: the same argv every time (a restart is the start again), and
 * the fds at 3, 4, ... (child.h). owned[] were opened for this spawn only. */
struct child_cmd {
	char prog[PATH_MAX];
	char dnsd_cg[PATH_MAX + 16];
	char step_parent[16];
	char *argv[24 + 2 * CW_IFACES_MAX]; /* every option once, --interface IF for each */
	int fds[16];			    /* spawn() moves at most 16 */
	int n_fds;
	int owned[4]; /* policy memfd, and auditd's ring, counters and dns_clients maps */
	int n_owned;
};

static void cmd_release(struct child_cmd *cmd)
{
	int i;

	for (i = 0; i < cmd->n_owned; i++)
		close(cmd->owned[i]);
	cmd->n_owned = 0;
}

/* An fd opened for this spawn: closed by cmd_release(). */
static int cmd_own(struct child_cmd *cmd, int fd)
{
	if (fd < 0)
		return fd;
	if (cmd->n_owned == sizeof(cmd->owned) / sizeof(cmd->owned[0])) {
		close(fd);
		return -EMFILE;
	}
	cmd->owned[cmd->n_owned++] = fd;
	return fd;
}

/* A new open file description of the sealed policy memfd: children read it from offset 0, and
 * two starting at once must not share one file offset. */
static int policy_reopen(struct start_ctx *c)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->policy_fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* A map from the enforcer's pin directory: after an enforcer restart the pin is what counts. */
static int pin_open(struct start_ctx *c, const char *name, bool rdonly)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = rdonly ? BPF_F_RDONLY : 0);
	char path[PATH_MAX + 16];

	int fd;

	if (path_fmt(path, sizeof(path), "%s/%s", c->st.bpffs, name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get_opts(path, &opts);
	if (fd < 0) {
		fd = -errno;
		log_warnx("cannot open the pin %s: %s", path, strerror(-fd));
	}
	return fd;
}

static int cmd_build(struct start_ctx *c, int k, struct child_cmd *cmd)
{
	char **argv = cmd->argv;
	int *fds = cmd->fds, n = 0, fd;
	size_t i;

	memset(cmd, 0, sizeof(*cmd));
	if (path_fmt(cmd->prog, sizeof(cmd->prog), "%s/cargowall-%s", self_dir(), ch_name[k]) ||
	    path_fmt(cmd->dnsd_cg, sizeof(cmd->dnsd_cg), "%s/dnsd", c->st.cg_base))
		return -ENAMETOOLONG;
	fd = cmd_own(cmd, policy_reopen(c));
	if (fd < 0)
		return -errno;
	fds[0] = fd;
	fds[1] = -1; /* the ready pipe, per spawn */
	argv[n++] = cmd->prog;
	argv[n++] = "--mode";
	argv[n++] = c->st.mode;
	switch (k) {
	case CH_ENFORCER:
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
		if (c->o.step_parent) {
			snprintf(cmd->step_parent, sizeof(cmd->step_parent), "%d",
				 (int)c->o.step_parent);
			argv[n++] = "--step-parent";
			argv[n++] = cmd->step_parent;
		}
		argv[n++] = "--dnsd-cgroup";
		argv[n++] = cmd->dnsd_cg;
		argv[n++] = "--dns-upstream";
		argv[n++] = c->upstream;
		argv[n++] = "--user";
		argv[n++] = (char *)c->o.enforcer_user;
		if (c->o.allow_private)
			argv[n++] = "--allow-private-answers";
		if (c->container_dns[0]) {
			argv[n++] = "--container-dns";
			argv[n++] = c->container_dns;
		}
		fds[2] = c->dnsq_fd;
		fds[3] = c->dnsq_bell;
		fds[4] = c->ack_pipe[1]; /* CW_ENF_FD_ACK_BELL = 7 */
		cmd->n_fds = 5;
		break;
	case CH_AUDITD:
		argv[n++] = "--user";
		argv[n++] = (char *)c->o.auditd_user;
		fds[2] = c->evq_fd;
		fds[3] = c->evq_bell;
		/* reopened from the pins at every start: records already in the ring are read by
		 * the new auditd (the consumer position lives in the map) */
		fds[4] = cmd_own(cmd, pin_open(c, CW_PIN_EVENTS, false));
		fds[5] = c->log_fd;
		/* writable: auditd records there what it has reported (CW_CNT_AUD_*) */
		fds[6] = cmd_own(cmd, pin_open(c, CW_PIN_COUNTERS, false));
		fds[7] = c->lc_rd;
		fds[8] = cmd_own(cmd, pin_open(c, CW_PIN_DNS_CLIENTS, true));
		cmd->n_fds = 9;
		if (fds[4] < 0 || fds[6] < 0 || fds[8] < 0)
			return fds[4] < 0 ? fds[4] : fds[6] < 0 ? fds[6] : fds[8];
		break;
	default:
		argv[n++] = "--upstream";
		argv[n++] = c->upstream;
		argv[n++] = "--user";
		argv[n++] = (char *)c->o.dnsd_user;
		if (c->o.allow_private)
			argv[n++] = "--allow-private-answers";
		if (c->dns_no_ipv6)
			argv[n++] = "--no-ipv6";
		fds[2] = c->dnsq_fd;
		fds[3] = c->dnsq_bell;
		fds[4] = c->evq_fd;
		fds[5] = c->evq_bell;
		fds[6] = c->udp4_fd;	  /* CW_DNSD_FD_UDP4 = 9 */
		fds[7] = c->tcp4_fd;	  /* 10 */
		fds[8] = c->udp6_fd;	  /* 11 */
		fds[9] = c->tcp6_fd;	  /* 12 */
		fds[10] = c->ack_pipe[0]; /* CW_DNSD_FD_ACK_BELL = 13 */
		cmd->n_fds = 11;
		if (c->container_dns[0]) {
			argv[n++] = "--container-listeners";
			fds[11] = c->udpc_fd; /* CW_DNSD_FD_UDP_CTR = 14 */
			fds[12] = c->tcpc_fd; /* 15 */
			cmd->n_fds = 13;
		}
		break;
	}
	if (c->o.verbose)
		argv[n++] = "--verbose";
	argv[n] = NULL;
	return 0;
}

/* fork a child straight into its cgroup (clone3 CLONE_INTO_CGROUP: no migration afterwards,
 * which costs an RCU grace period, tens of ms, per child), with a pidfd from the same call.
 * Kernels without clone3 or CLONE_INTO_CGROUP (before 5.7): fork, then the child joins through
 * cgroup.procs (*joined false) and the pidfd comes from pidfd_open(). */
static pid_t fork_into(int cg_fd, int *pidfd, bool *joined)
{
	struct clone_args args;
	pid_t pid;

	memset(&args, 0, sizeof(args));
	args.flags = CLONE_PIDFD | CLONE_INTO_CGROUP;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	args.cgroup = (uint64_t)cg_fd;
	*pidfd = -1;
	*joined = true;
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL))
		return pid;
	*joined = false;
	return fork();
}

/* fork+exec a child with fds[i] at fd 3+i, in its own cgroup. After the fork only
 * async-signal-safe calls: clone3 skips glibc's fork handlers. */
static pid_t spawn(int cg_fd, const char *cg, char *const argv[], const int *fds, int n_fds,
		   int *pidfd)
{
	int tmp[16], i, fd;
	sigset_t none;
	bool joined;
	pid_t pid = fork_into(cg_fd, pidfd, &joined);

	if (pid != 0)
		return pid;
	/* the supervisor blocks signals for its signalfd; a child starts with none blocked */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (!joined) {
		fd = openat(cg_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1) {
			dprintf(2, "cargowall: cannot join cgroup %s: %s\n", cg, strerror(errno));
			_exit(126);
		}
		close(fd);
	}
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
	dprintf(2, "cargowall: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int child_spawn(struct start_ctx *c, int k)
{
	struct child_proc *ch = &c->ch[k];
	struct child_cmd cmd;
	int pipefd[2], ret;
	pid_t pid;

	ret = cmd_build(c, k, &cmd);
	if (ret)
		goto out;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	cmd.fds[1] = pipefd[1];
	pid = spawn(c->cg_fd[k], c->cg[k], cmd.argv, cmd.fds, cmd.n_fds, &ch->pidfd);
	ret = pid < 0 ? -errno : 0;
	close(pipefd[1]);
	if (ret) {
		close(pipefd[0]);
		goto out;
	}
	/* Our unreaped child: its pid cannot be recycled before this. */
	if (ch->pidfd < 0)
		ch->pidfd = pidfd_open(pid, 0);
	if (ch->pidfd < 0)
		log_warn("pidfd_open %s (pid %d)", ch_name[k], (int)pid);
	c->pid[k] = pid;
	ch->ready_fd = pipefd[0];
	ch->state = CHS_STARTING;
	ch->start_ms = now_ms();
	ch->due_ms = ch->start_ms + CW_CHILD_READY_TIMEOUT_MS;
out:
	cmd_release(&cmd);
	return ret;
}

/* start: wait for child k's "R", within CW_CHILD_READY_TIMEOUT_MS of its spawn. The enforcer
 * first sends "M" once the maps auditd reads are pinned: with `maps` set that returns 1 and
 * leaves the pipe open for the "R"; otherwise an "M" is skipped. 0 once live, or -errno (the
 * reason reported). */
static int wait_ready(struct start_ctx *c, int k, bool maps)
{
	struct pollfd pfd = { .fd = c->ch[k].ready_fd, .events = POLLIN };
	uint64_t now;
	char b = 0;
	int n, status;

	for (;;) {
		now = now_ms();
		n = poll(&pfd, 1, c->ch[k].due_ms > now ? (int)(c->ch[k].due_ms - now) : 0);
		if (n <= 0 || read(pfd.fd, &b, 1) != 1 || b != 'M')
			break;
		if (maps)
			return 1;
	}
	if (n > 0 && b == 'R') {
		close(pfd.fd);
		c->ch[k].ready_fd = -1;
		c->ch[k].state = CHS_RUNNING;
		pidfile_write(c->state_dir, ch_name[k], c->pid[k]);
		return 0;
	}
	close(pfd.fd);
	c->ch[k].ready_fd = -1;
	if (n == 0) {
		report(c, "start failed: %s did not become live within %d ms", ch_name[k],
		       CW_CHILD_READY_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	if (waitpid(c->pid[k], &status, 0) == c->pid[k]) {
		c->pid[k] = 0;
		c->ch[k].state = CHS_DOWN;
		close(c->ch[k].pidfd);
		c->ch[k].pidfd = -1;
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

static int start_child(struct start_ctx *c, int k)
{
	int ret = child_spawn(c, k);

	if (ret) {
		report(c, "start failed: %s: %s", ch_name[k], strerror(-ret));
		return ret;
	}
	return wait_ready(c, k, false);
}

/* Wait up to timeout_ms for child k to exit, then reap it. */
static bool reap_within(struct start_ctx *c, int k, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->ch[k].pidfd, .events = POLLIN };
	int status;

	/* a pidfd is readable once the process has exited */
	if (pfd.fd >= 0 && poll(&pfd, 1, timeout_ms) <= 0)
		return false;
	return waitpid(c->pid[k], &status, pfd.fd >= 0 ? 0 : WNOHANG) == c->pid[k];
}

void child_stop(struct start_ctx *c, int k)
{
	struct child_proc *ch = &c->ch[k];
	int waited;

	if (c->pid[k] > 0) {
		if (ch->pidfd >= 0) {
			pidfd_send_signal(ch->pidfd, SIGTERM, NULL, 0);
			if (!reap_within(c, k, CW_STOP_TIMEOUT_MS)) {
				log_warnx("%s did not stop in time; killing it", ch_name[k]);
				pidfd_send_signal(ch->pidfd, SIGKILL, NULL, 0);
				reap_within(c, k, -1);
			}
		} else {
			/* no pidfd (pidfd_open failed): our unreaped child, still safe by pid */
			kill(c->pid[k], SIGTERM);
			for (waited = 0; waited < CW_STOP_TIMEOUT_MS; waited += 10) {
				if (reap_within(c, k, 0))
					break;
				usleep(10000);
			}
			if (waited >= CW_STOP_TIMEOUT_MS) {
				kill(c->pid[k], SIGKILL);
				waitpid(c->pid[k], NULL, 0);
			}
		}
	}
	if (ch->pidfd >= 0)
		close(ch->pidfd);
	if (ch->ready_fd >= 0)
		close(ch->ready_fd);
	ch->pidfd = ch->ready_fd = -1;
	ch->state = CHS_DOWN;
	c->pid[k] = 0;
}

static int make_cgroups(struct start_ctx *c)
{
	const char *leaf = strrchr(c->st.cg_base, '/') + 1;
	int k;

	c->cg_parent_fd = open(c->cg_prefix, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->cg_parent_fd < 0 || mkdirat(c->cg_parent_fd, leaf, 0755) < 0)
		return -errno;
	c->cg_base_fd = openat(c->cg_parent_fd, leaf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->cg_base_fd < 0)
		return -errno;
	for (k = 0; k < CH_MAX; k++) {
		if (mkdirat(c->cg_base_fd, ch_name[k], 0755) < 0)
			return -errno;
		c->cg_fd[k] = openat(c->cg_base_fd, ch_name[k], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c->cg_fd[k] < 0)
			return -errno;
		if (path_fmt(c->cg[k], sizeof(c->cg[k]), "%s/%s/cgroup.procs", c->st.cg_base,
			     ch_name[k]))
			return -ENAMETOOLONG;
	}
	return 0;
}

/* The daemons' cgroups, through the fds make_cgroups() kept (paths as the fallback). */
static void remove_cgroups(struct start_ctx *c)
{
	int k;

	if (c->cg_base_fd < 0 || c->cg_parent_fd < 0) {
		state_remove_cgroups(&c->st);
		return;
	}
	for (k = 0; k < CH_MAX; k++) {
		if (unlinkat(c->cg_base_fd, ch_name[k], AT_REMOVEDIR) < 0 && errno != ENOENT)
			log_warn("rmdir %s/%s", c->st.cg_base, ch_name[k]);
		if (c->cg_fd[k] >= 0)
			close(c->cg_fd[k]);
		c->cg_fd[k] = -1;
	}
	if (unlinkat(c->cg_parent_fd, strrchr(c->st.cg_base, '/') + 1, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT)
		log_warn("rmdir %s", c->st.cg_base);
	close(c->cg_base_fd);
	close(c->cg_parent_fd);
	c->cg_base_fd = c->cg_parent_fd = -1;
}

/* Reverse of start: dnsd first (no answer escapes without the enforcer), the enforcer (detaches
 * and unpins), auditd last so it drains the ring. Then make sure nothing is left. */
void teardown(struct start_ctx *c)
{
	reload_unlisten(c);
	child_stop(c, CH_DNSD);
	child_stop(c, CH_ENFORCER);
	child_stop(c, CH_AUDITD);
	remove_cgroups(c);
	/* state.json stays when something is left: `stop` then finds it and tries again */
	if (run_enforcer_cleanup(&c->st) < 0)
		log_warnx("cleanup under %s incomplete; `cargowall stop` retries", c->st.bpffs);
	else
		state_remove_files(c->state_dir);
}

/* The enforcer and dnsd start side by side (dnsd needs nothing of the enforcer's to get ready,
 * and answers nothing whose addresses the enforcer has not applied: it waits for the ack, and
 * SERVFAILs without one); auditd needs the ring buffer the enforcer pins, so it starts once the
 * enforcer says its maps are pinned ("M"), while the enforcer attaches. start reports live once
 * all three are. */
static int run_children(struct start_ctx *c)
{
	static const int order[] = { CH_ENFORCER, CH_DNSD };
	size_t i;
	int ret;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		ret = child_spawn(c, order[i]);
		if (ret) {
			report(c, "start failed: %s: %s", ch_name[order[i]], strerror(-ret));
			return ret;
		}
	}
	ret = wait_ready(c, CH_ENFORCER, true);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		/* maps pinned, the enforcer still attaching */
		ret = child_spawn(c, CH_AUDITD);
		if (ret) {
			report(c, "start failed: %s: %s", ch_name[CH_AUDITD], strerror(-ret));
			return ret;
		}
		ret = wait_ready(c, CH_ENFORCER, false);
		if (!ret)
			ret = wait_ready(c, CH_AUDITD, false);
	} else {
		/* live without an "M" first */
		ret = start_child(c, CH_AUDITD);
	}
	if (!ret)
		ret = wait_ready(c, CH_DNSD, false);
	return ret;
}

/* The daemon: start the trio, report, supervise until SIGTERM/SIGINT, tear down. */
int supervise(struct start_ctx *c)
{
	sigset_t set;
	int sfd, ret, k, lc[2];

	for (k = 0; k < CH_MAX; k++)
		c->ch[k].pidfd = c->ch[k].ready_fd = c->cg_fd[k] = -1;
	c->cg_base_fd = c->cg_parent_fd = c->ctl_fd = -1;
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
	/* Both ends non-blocking: the supervisor never waits on auditd. */
	if (pipe2(lc, O_CLOEXEC | O_NONBLOCK) < 0) {
		report(c, "start failed: pipe: %s", strerror(errno));
		return 1;
	}
	c->lc_rd = lc[0];
	c->lc_wr = lc[1];
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
	/* after the trio is live: a reload needs all three running */
	ret = reload_listen(c);
	if (ret)
		log_warnx("no control socket in %s (%s): `cargowall reload` will not reach this "
			  "supervisor; SIGHUP still reloads",
			  c->state_dir, strerror(-ret));
	report(c, "OK");
	log_info("enforcement live: mode %s, pid %d", c->st.mode, (int)c->st.pid);
	supervise_loop(c, sfd);
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
