// SPDX-License-Identifier: Apache-2.0
/* cargowall start: check everything, create the shared resources, then (as a daemon unless
 * --foreground) start the enforcer and dnsd side by side and auditd once the enforcer has pinned
 * the maps it reads (daemon.c run_children()), and supervise them. `start` exits 0 only when all
 * three are live; on any failure everything already done is undone and the reason is printed
 * on one line. */
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

/* The parent pid and comm of pid, from /proc/PID/stat ("pid (comm) state ppid ..."; the comm
 * may hold spaces and parentheses: it ends at the last ')'). 0 or -errno. */
static int proc_parent(pid_t pid, pid_t *ppid, char *comm, size_t comm_len)
{
	char path[64], buf[512], *open_paren, *close_paren;
	ssize_t n;
	long v;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren ||
	    sscanf(close_paren + 1, " %*c %ld", &v) != 1 || v < 0)
		return -EIO;
	snprintf(comm, comm_len, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	*ppid = (pid_t)v;
	return 0;
}

/* GitHub's runner starts each step as a child of its Runner.Worker process, and the action
 * runs `cargowall start` from one of them: the nearest ancestor of that name is the step
 * parent. None (a systemd unit, a shell) leaves step attribution off. */
static pid_t find_runner_worker(void)
{
	pid_t pid = getppid(), ppid;
	char comm[64];
	int depth;

	for (depth = 0; depth < 64 && pid > 1; depth++) {
		if (proc_parent(pid, &ppid, comm, sizeof(comm)))
			return 0;
		if (!strcmp(comm, CW_STEP_PARENT_COMM))
			return pid;
		pid = ppid;
	}
	return 0;
}

/* --step-parent PID (a live process), or "none". */
static int parse_step_parent(const char *arg, pid_t *out)
{
	char comm[64], *end;
	unsigned long v;
	pid_t ppid;

	if (!strcmp(arg, "none")) {
		*out = 0;
		return 0;
	}
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v < 2 || v > INT32_MAX || arg[0] == '-' ||
	    arg[0] == '+') {
		fprintf(stderr, "cargowall: --step-parent: \"%s\": not a process id (or none)\n",
			arg);
		return -EINVAL;
	}
	if (proc_parent((pid_t)v, &ppid, comm, sizeof(comm))) {
		fprintf(stderr, "cargowall: --step-parent: no process %lu\n", v);
		return -ESRCH;
	}
	*out = (pid_t)v;
	return 0;
}

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
		O_ENFORCER_USER,
		O_DNSD_USER,
		O_AUDITD_USER,
		O_PRIVATE,
		O_RAW,
		O_STEP_PARENT,
		O_CONTAINER_DNS,
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
		{ "enforcer-user", required_argument, NULL, O_ENFORCER_USER },
		{ "dnsd-user", required_argument, NULL, O_DNSD_USER },
		{ "auditd-user", required_argument, NULL, O_AUDITD_USER },
		{ "allow-private-answers", no_argument, NULL, O_PRIVATE },
		{ "allow-raw-sockets", no_argument, NULL, O_RAW },
		{ "step-parent", required_argument, NULL, O_STEP_PARENT },
		{ "container-dns", required_argument, NULL, O_CONTAINER_DNS },
		{ NULL, 0, NULL, 0 },
	};
	bool step_parent_given = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->state_dir = CW_STATE_DIR_DEFAULT;
	o->enforcer_user = CW_ENFORCER_USER_DEFAULT;
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
		case O_ENFORCER_USER:
			o->enforcer_user = optarg;
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
		case O_RAW:
			o->allow_raw = true;
			break;
		case O_STEP_PARENT:
			if (parse_step_parent(optarg, &o->step_parent))
				return -EINVAL;
			step_parent_given = true;
			break;
		case O_CONTAINER_DNS:
			o->container_dns = optarg;
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
	if (!step_parent_given)
		o->step_parent = find_runner_worker();
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

/* Where containers' DNS is served (issue 7): their sockets live in other network namespaces,
 * where 127.0.0.1 is their own, so the kernel sends their port-53 traffic to this host address
 * instead. --container-dns ADDR (an IPv4 address of this host), none, or by default docker0's
 * address when docker0 exists now: a host-local address, which containers on user-defined
 * bridges created later reach too, through their default route. Without one, containers' DNS
 * is refused. */
