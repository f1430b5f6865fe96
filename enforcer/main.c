// SPDX-License-Identifier: Apache-2.0
/* cargowall-enforcer: loads and attaches the BPF programs, keeps the LPM trie in step with the
 * policy and with what dnsd learns, and detaches everything on SIGTERM (DESIGN.md §1, §3, §4).
 * Started by the launcher with the fds of common/child.h. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "common/child.h"
#include "common/learn.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/seccomp.h"
#include "enforcer.h"

/* Expired learned entries stop admitting traffic in the kernel at their deadline; the sweep only
 * frees their slots, so once a second is plenty. The tamper checks share the tick: issue 6 asks
 * that a detached program be noticed within a second. */
#define ENF_SWEEP_INTERVAL_MS 1000

static void __attribute__((noreturn)) usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void usage(const char *fmt, ...)
{
	if (fmt) {
		char buf[512];
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		log_warnx("%s", buf);
	}
	fprintf(stderr,
		"usage: cargowall-enforcer --mode enforce|audit --bpffs DIR --cgroup DIR\n"
		"                          --interface IF [--interface IF]... --dnsd-cgroup DIR\n"
		"                          --dns-upstream IPV4[:PORT] --user NAME\n"
		"                          [--allow-private-answers]\n"
		"                          [--allow-raw-sockets] [--scoped] [--step-parent PID]\n"
		"                          [--container-dns IPV4] [--verbose]\n"
		"       cargowall-enforcer --cleanup --bpffs DIR --cgroup DIR\n"
		"                          (--interface IF... | --scoped)\n"
		"                          [--verbose]\n");
	exit(2);
}

/* A path option: non-empty, absolute, shorter than PATH_MAX. */
static const char *opt_path(const char *opt, const char *arg)
{
	if (!arg[0] || arg[0] != '/')
		usage("%s: '%s' is not an absolute path", opt, arg);
	if (strlen(arg) >= PATH_MAX)
		usage("%s: path longer than %d bytes", opt, PATH_MAX - 1);
	return arg;
}

static void opt_interface(struct enf_opts *o, const char *arg)
{
	size_t len = strlen(arg);
	size_t i;

	if (len == 0 || len >= IFNAMSIZ || strchr(arg, '/') || strchr(arg, ' '))
		usage("--interface: '%s' is not an interface name (1-%d characters)", arg,
		      IFNAMSIZ - 1);
	for (i = 0; i < o->n_ifaces; i++)
		if (!strcmp(o->ifaces[i].name, arg))
			usage("--interface: '%s' given twice", arg);
	if (o->n_ifaces == ENF_IFACES_MAX)
		usage("--interface: at most %d interfaces", ENF_IFACES_MAX);
	memcpy(o->ifaces[o->n_ifaces].name, arg, len + 1);
	o->n_ifaces++;
}

static void opt_upstream(struct enf_opts *o, const char *arg)
{
	struct in_addr in;
	const char *why;
	uint16_t port;

	if (netaddr_parse_upstream(arg, &in, &port, &why))
		usage("--dns-upstream: '%s': %s", arg, why);
	o->upstream = in.s_addr;
	o->upstream_port = htons(port);
}

/* --container-dns: a unicast IPv4 address of this host where dnsd listens on port 53 too (the
 * launcher binds it); not loopback, which inside a container is the container's own. */
static void opt_container_dns(struct enf_opts *o, const char *arg)
{
	struct in_addr in;
	uint32_t h;

	if (o->container_dns)
		usage("--container-dns given twice");
	if (inet_pton(AF_INET, arg, &in) != 1)
		usage("--container-dns: '%s' is not an IPv4 address", arg);
	h = ntohl(in.s_addr);
	if (!h || (h >> 24) == 127 || h >= 0xe0000000)
		usage("--container-dns: '%s' is not a unicast, non-loopback address", arg);
	o->container_dns = in.s_addr;
}

