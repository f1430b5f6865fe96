// SPDX-License-Identifier: Apache-2.0
/* Reload (issue 6): `cargowall reload` and SIGHUP apply a new policy to the running trio.
 *
 * The policy is built and checked first, in the supervisor, from its sources (the options and
 * CARGOWALL_* values `reload` sent, or for SIGHUP those start recorded, the config file read
 * again): a bad one is refused with the same one-line error check-config gives, and nothing
 * changes. A good one is handed to a new enforcer: the running one is killed (like kill -9: its
 * pinned programs keep enforcing over the maps, fail closed) and the new one adopts the pins
 * with the new policy, rewriting the maps in an order that keeps every verdict meanwhile to the
 * old policy's, the new one's or stricter (enforcer/adopt.c), then giving the pinned links its
 * programs in one step each. If it does not become live, the previous policy goes back the same
 * way and the reload is refused. Then dnsd and auditd are restarted on the new policy (dnsd's
 * sockets and both queues stay in the supervisor: queries wait in the socket buffers, records
 * in the ring and the queue).
 *
 * What is not atomic: for the few milliseconds the enforcer is down, DNS answers wait for an
 * acknowledgement that comes only from the new enforcer (SERVFAIL after CW_ACK_TIMEOUT_MS);
 * between the new enforcer and the new dnsd, the old dnsd still answers by the old policy, but
 * each address it pushes is checked by the enforcer against the new one (common/learn.c), so
 * nothing the new policy refuses is learned.
 *
 * The control socket <state-dir>/control.sock is root's alone (the state dir is 0700, the
 * socket 0600, and the peer's uid is checked): `reload` passes the sources as a sealed memfd,
 * and gets one line back. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <jansson.h>

#include "../common/log.h"
#include "../proto/maps.h"
#include "launcher.h"

#define CTL_SOCK "control.sock"
/* A reload's sources: a config path and lists; 16 MiB is far past any policy's. */
#define SRC_JSON_MAX (16U << 20)
#define REPLY_MAX 1024
/* The client waits for the enforcer (and perhaps the old one back), dnsd and auditd. */
#define CLIENT_TIMEOUT_MS (4 * CW_CHILD_READY_TIMEOUT_MS + 2 * CW_STOP_TIMEOUT_MS)

/* snprintf where a cut line is fine (messages only). */
static void __attribute__((format(printf, 3, 4))) msgf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static int ctl_path(const char *state_dir, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	return path_fmt(sun->sun_path, sizeof(sun->sun_path), "%s/%s", state_dir, CTL_SOCK);
}

int reload_listen(struct start_ctx *c)
{
	struct sockaddr_un sun;
	int fd, err;

	c->ctl_fd = -1;
	err = ctl_path(c->state_dir, &sun);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(sun.sun_path); /* a crashed supervisor's */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(sun.sun_path, 0600) < 0 ||
	    listen(fd, 4) < 0) {
		err = -errno;
		close(fd);
		unlink(sun.sun_path);
		return err;
	}
	c->ctl_fd = fd;
	return 0;
}

void reload_unlisten(struct start_ctx *c)
{
	struct sockaddr_un sun;

	if (c->ctl_fd < 0)
		return;
	close(c->ctl_fd);
	c->ctl_fd = -1;
	if (!ctl_path(c->state_dir, &sun))
		unlink(sun.sun_path);
}

/* ---- sources as JSON ------------------------------------------------------------------ */

static const char *const list_keys[SRC_LIST_MAX] = { "allow_hosts", "allow_cidrs", "deny_hosts",
						     "deny_cidrs" };

static char *src_to_json(const struct policy_src *s)
{
	json_t *o = json_object(), *env = json_object();
	char *text = NULL;
	size_t i;
	int bad = !o || !env;

	if (!bad && s->config)
		bad |= json_object_set_new(o, "config", json_string(s->config));
	for (i = 0; !bad && i < SRC_LIST_MAX; i++)
		if (s->list[i])
			bad |= json_object_set_new(o, list_keys[i], json_string(s->list[i]));
	for (i = 0; !bad && i < SRC_ENV_MAX; i++)
		if (s->env[i])
			bad |= json_object_set_new(env, src_env_names[i], json_string(s->env[i]));
	if (!bad) {
		bad |= json_object_set(o, "env", env);
		text = bad ? NULL : json_dumps(o, JSON_COMPACT);
	}
	json_decref(env);
	json_decref(o);
	return text;
}

