// SPDX-License-Identifier: Apache-2.0
/* cargowall start: check everything, create the shared resources, then (as a daemon unless
 * --foreground) start the enforcer, auditd and dnsd in that order, each only after the one
 * before it reported live, and supervise them. `start` exits 0 only when all three are live;
 * on any failure everything already done is undone and the reason is printed on one line. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/magic.h>

#include "../common/child.h"
#include "../common/log.h"
#include "../common/netaddr.h"
#include "../common/shmq.h"
#include "../proto/maps.h"
#include "launcher.h"

enum { CH_ENFORCER, CH_AUDITD, CH_DNSD, CH_MAX };
static const char *const ch_name[CH_MAX] = { "enforcer", "auditd", "dnsd" };

struct start_ctx {
	struct launch_opts o;
	struct launch_state st;
	char upstream[64];
	char cg_prefix[2 * PATH_MAX]; /* the launcher's own cgroup directory */
	const char *state_dir;
	int policy_fd, dnsq_fd, dnsq_bell, evq_fd, evq_bell, log_fd, ring_fd;
	/* dnsd's listeners (CW_DNSD_FD_UDP4..TCP6); the IPv6 pair is /dev/null when the host
	 * has no IPv6 (dns_no_ipv6) */
	int udp4_fd, tcp4_fd, udp6_fd, tcp6_fd;
	bool dns_no_ipv6;
	pid_t pid[CH_MAX];
	char cg[CH_MAX][PATH_MAX + 16];
	int report_fd; /* daemon mode: the waiting `start` reads the outcome here */
};

static int parse_opts(int argc, char **argv, struct launch_opts *o)
{
	enum {
		O_CONFIG = 256,
		O_MODE,
		O_AH,
		O_AC,
		O_DH,
		O_DC,
		O_IF,
		O_CG,
		O_UP,
		O_LOG,
		O_STATE,
		O_BPFFS,
		O_FG,
		O_VERBOSE,
		O_DNSD_USER,
		O_AUDITD_USER,
		O_PRIVATE,
	};
	static const struct option opts[] = {
		{ "config", required_argument, NULL, O_CONFIG },
		{ "mode", required_argument, NULL, O_MODE },
		{ "allow-hosts", required_argument, NULL, O_AH },
		{ "allow-cidrs", required_argument, NULL, O_AC },
		{ "deny-hosts", required_argument, NULL, O_DH },
		{ "deny-cidrs", required_argument, NULL, O_DC },
		{ "interface", required_argument, NULL, O_IF },
		{ "cgroup", required_argument, NULL, O_CG },
		{ "dns-upstream", required_argument, NULL, O_UP },
		{ "audit-log", required_argument, NULL, O_LOG },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "bpffs", required_argument, NULL, O_BPFFS },
		{ "foreground", no_argument, NULL, O_FG },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "dnsd-user", required_argument, NULL, O_DNSD_USER },
		{ "auditd-user", required_argument, NULL, O_AUDITD_USER },
		{ "allow-private-answers", no_argument, NULL, O_PRIVATE },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->state_dir = CW_STATE_DIR_DEFAULT;
	o->dnsd_user = CW_DNSD_USER_DEFAULT;
	o->auditd_user = CW_AUDITD_USER_DEFAULT;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_CONFIG:
			o->config = optarg;
			break;
		case O_MODE:
			o->mode = optarg;
			break;
		case O_AH:
			o->allow_hosts = optarg;
			break;
		case O_AC:
			o->allow_cidrs = optarg;
			break;
		case O_DH:
			o->deny_hosts = optarg;
			break;
		case O_DC:
			o->deny_cidrs = optarg;
			break;
		case O_IF:
			if (o->n_ifaces == CW_IFACES_MAX) {
				fprintf(stderr, "cargowall: --interface: at most %d\n",
					CW_IFACES_MAX);
				return -EINVAL;
			}
			o->ifaces[o->n_ifaces++] = optarg;
			break;
		case O_CG:
			o->cgroup = optarg;
			break;
		case O_UP:
			o->dns_upstream = optarg;
			break;
		case O_LOG:
			o->audit_log = optarg;
			break;
		case O_STATE:
			o->state_dir = optarg;
			break;
		case O_BPFFS:
			o->bpffs = optarg;
			break;
		case O_FG:
			o->foreground = true;
			break;
		case O_VERBOSE:
			o->verbose = true;
			break;
		case O_DNSD_USER:
			o->dnsd_user = optarg;
			break;
		case O_AUDITD_USER:
			o->auditd_user = optarg;
			break;
		case O_PRIVATE:
			o->allow_private = true;
			break;
		default:
			fprintf(stderr, "cargowall: start: see `cargowall --help`\n");
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cargowall: start: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->mode)
		o->mode = "enforce";
	if (strcmp(o->mode, "enforce") && strcmp(o->mode, "audit")) {
		fprintf(stderr, "cargowall: --mode: \"%s\": must be enforce or audit\n", o->mode);
		return -EINVAL;
	}
	return 0;
}

