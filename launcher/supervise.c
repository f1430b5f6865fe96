// SPDX-License-Identifier: Apache-2.0
/* The supervisor's loop (DESIGN.md §1, issue 6): a child that dies is restarted with backoff, a
 * crash loop is given up on without detaching anything, SIGHUP reloads the policy (reload.c)
 * and reopens the audit log, a `cargowall reload` on the control socket is served, and each
 * of these is a `lifecycle` record in the audit log (through auditd: only auditd writes it).
 *
 * While a child is down nothing opens: the pinned programs keep enforcing with the maps as they
 * are (learned entries expire by their deadline, in the kernel), dnsd's listening sockets stay
 * open in the supervisor so queries wait in their buffers, and the ring buffer keeps what the
 * kernel writes until the next auditd reads it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "launcher.h"

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void lifecycle_msg(struct start_ctx *c, const char *fmt, ...)
{
	char buf[CW_LIFECYCLE_MSG_MAX];
	va_list ap;
	size_t len, i;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len = strnlen(buf, sizeof(buf) - 1);
	/* one line: auditd splits on '\n' */
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	log_info("lifecycle: %s", buf);
	buf[len++] = '\n';
	/* One write below PIPE_BUF is atomic; the pipe is non-blocking so a stuck auditd never
	 * stalls the supervisor (the line above is in daemon.log either way). */
	if (c->lc_wr >= 0 && write(c->lc_wr, buf, len) != (ssize_t)len)
		log_warn("lifecycle message not queued for auditd");
}

static void describe_exit(int status, char *out, size_t len)
{
	if (WIFEXITED(status))
		snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(out, len, "ended (wait status 0x%x)", (unsigned int)status);
}

/* Child k is dead or failed to start: schedule its restart, or give up on a crash loop. */
static void schedule_restart(struct start_ctx *c, int k, const char *why)
{
	struct child_proc *ch = &c->ch[k];
	uint64_t now = now_ms();
	unsigned int delay;

	if (ch->start_ms && now - ch->start_ms >= CW_RESTART_STABLE_MS) {
		ch->rapid = 0;
		ch->backoff_ms = 0;
	} else {
		ch->rapid++;
	}
	if (ch->rapid > CW_RESTART_RAPID_MAX) {
		/* Never a teardown: detaching would open the firewall. The programs stay, the
		 * other children keep running, status says degraded, SIGHUP tries again. */
		ch->state = CHS_DOWN;
		ch->gave_up = true;
		lifecycle_msg(c,
			      "%s %s; gave up restarting it after %u restarts that each died "
			      "within %d s; the pinned programs keep enforcing (fail closed); "
			      "SIGHUP to the supervisor (pid %d) tries again",
			      ch_name[k], why, CW_RESTART_RAPID_MAX, CW_RESTART_STABLE_MS / 1000,
			      (int)c->st.pid);
		return;
	}
	delay = ch->backoff_ms ? ch->backoff_ms : CW_RESTART_BACKOFF_MIN_MS;
	ch->backoff_ms =
		delay * 2 > CW_RESTART_BACKOFF_MAX_MS ? CW_RESTART_BACKOFF_MAX_MS : delay * 2;
	ch->state = CHS_BACKOFF;
	ch->due_ms = now + delay;
	lifecycle_msg(c, "%s %s; restarting it in %u ms", ch_name[k], why, delay);
}

static void restart(struct start_ctx *c, int k)
{
	char why[160];
	int ret = child_spawn(c, k);

	if (ret) {
		snprintf(why, sizeof(why), "could not be restarted (%s)", strerror(-ret));
		c->ch[k].start_ms = now_ms();
		schedule_restart(c, k, why);
	}
}

static void child_exited(struct start_ctx *c, int k, int status)
{
	struct child_proc *ch = &c->ch[k];
	char how[96], why[192];
	bool starting = ch->state == CHS_STARTING;
	int pid = (int)c->pid[k];

	if (ch->pidfd >= 0)
		close(ch->pidfd);
	if (ch->ready_fd >= 0)
		close(ch->ready_fd);
	ch->pidfd = ch->ready_fd = -1;
	c->pid[k] = 0;
	pidfile_remove(c->state_dir, ch_name[k]);
	describe_exit(status, how, sizeof(how));
	if (ch->respawn_now) {
		/* asked to exit (SIGHUP's reopen): straight back, no backoff, not a failure */
		ch->respawn_now = false;
		lifecycle_msg(c,
			      "audit log %s reopened (SIGHUP): %s (pid %d) %s, starting a new one",
			      c->st.audit_log, ch_name[k], pid, how);
		restart(c, k);
		return;
	}
	snprintf(why, sizeof(why), "(pid %d) %s %s", pid, how,
		 starting ? "before it was live" : "unexpectedly");
	schedule_restart(c, k, why);
}

static void reap_all(struct start_ctx *c)
{
	int status, k;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (k = 0; k < CH_MAX; k++)
			if (c->pid[k] == pid)
				child_exited(c, k, status);
	}
}