/* From a root peer, still checked: strings where strings go, nothing else. */
static int src_from_json(const char *text, size_t len, struct policy_src *s)
{
	json_error_t jerr;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *env, *v;
	const char *key;
	size_t i;
	int err = -EINVAL;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(o))
		goto out;
	json_object_foreach (o, key, v) {
		char **slot = NULL;

		if (!strcmp(key, "env"))
			continue;
		if (!strcmp(key, "config"))
			slot = &s->config;
		for (i = 0; i < SRC_LIST_MAX; i++)
			if (!strcmp(key, list_keys[i]))
				slot = &s->list[i];
		if (!slot || !json_is_string(v) || !(*slot = strdup(json_string_value(v))))
			goto out;
	}
	env = json_object_get(o, "env");
	if (env && !json_is_object(env))
		goto out;
	json_object_foreach (env, key, v) {
		for (i = 0; i < SRC_ENV_MAX; i++)
			if (!strcmp(key, src_env_names[i]))
				break;
		if (i == SRC_ENV_MAX || !json_is_string(v) ||
		    !(s->env[i] = strdup(json_string_value(v))))
			goto out;
	}
	err = s->config && s->config[0] != '/' ? -EINVAL : 0;
out:
	json_decref(o);
	if (err)
		src_free(s);
	return err;
}

static int memfd_text(const char *name, const char *text)
{
	size_t len = strlen(text);
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* The whole of a memfd (or file) from offset 0, at most max bytes: malloc'd, NUL-terminated. */
static char *fd_slurp(int fd, size_t max, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) < 0 || st.st_size < 0 || (size_t)st.st_size > max)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return NULL;
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* ---- the children ----------------------------------------------------------------------- */

/* Child k's "R" within CW_CHILD_READY_TIMEOUT_MS: 0, or -errno with why set (it is killed and
 * reaped then). */
static int wait_live(struct start_ctx *c, int k, char *why, size_t len)
{
	struct child_proc *ch = &c->ch[k];
	struct pollfd pfd = { .fd = ch->ready_fd, .events = POLLIN };
	int n, status = 0;
	char b = 0;

	n = poll(&pfd, 1, CW_CHILD_READY_TIMEOUT_MS);
	/* An enforcer that made its maps afresh says "M" first (daemon.c wait_ready): skipped. */
	while (n > 0 && read(ch->ready_fd, &b, 1) == 1 && b == 'M')
		n = poll(&pfd, 1, CW_CHILD_READY_TIMEOUT_MS);
	if (n > 0 && b == 'R') {
		close(ch->ready_fd);
		ch->ready_fd = -1;
		ch->state = CHS_RUNNING;
		pidfile_write(c->state_dir, ch_name[k], c->pid[k]);
		return 0;
	}
	if (n == 0 && ch->pidfd >= 0)
		pidfd_send_signal(ch->pidfd, SIGKILL, NULL, 0);
	if (c->pid[k] > 0)
		waitpid(c->pid[k], &status, 0);
	if (n == 0)
		msgf(why, len, "%s was not live within %d ms", ch_name[k],
		     CW_CHILD_READY_TIMEOUT_MS);
	else if (WIFEXITED(status))
		msgf(why, len, "%s exited with status %d", ch_name[k], WEXITSTATUS(status));
	else
		msgf(why, len, "%s was killed by signal %d", ch_name[k], WTERMSIG(status));
	if (ch->pidfd >= 0)
		close(ch->pidfd);
	if (ch->ready_fd >= 0)
		close(ch->ready_fd);
	ch->pidfd = ch->ready_fd = -1;
	ch->state = CHS_DOWN;
	c->pid[k] = 0;
	pidfile_remove(c->state_dir, ch_name[k]);
	return -EIO;
}