/* "a.b.c.d" or "a.b.c.d:port" -> "a.b.c.d:port" (port 53 when absent). */
static int parse_upstream(const char *in, char *out, size_t len, const char **why)
{
	struct in_addr a;
	uint16_t port;
	int ret = netaddr_parse_upstream(in, &a, &port, why);

	if (!ret)
		snprintf(out, len, "%s:%u", inet_ntoa(a), port);
	return ret;
}

static bool on_cgroup2(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Everything that can be checked before anything is changed. */
static int prepare(struct start_ctx *c)
{
	struct launch_opts *o = &c->o;
	struct launch_state *st = &c->st;
	char cg2[PATH_MAX], self_cg[PATH_MAX];
	size_t i;
	int ret;

	snprintf(st->mode, sizeof(st->mode), "%s", o->mode);
	if (o->n_ifaces) {
		for (i = 0; i < o->n_ifaces; i++) {
			if (strlen(o->ifaces[i]) >= IF_NAMESIZE || !if_nametoindex(o->ifaces[i])) {
				fprintf(stderr,
					"cargowall: --interface: \"%s\": no such interface\n",
					o->ifaces[i]);
				return -EINVAL;
			}
			strcpy(st->ifaces[st->n_ifaces++], o->ifaces[i]);
		}
	} else if (sys_default_route_ifaces(st->ifaces, CW_IFACES_MAX, &st->n_ifaces) < 0) {
		fprintf(stderr, "cargowall: no default route: name the uplinks with --interface\n");
		return -EINVAL;
	}
	if (sys_cgroup2_mount(cg2, sizeof(cg2)) < 0) {
		fprintf(stderr, "cargowall: no cgroup v2 hierarchy is mounted\n");
		return -ENOENT;
	}
	snprintf(st->cgroup, sizeof(st->cgroup), "%s", o->cgroup ? o->cgroup : cg2);
	if (!on_cgroup2(st->cgroup)) {
		fprintf(stderr, "cargowall: --cgroup: \"%s\": not a cgroup v2 directory\n",
			st->cgroup);
		return -EINVAL;
	}
	if (o->dns_upstream) {
		const char *why;

		if (parse_upstream(o->dns_upstream, c->upstream, sizeof(c->upstream), &why) < 0) {
			fprintf(stderr, "cargowall: --dns-upstream: \"%s\": %s\n", o->dns_upstream,
				why);
			return -EINVAL;
		}
	} else {
		char ns[64];

		if (sys_default_upstream(ns, sizeof(ns)) < 0) {
			fprintf(stderr, "cargowall: no upstream resolver in /etc/resolv.conf: "
					"give --dns-upstream\n");
			return -ENOENT;
		}
		if (path_fmt(c->upstream, sizeof(c->upstream), "%s:53", ns))
			return -EINVAL;
	}
	snprintf(st->bpffs, sizeof(st->bpffs), "%s", o->bpffs ? o->bpffs : CW_BPFFS_DEFAULT);
	snprintf(st->audit_log, sizeof(st->audit_log), "%s",
		 o->audit_log ? o->audit_log : CW_AUDIT_LOG_DEFAULT);
	if (st->bpffs[0] != '/' || st->audit_log[0] != '/' || c->state_dir[0] != '/' ||
	    st->cgroup[0] != '/') {
		fprintf(stderr, "cargowall: --bpffs, --audit-log, --state-dir and --cgroup must be "
				"absolute paths\n");
		return -EINVAL;
	}
	ret = sys_self_cgroup(self_cg, sizeof(self_cg));
	if (ret < 0) {
		fprintf(stderr, "cargowall: cannot read /proc/self/cgroup\n");
		return ret;
	}
	snprintf(c->cg_prefix, sizeof(c->cg_prefix), "%s%s", cg2,
		 strcmp(self_cg, "/") ? self_cg : "");
	return 0;
}

static int memfd_with(const char *name, const char *text)
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

/* A DNS listener on 127.0.0.1:53 or [::1]:53: non-blocking, close-on-exec, IPv6 only for
 * the IPv6 ones (so they never take IPv4 traffic meant for the other pair), TCP ones listening.
 * The fd, or -errno. */
static int bind_dns(int family, int type)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, err;

	fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(CW_DNS_PORT);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(CW_DNS_PORT);
		sin6->sin6_addr = in6addr_loopback;
		sl = sizeof(*sin6);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
			goto fail;
	}
	/* TCP: a restarted cargowall must not wait out TIME_WAIT of the last one's clients. */
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	/* 128: bursts of new connections wait in the kernel while dnsd accepts them */
	if (type == SOCK_STREAM && listen(fd, 128) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* The four DNS listeners. A host without IPv6 (socket() says EAFNOSUPPORT, or ::1 is not
 * there: EADDRNOTAVAIL) gets IPv4 listeners only, said on stderr: no client there can reach
 * [::1] either. Any other failure is fatal, with the address on one line. */
static int bind_dns_all(struct start_ctx *c)
{
	static const struct {
		int family, type;
		const char *name;
	} l[4] = {
		{ AF_INET, SOCK_DGRAM, "UDP 127.0.0.1:53" },
		{ AF_INET, SOCK_STREAM, "TCP 127.0.0.1:53" },
		{ AF_INET6, SOCK_DGRAM, "UDP [::1]:53" },
		{ AF_INET6, SOCK_STREAM, "TCP [::1]:53" },
	};
	int *fd[4] = { &c->udp4_fd, &c->tcp4_fd, &c->udp6_fd, &c->tcp6_fd };
	int i;

	for (i = 0; i < 4; i++) {
		*fd[i] = bind_dns(l[i].family, l[i].type);
		if (*fd[i] >= 0)
			continue;
		if (l[i].family == AF_INET6 &&
		    (*fd[i] == -EAFNOSUPPORT || *fd[i] == -EADDRNOTAVAIL)) {
			fprintf(stderr, "cargowall: %s: %s; DNS served on 127.0.0.1:53 only\n",
				l[i].name, strerror(-*fd[i]));
			if (i == 3)
				close(c->udp6_fd);
			c->dns_no_ipv6 = true;
			break;
		}
		fprintf(stderr, "cargowall: cannot bind %s: %s\n", l[i].name, strerror(-*fd[i]));
		return *fd[i];
	}
	if (c->dns_no_ipv6) {
		/* dnsd takes fds at fixed numbers: placeholders it closes (--no-ipv6) */
		c->udp6_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		c->tcp6_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (c->udp6_fd < 0 || c->tcp6_fd < 0)
			return -errno;
	}
	return 0;
}

/* Shared resources, created before the daemon forks so that errors reach the terminal. */
static int create_resources(struct start_ctx *c, const struct policy *p)
{
	char *json = policy_to_json(p), parent[PATH_MAX], *slash;
	int ret;

	if (!json)
		return -ENOMEM;
	c->policy_fd = memfd_with("cargowall-policy", json);
	free(json);
	if (c->policy_fd < 0)
		return c->policy_fd;
	ret = shmq_create("cargowall-dnsq", CW_DNSQ_CAPACITY, sizeof(struct cw_dnsq_entry),
			  &c->dnsq_fd);
	if (!ret)
		ret = shmq_create("cargowall-evq", CW_EVQ_CAPACITY, sizeof(struct cw_dns_event),
				  &c->evq_fd);
	if (ret)
		return ret;
	c->dnsq_bell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->evq_bell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->dnsq_bell < 0 || c->evq_bell < 0)
		return -errno;
	ret = bind_dns_all(c);
	if (ret)
		return ret;
	snprintf(parent, sizeof(parent), "%s", c->st.audit_log);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		ret = mkdir_p(parent, 0750);
		if (ret)
			goto log_err;
	}
	/* Never through a symlink a workload planted; appended to, never truncated. */
	c->log_fd =
		open(c->st.audit_log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (c->log_fd < 0) {
		ret = -errno;
		goto log_err;
	}
	return 0;
log_err:
	fprintf(stderr, "cargowall: --audit-log: %s: %s\n", c->st.audit_log, strerror(-ret));
	return ret;
}

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
static int supervise(struct start_ctx *c)
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