/* A process id: decimal, 2 .. 2^22 (PID_MAX_LIMIT); pid 1 has no runner steps. */
static void opt_step_parent(struct enf_opts *o, const char *arg)
{
	unsigned long v;
	char *end;

	if (o->step_parent)
		usage("--step-parent given twice");
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] < '0' || arg[0] > '9' || v < 2 || v > (1UL << 22))
		usage("--step-parent: '%s' is not a process id (2..%lu)", arg, 1UL << 22);
	o->step_parent = (uint32_t)v;
}

enum {
	OPT_MODE = 256,
	OPT_BPFFS,
	OPT_CGROUP,
	OPT_IFACE,
	OPT_DNSD_CG,
	OPT_UPSTREAM,
	OPT_CLEANUP,
	OPT_PRIVATE,
	OPT_RAW,
	OPT_SCOPED,
	OPT_STEP_PARENT,
	OPT_CONTAINER_DNS,
	OPT_USER,
};

static void parse_args(int argc, char **argv, struct enf_opts *o)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "bpffs", required_argument, NULL, OPT_BPFFS },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "interface", required_argument, NULL, OPT_IFACE },
		{ "dnsd-cgroup", required_argument, NULL, OPT_DNSD_CG },
		{ "dns-upstream", required_argument, NULL, OPT_UPSTREAM },
		{ "cleanup", no_argument, NULL, OPT_CLEANUP },
		{ "allow-private-answers", no_argument, NULL, OPT_PRIVATE },
		{ "allow-raw-sockets", no_argument, NULL, OPT_RAW },
		{ "scoped", no_argument, NULL, OPT_SCOPED },
		{ "step-parent", required_argument, NULL, OPT_STEP_PARENT },
		{ "container-dns", required_argument, NULL, OPT_CONTAINER_DNS },
		{ "user", required_argument, NULL, OPT_USER },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_mode = false, have_upstream = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MODE:
			if (have_mode)
				usage("--mode given twice");
			if (!strcmp(optarg, "enforce"))
				o->mode = CW_MODE_ENFORCE;
			else if (!strcmp(optarg, "audit"))
				o->mode = CW_MODE_AUDIT;
			else
				usage("--mode: '%s' is not enforce or audit", optarg);
			have_mode = true;
			break;
		case OPT_BPFFS:
			if (o->bpffs)
				usage("--bpffs given twice");
			o->bpffs = opt_path("--bpffs", optarg);
			break;
		case OPT_CGROUP:
			if (o->cgroup)
				usage("--cgroup given twice");
			o->cgroup = opt_path("--cgroup", optarg);
			break;
		case OPT_IFACE:
			opt_interface(o, optarg);
			break;
		case OPT_DNSD_CG:
			if (o->dnsd_cgroup)
				usage("--dnsd-cgroup given twice");
			o->dnsd_cgroup = opt_path("--dnsd-cgroup", optarg);
			break;
		case OPT_UPSTREAM:
			if (have_upstream)
				usage("--dns-upstream given twice");
			opt_upstream(o, optarg);
			have_upstream = true;
			break;
		case OPT_CLEANUP:
			o->cleanup = true;
			break;
		case OPT_PRIVATE:
			o->learn_flags |= LEARN_ALLOW_PRIVATE;
			break;
		case OPT_RAW:
			o->allow_raw = true;
			break;
		case OPT_SCOPED:
			o->scoped = true;
			break;
		case OPT_STEP_PARENT:
			opt_step_parent(o, optarg);
			break;
		case OPT_CONTAINER_DNS:
			opt_container_dns(o, optarg);
			break;
		case OPT_USER:
			if (o->user)
				usage("--user given twice");
			if (!*optarg)
				usage("--user: empty user name");
			o->user = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case ':':
			usage("%s needs an argument", argv[optind - 1]);
		default:
			usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage("unexpected argument '%s'", argv[optind]);
	if (!o->bpffs)
		usage("--bpffs is required");
	if (!o->cgroup)
		usage("--cgroup is required");
	if (o->scoped && o->n_ifaces)
		usage("--scoped judges the cgroup's own packets: no --interface with it");
	if (!o->scoped && !o->n_ifaces)
		usage("--interface is required (at least one), or --scoped");
	if (o->cleanup) {
		if (have_mode || o->dnsd_cgroup || have_upstream || o->step_parent ||
		    o->container_dns || o->user)
			usage("--cleanup takes only --bpffs, --cgroup, --interface or --scoped, and "
			      "--verbose");
		return;
	}
	if (!have_mode)
		usage("--mode is required");
	if (!o->dnsd_cgroup)
		usage("--dnsd-cgroup is required");
	if (!have_upstream)
		usage("--dns-upstream is required");
	if (!o->user)
		usage("--user is required");
}