static int container_dns_pick(struct start_ctx *c)
{
	const char *a = c->o.container_dns;
	struct in_addr in;
	uint32_t h;

	if (!a) {
		if (sys_iface_ipv4("docker0", c->container_dns, sizeof(c->container_dns)))
			c->container_dns[0] = '\0';
		return 0;
	}
	if (!strcmp(a, "none"))
		return 0;
	h = inet_pton(AF_INET, a, &in) == 1 ? ntohl(in.s_addr) : 0;
	if (!h || (h >> 24) == 127 || h >= 0xe0000000) {
		fprintf(stderr,
			"cargowall: --container-dns: \"%s\": not a unicast IPv4 address "
			"outside 127/8 (or none)\n",
			a);
		return -EINVAL;
	}
	snprintf(c->container_dns, sizeof(c->container_dns), "%s", inet_ntoa(in));
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
	st->scoped = o->scoped;
	if (o->scoped) {
		if (o->n_ifaces || o->cgroup) {
			fprintf(stderr, "cargowall: run makes its own cgroup and touches no "
					"interface: no --interface or --cgroup\n");
			return -EINVAL;
		}
	} else if (o->n_ifaces) {
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
	ret = sys_self_cgroup(self_cg, sizeof(self_cg));
	if (ret < 0) {
		fprintf(stderr, "cargowall: cannot read /proc/self/cgroup\n");
		return ret;
	}
	snprintf(c->cg_prefix, sizeof(c->cg_prefix), "%s%s", cg2,
		 strcmp(self_cg, "/") ? self_cg : "");
	if (o->scoped) {
		/* The job's own cgroup, a child of ours: its processes and nothing else. */
		if (path_fmt(st->cgroup, sizeof(st->cgroup), "%s/cargowall-run.%d", c->cg_prefix,
			     (int)getpid()) ||
		    mkdir(st->cgroup, 0755) < 0) {
			fprintf(stderr, "cargowall: cannot create the job's cgroup %s: %s\n",
				st->cgroup, strerror(errno));
			return -EIO;
		}
	} else {
		snprintf(st->cgroup, sizeof(st->cgroup), "%s", o->cgroup ? o->cgroup : cg2);
	}
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
	if (o->bpffs)
		snprintf(st->bpffs, sizeof(st->bpffs), "%s", o->bpffs);
	else if (o->scoped) /* beside a `start` that may be running */
		snprintf(st->bpffs, sizeof(st->bpffs), "%s-run.%d", CW_BPFFS_DEFAULT,
			 (int)getpid());
	else
		snprintf(st->bpffs, sizeof(st->bpffs), "%s", CW_BPFFS_DEFAULT);
	snprintf(st->audit_log, sizeof(st->audit_log), "%s",
		 o->audit_log ? o->audit_log : CW_AUDIT_LOG_DEFAULT);
	if (st->bpffs[0] != '/' || st->audit_log[0] != '/' || c->state_dir[0] != '/' ||
	    st->cgroup[0] != '/') {
		fprintf(stderr, "cargowall: --bpffs, --audit-log, --state-dir and --cgroup must be "
				"absolute paths\n");
		return -EINVAL;
	}
	return container_dns_pick(c);
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

/* A DNS listener on addr4:53 (IPv4) or [::1]:53: non-blocking, close-on-exec, IPv6 only for
 * the IPv6 ones (so they never take IPv4 traffic meant for the other pair), TCP ones listening.
 * The fd, or -errno. */
static int bind_dns(int family, int type, in_addr_t addr4)
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
		sin->sin_addr.s_addr = addr4;
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
		*fd[i] = bind_dns(l[i].family, l[i].type, htonl(INADDR_LOOPBACK));
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

/* The containers' DNS listeners on container_dns:53 (when there is one), like 127.0.0.1's. */
static int bind_dns_container(struct start_ctx *c)
{
	struct in_addr a;

	if (!c->container_dns[0] || inet_pton(AF_INET, c->container_dns, &a) != 1)
		return 0;
	c->udpc_fd = bind_dns(AF_INET, SOCK_DGRAM, a.s_addr);
	c->tcpc_fd = c->udpc_fd < 0 ? c->udpc_fd : bind_dns(AF_INET, SOCK_STREAM, a.s_addr);
	if (c->udpc_fd >= 0 && c->tcpc_fd >= 0)
		return 0;
	fprintf(stderr, "cargowall: --container-dns: cannot bind %s %s:53: %s\n",
		c->udpc_fd < 0 ? "UDP" : "TCP", c->container_dns,
		strerror(c->udpc_fd < 0 ? -c->udpc_fd : -c->tcpc_fd));
	return c->udpc_fd < 0 ? c->udpc_fd : c->tcpc_fd;
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
	if (pipe2(c->ack_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	ret = bind_dns_all(c);
	if (!ret)
		ret = bind_dns_container(c);
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

int start_setup(struct start_ctx *c, int argc, char **argv, bool scoped)
{
	struct policy p;
	int ret, err, old;

	memset(c, 0, sizeof(*c));
	c->report_fd = -1;
	if (parse_opts(argc, argv, &c->o))
		return 2;
	c->o.scoped = scoped;
	c->state_dir = c->o.state_dir;
	if (scoped && !strcmp(c->state_dir, CW_STATE_DIR_DEFAULT)) {
		/* beside a `start` that may be running */
		snprintf(c->run_state_dir, sizeof(c->run_state_dir), "%s/run.%d",
			 CW_STATE_DIR_DEFAULT, (int)getpid());
		c->state_dir = c->run_state_dir;
	}
	log_setverbose(c->o.verbose);
	if (geteuid() != 0) {
		fprintf(stderr, "cargowall: %s needs root (it loads BPF programs)\n",
			scoped ? "run" : "start");
		return 1;
	}
	if (launch_build_policy(&c->o, &p))
		return 1;
	ret = 1;
	/* SIGHUP builds the policy again from these (reload.c); the file by its absolute path,
	 * the supervisor's working directory is not ours */
	if (src_from_opts(&c->o, &c->src)) {
		fprintf(stderr, "cargowall: out of memory\n");
		goto out;
	}
	if (c->src.config) {
		char *abs = realpath(c->src.config, NULL);

		if (!abs) {
			fprintf(stderr, "cargowall: --config: %s: %s\n", c->src.config,
				strerror(errno));
			goto out;
		}
		free(c->src.config);
		c->src.config = abs;
	}
	if (prepare(c))
		goto out;
	err = mkdir_p(c->state_dir, 0700);
	if (err) {
		fprintf(stderr, "cargowall: --state-dir: %s: %s\n", c->state_dir, strerror(-err));
		goto out;
	}
	old = pidfile_read(c->state_dir, "cargowall");
	if (old > 0 && pid_is_ours(old)) {
		fprintf(stderr, "cargowall: already running (pid %d); `cargowall stop` first\n",
			old);
		goto out;
	}
	if (sys_ensure_user(c->o.enforcer_user) || sys_ensure_user(c->o.dnsd_user) ||
	    sys_ensure_user(c->o.auditd_user)) {
		fprintf(stderr,
			"cargowall: cannot find or create the unprivileged users %s, %s and %s\n",
			c->o.enforcer_user, c->o.dnsd_user, c->o.auditd_user);
		goto out;
	}
	if (sys_ensure_bpffs(c->st.bpffs, !c->o.bpffs)) {
		fprintf(stderr, "cargowall: --bpffs: %s: its parent is not a mounted bpffs\n",
			c->st.bpffs);
		goto out;
	}
	if (create_resources(c, &p) == 0)
		ret = 0;
out:
	policy_free(&p);
	if (ret)
		src_free(&c->src);
	if (ret && scoped)
		rmdir(c->st.cgroup); /* the job's cgroup, made by prepare() */
	return ret;
}

int cmd_start(int argc, char **argv)
{
	struct start_ctx c;
	pid_t pid;
	int ret = start_setup(&c, argc, argv, false);

	if (ret)
		return ret;
	if (c.o.foreground) {
		ret = supervise(&c);
		src_free(&c.src);
		return ret;
	}
	/* the daemon has its own copy of the sources; this process is done with them */
	ret = daemon_start(&c, &pid);
	src_free(&c.src);
	if (ret)
		return 1;
	printf("cargowall: enforcement live (mode %s, pid %d, audit log %s)\n", c.st.mode, (int)pid,
	       c.st.audit_log);
	return 0;
}