int cmd_start(int argc, char **argv)
{
	struct start_ctx c;
	struct policy p;
	char msg[1024];
	int rep[2], ret, old;
	ssize_t n;
	pid_t pid;

	memset(&c, 0, sizeof(c));
	c.report_fd = -1;
	if (parse_opts(argc, argv, &c.o))
		return 2;
	c.state_dir = c.o.state_dir;
	log_setverbose(c.o.verbose);
	if (geteuid() != 0) {
		fprintf(stderr, "cargowall: start needs root (it loads BPF programs)\n");
		return 1;
	}
	if (launch_build_policy(&c.o, &p))
		return 1;
	if (prepare(&c))
		return 1;
	ret = mkdir_p(c.state_dir, 0700);
	if (ret) {
		fprintf(stderr, "cargowall: --state-dir: %s: %s\n", c.state_dir, strerror(-ret));
		return 1;
	}
	old = pidfile_read(c.state_dir, "cargowall");
	if (old > 0 && pid_is_ours(old)) {
		fprintf(stderr, "cargowall: already running (pid %d); `cargowall stop` first\n",
			old);
		return 1;
	}
	if (sys_ensure_user(c.o.dnsd_user) || sys_ensure_user(c.o.auditd_user)) {
		fprintf(stderr,
			"cargowall: cannot find or create the unprivileged users %s and %s\n",
			c.o.dnsd_user, c.o.auditd_user);
		return 1;
	}
	ret = sys_ensure_bpffs(c.st.bpffs, !c.o.bpffs);
	if (ret) {
		fprintf(stderr, "cargowall: --bpffs: %s: its parent is not a mounted bpffs\n",
			c.st.bpffs);
		return 1;
	}
	if (create_resources(&c, &p))
		return 1;
	policy_free(&p);
	if (c.o.foreground)
		return supervise(&c);

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
		c.report_fd = rep[1];
		setsid();
		snprintf(logpath, sizeof(logpath), "%s/daemon.log", c.state_dir);
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
		_exit(supervise(&c));
	}
	close(rep[1]);
	n = read(rep[0], msg, sizeof(msg) - 1);
	close(rep[0]);
	msg[n > 0 ? n : 0] = '\0';
	if (n > 0 && !strcmp(msg, "OK")) {
		printf("cargowall: enforcement live (mode %s, pid %d, audit log %s)\n", c.st.mode,
		       (int)pid, c.st.audit_log);
		return 0;
	}
	fprintf(stderr, "cargowall: %s\n", n > 0 ? msg : "start failed: the daemon died");
	waitpid(pid, NULL, WNOHANG);
	return 1;
}