static void event_loop(struct enf *e, const sigset_t *poll_mask)
{
	uint64_t next_sweep = enf_now_ns() + ENF_SWEEP_INTERVAL_MS * 1000000ULL;
	struct pollfd pfd = { .fd = CW_ENF_FD_DNSQ_BELL, .events = POLLIN };
	bool more = false;

	while (!child_stop_signal()) {
		uint64_t now = enf_now_ns();
		struct timespec ts = { 0, 0 };
		int n;

		if (!more && next_sweep > now) {
			uint64_t left = next_sweep - now;

			ts.tv_sec = left / 1000000000ULL;
			ts.tv_nsec = left % 1000000000ULL;
		}
		n = ppoll(&pfd, 1, &ts, poll_mask);
		if (n < 0 && errno != EINTR)
			fatal("ppoll");
		if (child_stop_signal())
			break;
		if (n > 0 && (pfd.revents & (POLLERR | POLLNVAL)))
			fatalx("dnsq doorbell fd %d broke (revents %#x)", pfd.fd, pfd.revents);
		if (more || (n > 0 && (pfd.revents & POLLIN))) {
			/* Clear before draining: a push after this rings again. */
			shmq_clear_doorbell(&e->q);
			/* A full batch means the producer may still be ahead: come back at once
			 * without waiting for the doorbell. */
			more = trie_drain(e) >= CW_DNSQ_CAPACITY;
		}
		if (enf_now_ns() >= next_sweep) {
			trie_sweep(e);
			tamper_check(e);
			next_sweep = enf_now_ns() + ENF_SWEEP_INTERVAL_MS * 1000000ULL;
		}
	}
	log_info("signal %d: detaching (%llu tamper event(s) undone while running)",
		 child_stop_signal(), (unsigned long long)e->n_tamper);
	/* A contract parsed by bench/dns, as dnsd's ack_latency line. */
	log_info("answer_to_trie: n=%llu p50_us=%llu p99_us=%llu max_us=%llu",
		 (unsigned long long)e->trie_hist.n,
		 (unsigned long long)hist_quantile(&e->trie_hist, 500),
		 (unsigned long long)hist_quantile(&e->trie_hist, 990),
		 (unsigned long long)e->trie_hist.max);
}

/* The ack pipe's write end (child.h), non-blocking: a dnsd that stops reading fills the pipe,
 * and the enforcer must never wait for it. Only the enforcer holds this open file. */
static int ack_pipe_check(int fd)
{
	struct stat st;
	int flags;

	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		log_warnx("ack pipe fd %d is not a pipe", fd);
		return -EBADF;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (flags & O_ACCMODE) != O_WRONLY ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		log_warnx("ack pipe fd %d is not a pipe's write end", fd);
		return -EBADF;
	}
	return 0;
}

/* One pin (name) or the pin directory itself (name NULL) made the enforcer user's, group root,
 * with `mode`. Only chmod by the owner needs no CAP_FOWNER (which the systemd unit does not
 * grant): what is not root's yet becomes root's first, the user's last (CAP_CHOWN). Never
 * through a symlink; a pin is a regular file. */