/* The enforcer goes like kill -9 (its pins stay, they keep enforcing); the others are stopped
 * (SIGTERM: auditd drains the ring and its queue first). Reaped here, not by the loop. */
static void take_down(struct start_ctx *c, int k)
{
	struct child_proc *ch = &c->ch[k];

	ch->respawn_now = false;
	if (k == CH_ENFORCER && c->pid[k] > 0) {
		if (ch->pidfd >= 0)
			pidfd_send_signal(ch->pidfd, SIGKILL, NULL, 0);
		else
			kill(c->pid[k], SIGKILL);
		waitpid(c->pid[k], NULL, 0);
		c->pid[k] = 0;
	}
	child_stop(c, k);
	pidfile_remove(c->state_dir, ch_name[k]);
}

/* Child k again on the current policy: 0, or -errno with why set. */
static int respawn(struct start_ctx *c, int k, char *why, size_t len)
{
	int err;

	take_down(c, k);
	err = child_spawn(c, k);
	if (err) {
		msgf(why, len, "%s could not be started: %s", ch_name[k], strerror(-err));
		return err;
	}
	return wait_live(c, k, why, len);
}

/* A child a reload could not bring back: the loop restarts it with its backoff. */
static void leave_to_loop(struct start_ctx *c, int k)
{
	c->ch[k].state = CHS_BACKOFF;
	c->ch[k].due_ms = now_ms();
	c->ch[k].start_ms = now_ms();
}

/* Port keys the enforcer writes for p (enforcer/trie.c rule_port_keys). */
static size_t port_keys(const struct policy *p)
{
	size_t i, j, n = 0;

	for (i = 0; i < p->n_rules; i++)
		for (j = 0; j < p->rules[i].n_ports; j++)
			switch (p->rules[i].ports[j].proto) {
			case POLICY_PROTO_ALL:
				n += 4; /* TCP, UDP, ICMP, ICMPv6 */
				break;
			case POLICY_PROTO_ICMP:
				n += 2;
				break;
			default:
				n += 1;
			}
	return n;
}

/* The pinned port map cannot grow: a policy needing more keys than it was sized for at start
 * takes a restart. 0, or 1 with msg set. */
static int ports_fit(struct start_ctx *c, const struct policy *p, char *msg, size_t len)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = BPF_F_RDONLY);
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
	char path[PATH_MAX + 16];
	size_t need = port_keys(p);
	int fd, ret = 0;

	if (path_fmt(path, sizeof(path), "%s/%s", c->st.bpffs, CW_PIN_RULE_PORTS))
		return 0;
	fd = bpf_obj_get_opts(path, &opts);
	if (fd < 0)
		return 0; /* the enforcer says what is wrong */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0 && need > info.max_entries) {
		msgf(msg, len,
		     "the new policy needs %zu port entries, the running maps hold at most %u "
		     "(sized at start): stop and start cargowall to apply it",
		     need, info.max_entries);
		ret = 1;
	}
	close(fd);
	return ret;
}

static int refuse(struct start_ctx *c, char *msg, size_t len, const char *why)
{
	char buf[REPLY_MAX];

	msgf(buf, sizeof(buf), "reload refused: %s; the running policy is unchanged", why);
	lifecycle_msg(c, "%s", buf);
	msgf(msg, len, "%s", buf);
	return 1;
}