static void on_ready(struct start_ctx *c, int k)
{
	struct child_proc *ch = &c->ch[k];
	char b = 0;

	if (read(ch->ready_fd, &b, 1) == 1 && b == 'M')
		return; /* the enforcer's maps are pinned: auditd runs already, wait for "R" */
	if (b != 'R') {
		/* it closed the pipe without "R": its exit (SIGCHLD) says why */
		close(ch->ready_fd);
		ch->ready_fd = -1;
		return;
	}
	close(ch->ready_fd);
	ch->ready_fd = -1;
	ch->state = CHS_RUNNING;
	ch->restarts++;
	pidfile_write(c->state_dir, ch_name[k], c->pid[k]);
	lifecycle_msg(c, "%s restarted (pid %d, restart %u, %llu ms after it was started)",
		      ch_name[k], (int)c->pid[k], ch->restarts,
		      (unsigned long long)(now_ms() - ch->start_ms));
}

/* logrotate moved the file away: open the configured path again and restart auditd on it
 * (auditd drains the ring and its queue on SIGTERM; what comes meanwhile waits in them). */
static void reopen_log(struct start_ctx *c)
{
	struct child_proc *au = &c->ch[CH_AUDITD];
	int fd, k;

	fd = open(c->st.audit_log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0) {
		int e = errno;

		log_warn("SIGHUP: reopen %s", c->st.audit_log);
		lifecycle_msg(c,
			      "SIGHUP: cannot reopen the audit log %s (%s); still writing to "
			      "the file already open",
			      c->st.audit_log, strerror(e));
	} else {
		close(c->log_fd);
		c->log_fd = fd;
		if (au->state == CHS_RUNNING || au->state == CHS_STARTING) {
			au->respawn_now = true;
			if (au->pidfd < 0 || pidfd_send_signal(au->pidfd, SIGTERM, NULL, 0) < 0)
				log_warn("SIGHUP: signal auditd");
		}
		log_info("SIGHUP: audit log %s reopened", c->st.audit_log);
	}
	/* the operator's nudge: whatever was given up on gets another round */
	for (k = 0; k < CH_MAX; k++) {
		if (!c->ch[k].gave_up)
			continue;
		c->ch[k].gave_up = false;
		c->ch[k].rapid = 0;
		c->ch[k].backoff_ms = 0;
		lifecycle_msg(c, "SIGHUP: trying %s again", ch_name[k]);
		restart(c, k);
	}
}

/* Until SIGTERM or SIGINT. */
void supervise_loop(struct start_ctx *c, int sfd)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2 + CH_MAX];
	int who[2 + CH_MAX], n, i, k, timeout;
	char msg[512];
	uint64_t now, next;

	for (;;) {
		pfd[0].fd = sfd;
		pfd[0].events = POLLIN;
		/* -1 when there is no control socket: poll skips it */
		pfd[1].fd = c->ctl_fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		n = 2;
		next = UINT64_MAX;
		for (k = 0; k < CH_MAX; k++) {
			struct child_proc *ch = &c->ch[k];

			if (ch->state == CHS_STARTING && ch->ready_fd >= 0) {
				pfd[n].fd = ch->ready_fd;
				pfd[n].events = POLLIN;
				who[n++] = k;
			}
			if ((ch->state == CHS_STARTING || ch->state == CHS_BACKOFF) &&
			    ch->due_ms < next)
				next = ch->due_ms;
		}
		now = now_ms();
		timeout = next == UINT64_MAX ? -1 : next <= now ? 0 : (int)(next - now);
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			log_warn("poll");
			return;
		}
		for (i = 2; i < n; i++)
			if (pfd[i].revents)
				on_ready(c, who[i]);
		if (pfd[1].revents & POLLIN)
			reload_serve(c);
		if (pfd[0].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
				if (errno == EINTR)
					continue;
				log_warn("signalfd");
				return;
			}
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
				lifecycle_msg(c, "supervisor stopping (%s)",
					      strsignal((int)si.ssi_signo));
				return;
			}
			if (si.ssi_signo == SIGCHLD)
				reap_all(c);
			else if (si.ssi_signo == SIGHUP) {
				/* the policy from the sources start recorded (the config file
				 * read again), then the log: a rotated log needs the reopen
				 * whatever the policy does */
				if (reload_apply(c, NULL, msg, sizeof(msg)) == 0)
					log_info("SIGHUP: %s", msg);
				reopen_log(c);
			}
		}
		now = now_ms();
		for (k = 0; k < CH_MAX; k++) {
			struct child_proc *ch = &c->ch[k];

			if (ch->state == CHS_BACKOFF && now >= ch->due_ms) {
				restart(c, k);
			} else if (ch->state == CHS_STARTING && now >= ch->due_ms &&
				   ch->pidfd >= 0) {
				/* reaped (and rescheduled) on its SIGCHLD */
				log_warnx("%s not live within %d ms; killing it", ch_name[k],
					  CW_CHILD_READY_TIMEOUT_MS);
				pidfd_send_signal(ch->pidfd, SIGKILL, NULL, 0);
				ch->due_ms = UINT64_MAX;
			}
		}
	}
}