static int handover_one(int dfd, const char *name, mode_t mode, uid_t uid)
{
	const char *shown = name ? name : ".";
	struct stat st;
	int err;

	if ((name ? fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) : fstat(dfd, &st)) < 0)
		goto fail;
	if (name ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)) {
		log_warnx("--bpffs: '%s' is not a pin (file type %#o): not handed over", shown,
			  (unsigned int)(st.st_mode & S_IFMT));
		return -EINVAL;
	}
	if (st.st_uid == uid && st.st_gid == 0 && (st.st_mode & 07777) == mode)
		return 0;
	if ((st.st_uid || st.st_gid) &&
	    (name ? fchownat(dfd, name, 0, 0, AT_SYMLINK_NOFOLLOW) : fchown(dfd, 0, 0)) < 0)
		goto fail;
	if ((name ? fchmodat(dfd, name, mode, 0) : fchmod(dfd, mode)) < 0)
		goto fail;
	if ((name ? fchownat(dfd, name, uid, 0, AT_SYMLINK_NOFOLLOW) : fchown(dfd, uid, 0)) < 0)
		goto fail;
	return 0;
fail:
	err = -errno;
	log_warn("--bpffs: handing '%s' over to uid %u", shown, (unsigned int)uid);
	return err;
}

/* Before the drop, as root: the pin directory and every pin in it become the enforcer user's,
 * group root (directory 02770, pins 0660), so that after the drop the enforcer can unpin,
 * re-pin and open its pins there (tamper.c), and root (stop's --cleanup, the launcher, the next
 * enforcer) still reaches them through the group without CAP_DAC_OVERRIDE. The directory is
 * setgid: pins made after the drop get group root too (tamper.c opens their mode to it). Nothing
 * outside the directory changes. From then on the directory is reached through an fd held open
 * here (/proc/self/fd/N): its parent (/sys/fs/bpf) is usually 0700 root, closed to that user. */