int reload_apply(struct start_ctx *c, struct policy_src *src, char *msg, size_t len)
{
	const struct policy_src *use = src ? src : &c->src;
	struct policy_error perr;
	char why[REPLY_MAX], *json = NULL, *cur = NULL;
	struct policy p;
	uint64_t t0 = now_ms();
	size_t cur_len = 0, n_rules;
	int k, new_fd, old_fd, ret;
	bool deny;

	if (src_build(use, &p, &perr)) {
		msgf(why, sizeof(why), "bad policy: %s", perr.msg);
		return refuse(c, msg, len, why);
	}
	n_rules = p.n_rules;
	deny = p.default_action != CW_ACTION_ALLOW;
	for (k = 0; k < CH_MAX; k++)
		if (c->ch[k].state != CHS_RUNNING) {
			msgf(why, sizeof(why), "%s is not running (%s); try again once it is",
			     ch_name[k], c->ch[k].gave_up ? "given up on" : "restarting");
			policy_free(&p);
			return refuse(c, msg, len, why);
		}
	if (ports_fit(c, &p, why, sizeof(why))) {
		policy_free(&p);
		return refuse(c, msg, len, why);
	}
	json = policy_to_json(&p);
	policy_free(&p);
	if (!json)
		return refuse(c, msg, len, "out of memory");
	cur = fd_slurp(c->policy_fd, SIZE_MAX, &cur_len);
	if (cur && !strcmp(cur, json)) {
		free(cur);
		free(json);
		msgf(msg, len, "policy unchanged (%zu rules, default %s)", n_rules,
		     deny ? "deny" : "allow");
		goto record_src;
	}
	free(cur);
	new_fd = memfd_text("cargowall-policy", json);
	free(json);
	if (new_fd < 0)
		return refuse(c, msg, len, "cannot create the policy memfd");
	old_fd = c->policy_fd;
	c->policy_fd = new_fd;
	if (respawn(c, CH_ENFORCER, why, sizeof(why))) {
		char back[REPLY_MAX];

		/* the same adoption with the previous policy puts everything back */
		c->policy_fd = old_fd;
		close(new_fd);
		if (respawn(c, CH_ENFORCER, back, sizeof(back))) {
			log_warnx("reload: putting the previous policy back: %s", back);
			leave_to_loop(c, CH_ENFORCER);
		}
		msgf(msg, len,
		     "the enforcer did not take the new policy (%s; its reason is in "
		     "%s/daemon.log)",
		     why, c->state_dir);
		msgf(why, sizeof(why), "%s", msg);
		return refuse(c, msg, len, why);
	}
	close(old_fd);
	ret = 0;
	for (k = 0; k < CH_MAX; k++) {
		if (k == CH_ENFORCER)
			continue;
		if (respawn(c, k, why, sizeof(why))) {
			/* the policy parsed here and in the enforcer: not the policy's fault */
			log_warnx("reload: %s; restarting it", why);
			leave_to_loop(c, k);
		}
	}
	msgf(msg, len, "policy reloaded: %zu rules, default %s (applied in %llu ms)", n_rules,
	     deny ? "deny" : "allow", (unsigned long long)(now_ms() - t0));
	lifecycle_msg(c, "%s", msg);
record_src:
	if (src) {
		src_free(&c->src);
		c->src = *src;
		memset(src, 0, sizeof(*src));
	}
	return ret;
}

/* ---- the control socket ----------------------------------------------------------------- */

static void reply(int fd, int ret, const char *msg)
{
	char buf[REPLY_MAX + 8];
	msgf(buf, sizeof(buf), "%s %s", ret ? "ERR" : "OK", msg);
	if (send(fd, buf, strnlen(buf, sizeof(buf)), MSG_NOSIGNAL) < 0)
		log_warn("reload: reply");
}