static int pin_dir_handover(struct enf *e)
{
	static char fd_path[32];
	struct enf_opts *o = e->o;
	struct dirent *de;
	int dfd, lfd, err = 0;
	DIR *d;

	dfd = open(o->bpffs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	lfd = dfd < 0 ? -1 : openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = lfd < 0 ? NULL : fdopendir(lfd);
	if (!d) {
		err = -errno;
		log_warn("--bpffs %s", o->bpffs);
		if (lfd >= 0)
			close(lfd);
		if (dfd >= 0)
			close(dfd);
		return err;
	}
	while (!err && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			err = handover_one(dfd, de->d_name, 0660, o->uid);
	closedir(d);
	if (!err)
		err = handover_one(dfd, NULL, 02770, o->uid);
	if (err) {
		close(dfd);
		return err;
	}
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", dfd);
	log_debug("--bpffs %s: handed over to %s (uid %u, group 0), reached as %s from now on",
		  o->bpffs, o->user, (unsigned int)o->uid, fd_path);
	o->bpffs = fd_path;
	return 0;
}

static int run(struct enf_opts *o)
{
	static const cap_value_t keep[] = { CAP_BPF, CAP_NET_ADMIN };
	sigset_t poll_mask;
	struct policy_error perr;
	struct enf e;
	int err, flags;

	memset(&e, 0, sizeof(e));
	e.o = o;
	e.ack_fd = -1;
	e.pin_lock_fd = -1;
	e.cgroup_fd = -1;
	e.tc_owned_fd = -1;
	policy_init(&e.pol);

	err = child_signals_init(&poll_mask);
	if (err) {
		log_warnx("signal setup: %s", strerror(-err));
		return 1;
	}
	err = child_lookup_user(o->user, &o->uid, &o->gid);
	if (err) {
		log_warnx("--user: %s: %s", o->user,
			  err == -ENOENT ? "no such user" : strerror(-err));
		return 1;
	}
	if (o->uid == 0) {
		log_warnx("--user: %s is uid 0; the enforcer runs as a dedicated user, never root",
			  o->user);
		return 1;
	}
	err = policy_load_fd(&e.pol, CW_FD_POLICY, "<policy fd>", &perr);
	if (err) {
		log_warnx("policy: %s", perr.msg);
		return 1;
	}
	close(CW_FD_POLICY);
	err = shmq_attach(&e.q, CW_ENF_FD_DNSQ, CW_ENF_FD_DNSQ_BELL, CW_DNSQ_CAPACITY,
			  sizeof(struct cw_dnsq_entry));
	if (err) {
		log_warnx("dnsq (fd %d, doorbell fd %d): %s", CW_ENF_FD_DNSQ, CW_ENF_FD_DNSQ_BELL,
			  strerror(-err));
		goto out_policy;
	}
	/* The doorbell is drained only after poll() says it is readable, but dnsd holds the same
	 * eventfd and could read it first: never block on it. */
	flags = fcntl(CW_ENF_FD_DNSQ_BELL, F_GETFL);
	if (flags < 0 || fcntl(CW_ENF_FD_DNSQ_BELL, F_SETFL, flags | O_NONBLOCK) < 0) {
		err = -errno;
		log_warn("dnsq doorbell fd %d", CW_ENF_FD_DNSQ_BELL);
		goto out_q;
	}
	err = ack_pipe_check(CW_ENF_FD_ACK_BELL);
	if (err)
		goto out_q;
	e.ack_fd = CW_ENF_FD_ACK_BELL;

	err = enf_start(&e);
	if (!err)
		err = pin_dir_handover(&e);
	if (err && e.adopting) {
		/* The previous enforcer's programs keep enforcing: never open the firewall
		 * because taking it over failed. */
		log_warnx("adoption failed: the pinned programs under %s stay attached (fail "
			  "closed); cargowall-enforcer --cleanup removes them",
			  o->bpffs);
		adopt_release(&e);
		goto out_q;
	}
	if (err) {
		enf_teardown(&e);
		goto out_q;
	}
	/* Everything below needs only CAP_BPF (map updates, link detach and re-attach) and
	 * CAP_NET_ADMIN (TC filters, TCX, qdisc removal at teardown), as the dedicated user. */
	privdrop(o->uid, o->gid, keep, sizeof(keep) / sizeof(keep[0]));
	if (access(o->bpffs, R_OK | W_OK | X_OK) < 0)
		fatal("--bpffs: the pin directory (%s) is closed to %s after the drop", o->bpffs,
		      o->user);
	/* Its parent is root's: the empty directory is left to --cleanup (stop runs it as
	 * root). */
	e.dir_created = false;
	if (sandbox_apply(SANDBOX_ENFORCER))
		fatalx("seccomp allowlist not applied");
	child_ready();
	/* The policy's parse and libbpf's object loading leave ~1 MiB freed below the heap's top
	 * that free() does not give back (issue 6: resident memory); after the ready signal, off
	 * `cargowall start`'s path. */
	malloc_trim(0);
	log_info("live: mode %s, default %s, %zu interface(s), cgroup %s",
		 o->mode == CW_MODE_AUDIT ? "audit" : "enforce",
		 e.pol.default_action == CW_ACTION_ALLOW ? "allow" : "deny", o->n_ifaces,
		 o->cgroup);

	event_loop(&e, &poll_mask);
	err = enf_teardown(&e);
	if (err)
		log_warnx("teardown incomplete: run cargowall-enforcer --cleanup");
	else
		log_info("detached: nothing of ours is left attached or pinned (the empty pin "
			 "directory is left to --cleanup)");
out_q:
	shmq_detach(&e.q);
out_policy:
	trie_free(&e);
	policy_free(&e.pol);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct enf_opts o;

	/* glibc raises its mmap threshold each time a mapped chunk is freed; then the expiry
	 * heap's reallocs land in the heap and leave their old copies resident (issue 6). */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	memset(&o, 0, sizeof(o));
	log_procinit("enforcer");
	parse_args(argc, argv, &o);
	log_setverbose(o.verbose);
	log_libbpf_init();

	if (o.cleanup)
		return enf_cleanup(&o) ? 1 : 0;
	return run(&o);
}