void reload_serve(struct start_ctx *c)
{
	char cbuf[CMSG_SPACE(sizeof(int))], op = 0, msg[REPLY_MAX], *text;
	struct iovec iov = { .iov_base = &op, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct policy_src src, *use = NULL;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct cmsghdr *cm;
	struct pollfd pfd;
	int fd, sfd = -1, ret = 1;
	size_t len;

	fd = accept4(c->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	memset(&src, 0, sizeof(src));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.uid != 0) {
		reply(fd, 1, "reload needs root");
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (poll(&pfd, 1, 1000) <= 0 || recvmsg(fd, &mh, MSG_CMSG_CLOEXEC) != 1)
		goto out;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&sfd, CMSG_DATA(cm), sizeof(int));
	if (op == 'R') {
		text = sfd >= 0 ? fd_slurp(sfd, SRC_JSON_MAX, &len) : NULL;
		if (!text || src_from_json(text, len, &src)) {
			free(text);
			reply(fd, 1, "reload refused: malformed request");
			goto out;
		}
		free(text);
		use = &src;
	} else if (op != 'H') {
		reply(fd, 1, "reload refused: malformed request");
		goto out;
	}
	ret = reload_apply(c, use, msg, sizeof(msg));
	reply(fd, ret, msg);
out:
	src_free(&src);
	if (sfd >= 0)
		close(sfd);
	close(fd);
}

/* ---- cargowall reload ------------------------------------------------------------------- */

int cmd_reload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "allow-hosts", required_argument, NULL, 'a' },
		{ "allow-cidrs", required_argument, NULL, 'A' },
		{ "deny-hosts", required_argument, NULL, 'd' },
		{ "deny-cidrs", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	char cbuf[CMSG_SPACE(sizeof(int))], op = 'H', buf[REPLY_MAX + 8], *json = NULL;
	struct iovec iov = { .iov_base = &op, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	const char *dir = CW_STATE_DIR_DEFAULT;
	struct launch_opts o;
	struct sockaddr_un sun;
	struct policy_src src;
	struct policy p;
	struct pollfd pfd;
	bool given = false;
	int ch, fd = -1, mfd = -1, ret = 1;
	ssize_t n;

	memset(&o, 0, sizeof(o));
	memset(&src, 0, sizeof(src));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char **slot = ch == 's' ? &dir :
				    ch == 'c' ? &o.config :
				    ch == 'a' ? &o.allow_hosts :
				    ch == 'A' ? &o.allow_cidrs :
				    ch == 'd' ? &o.deny_hosts :
				    ch == 'D' ? &o.deny_cidrs :
						NULL;

		if (!slot) {
			fprintf(stderr, "usage: cargowall reload [--state-dir DIR] [--config FILE] "
					"[--allow-hosts LIST] [--allow-cidrs LIST] [--deny-hosts "
					"LIST] [--deny-cidrs LIST]\n");
			return 2;
		}
		*slot = optarg;
		given |= ch != 's';
	}
	if (optind != argc) {
		fprintf(stderr, "cargowall: reload: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (given) {
		/* checked here first: the same error as check-config, and nothing sent */
		if (launch_build_policy(&o, &p))
			return 1;
		policy_free(&p);
		if (src_from_opts(&o, &src)) {
			fprintf(stderr, "cargowall: out of memory\n");
			return 1;
		}
		if (src.config) {
			char *abs = realpath(src.config, NULL);

			if (!abs) {
				fprintf(stderr, "cargowall: --config: %s: %s\n", src.config,
					strerror(errno));
				goto out;
			}
			free(src.config);
			src.config = abs;
		}
		json = src_to_json(&src);
		mfd = json ? memfd_text("cargowall-reload", json) : -ENOMEM;
		if (mfd < 0) {
			fprintf(stderr, "cargowall: reload: %s\n", strerror(-mfd));
			goto out;
		}
		op = 'R';
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &mfd, sizeof(int));
	}
	if (ctl_path(dir, &sun)) {
		fprintf(stderr, "cargowall: --state-dir: path too long\n");
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "cargowall: not running (no supervisor answers on %s: %s)\n",
			sun.sun_path, strerror(errno));
		goto out;
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "cargowall: reload: sending: %s\n", strerror(errno));
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, CLIENT_TIMEOUT_MS) <= 0 || (n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0) {
		fprintf(stderr, "cargowall: reload: no answer from the supervisor\n");
		goto out;
	}
	buf[n] = '\0';
	if (!strncmp(buf, "OK ", 3)) {
		printf("cargowall: %s\n", buf + 3);
		ret = 0;
	} else {
		fprintf(stderr, "cargowall: %s\n", !strncmp(buf, "ERR ", 4) ? buf + 4 : buf);
	}
out:
	free(json);
	src_free(&src);
	if (mfd >= 0)
		close(mfd);
	if (fd >= 0)
		close(fd);
	return ret;
}
