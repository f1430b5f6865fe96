// SPDX-License-Identifier: Apache-2.0
/* Start and orderly teardown: pin directory, skeleton, settings, pins, TC filters on the uplinks,
 * cgroup links. Every step records what it did so that teardown undoes exactly that, whether
 * the start completed or failed half-way. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cargowall.skel.h"
#include "common/child.h"
#include "common/log.h"
#include "enforcer.h"

/* --verbose: how long each step of the start took (issue 6: start to enforcement live). */
static void phase(const char *what)
{
	static uint64_t last;
	uint64_t now = enf_now_ns();

	if (what && last)
		log_debug("start: %s: %.1f ms", what, (double)(now - last) / 1e6);
	last = now;
}

const struct enf_cg_prog enf_cg_progs[ENF_CG_PROGS] = {
	{ "cw_connect4", CW_PIN_LINK_CONNECT4, BPF_CGROUP_INET4_CONNECT, false },
	{ "cw_connect6", CW_PIN_LINK_CONNECT6, BPF_CGROUP_INET6_CONNECT, false },
	{ "cw_sendmsg4", CW_PIN_LINK_SENDMSG4, BPF_CGROUP_UDP4_SENDMSG, false },
	{ "cw_sendmsg6", CW_PIN_LINK_SENDMSG6, BPF_CGROUP_UDP6_SENDMSG, false },
	{ "cw_recvmsg4", CW_PIN_LINK_RECVMSG4, BPF_CGROUP_UDP4_RECVMSG, false },
	{ "cw_recvmsg6", CW_PIN_LINK_RECVMSG6, BPF_CGROUP_UDP6_RECVMSG, false },
	{ "cw_getpeername4", CW_PIN_LINK_GETPEERNAME4, BPF_CGROUP_INET4_GETPEERNAME, false },
	{ "cw_getpeername6", CW_PIN_LINK_GETPEERNAME6, BPF_CGROUP_INET6_GETPEERNAME, false },
	{ "cw_sock_create", CW_PIN_LINK_SOCK_CREATE, BPF_CGROUP_INET_SOCK_CREATE, false },
	{ "cw_setsockopt", CW_PIN_LINK_SETSOCKOPT, BPF_CGROUP_SETSOCKOPT, false },
	{ "cw_skb_egress", CW_PIN_LINK_SKB_EGRESS, BPF_CGROUP_INET_EGRESS, true },
	{ "cw_dns_egress", CW_PIN_LINK_DNS_EGRESS, BPF_CGROUP_INET_EGRESS, false },
};

const struct enf_map_pin enf_map_pins[ENF_MAP_PINS] = {
	{ "lpm_v4", CW_PIN_LPM_V4 },	       { "lpm_v6", CW_PIN_LPM_V6 },
	{ "settings", CW_PIN_SETTINGS },       { "counters", CW_PIN_COUNTERS },
	{ "events", CW_PIN_EVENTS },	       { "socks", CW_PIN_SOCKS },
	{ "dns_orig", CW_PIN_DNS_ORIG },       { "rule_ports", CW_PIN_RULE_PORTS },
	{ "dedupe", CW_PIN_DEDUPE },	       { "steps", CW_PIN_STEPS },
	{ "dns_clients", CW_PIN_DNS_CLIENTS }, { "dns_ident", CW_PIN_DNS_IDENT },
};

int enf_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* libbpf logs the kernel's extended ack of every failed netlink request as a warning. Where a
 * failure is an expected answer ("already there", "nothing there") our own message says what it
 * means, and the raw text only goes to the debug log. */
static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];

	(void)level;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("%s", buf);
	return 0;
}

libbpf_print_fn_t enf_libbpf_quiet(void)
{
	return libbpf_set_print(quiet_print);
}

/* One of the names we pin (a previous enforcer's, to adopt), or something else. */
static bool pin_name_ours(const char *name)
{
	size_t i;

	for (i = 0; i < ENF_MAP_PINS; i++)
		if (!strcmp(name, enf_map_pins[i].pin))
			return true;
	for (i = 0; i < ENF_CG_PROGS; i++)
		if (!strcmp(name, enf_cg_progs[i].pin))
			return true;
	return !strcmp(name, CW_PIN_PROG_TC) || !strcmp(name, ENF_PIN_TC_OWNED) ||
	       !strcmp(name, ENF_PIN_RULE_IDS) || !strcmp(name, CW_PIN_LINK_FORK) ||
	       !strcmp(name, CW_PIN_LINK_EXIT) ||
	       !strncmp(name, ENF_PIN_TCX_PREFIX, strlen(ENF_PIN_TCX_PREFIX));
}

/* Who holds the flock on the file behind fd, from /proc/locks (the pid as our pid namespace
 * sees it): 0 when not found. */
static pid_t lock_holder(int fd)
{
	unsigned int maj, min;
	unsigned long ino;
	char line[256], type[16];
	pid_t found = 0;
	struct stat st;
	int pid;
	FILE *f;

	if (fstat(fd, &st) < 0)
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	/* "1: FLOCK  ADVISORY  WRITE 6151 00:2b:41853923 0 EOF"; a waiter's line has "->" */
	while (!found && fgets(line, sizeof(line), f))
		if (!strstr(line, "->") &&
		    sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", type, &pid, &maj, &min, &ino) ==
			    5 &&
		    !strcmp(type, "FLOCK") && pid > 0 && ino == st.st_ino &&
		    makedev(maj, min) == st.st_dev)
			found = pid;
	fclose(f);
	return found;
}

int enf_pin_dir_lock(const char *dir, int *fd_out, pid_t *holder)
{
	const struct timespec step = { 0, 20 * 1000000L };
	struct stat held, now;
	int fd, err, waited;

	*holder = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 20) {
		err = -errno;
		if (err == -EINTR)
			continue;
		if (err != -EWOULDBLOCK || waited >= ENF_PIN_LOCK_WAIT_MS) {
			if (err == -EWOULDBLOCK) {
				*holder = lock_holder(fd);
				err = -EBUSY;
			}
			close(fd);
			return err;
		}
		if (!waited)
			log_debug("--bpffs %s: locked (pid %d); waiting up to %d ms", dir,
				  (int)lock_holder(fd), ENF_PIN_LOCK_WAIT_MS);
		nanosleep(&step, NULL);
	}
	/* The holder we waited for may have removed the directory (a failed start, --cleanup),
	 * and another may have been made under its name meanwhile. */
	if (fstat(fd, &held) < 0 || lstat(dir, &now) < 0 || !held.st_nlink ||
	    held.st_dev != now.st_dev || held.st_ino != now.st_ino) {
		close(fd);
		return -ESTALE;
	}
	*fd_out = fd;
	return 0;
}

/* The pin directory: created 0700 by us, or an existing directory that only we can write to.
 * Locked first (enf_pin_dir_lock): the lock is held until we exit, so that two enforcers never
 * take the same pins and undo each other's links as tamper. Pins there are a previous
 * enforcer's (killed: its programs still enforce): we adopt them (adopt.c) rather than start
 * empty. A name we never pin means someone else's: refused. */
static int pin_dir_prepare(struct enf *e)
{
	const char *dir = e->o->bpffs;
	char buf[PATH_MAX];
	const char *parent;
	struct statfs sfs;
	struct stat st;
	struct dirent *de;
	pid_t holder;
	int err = 0, tries;
	DIR *d;

	snprintf(buf, sizeof(buf), "%s", dir);
	parent = dirname(buf);
	if (statfs(parent, &sfs) < 0) {
		err = -errno;
		log_warn("--bpffs %s: parent %s", dir, parent);
		return err;
	}
	if (sfs.f_type != BPF_FS_MAGIC) {
		log_warnx("--bpffs %s: %s is not a bpf filesystem (mount -t bpf bpf %s)", dir,
			  parent, parent);
		return -ENOTSUP;
	}
	for (tries = 0;; tries++) {
		e->dir_created = false;
		if (mkdir(dir, 0700) == 0) {
			e->dir_created = true;
		} else if (errno != EEXIST) {
			err = -errno;
			log_warn("--bpffs %s: mkdir", dir);
			return err;
		}
		err = enf_pin_dir_lock(dir, &e->pin_lock_fd, &holder);
		if ((err != -ENOENT && err != -ESTALE) || tries == 3)
			break;
	}
	if (err) {
		/* Never removed by our teardown: someone else works in it. */
		e->dir_created = false;
		if (err == -EBUSY && holder)
			log_warnx("another cargowall-enforcer holds the pin directory %s (pid %d)",
				  dir, (int)holder);
		else if (err == -EBUSY)
			log_warnx("another cargowall-enforcer holds the pin directory %s", dir);
		else if (err == -ELOOP || err == -ENOTDIR)
			log_warnx("--bpffs %s: exists but is not a directory", dir);
		else if (err == -ENOENT || err == -ESTALE)
			log_warnx("--bpffs %s: removed or replaced each time we locked it", dir);
		else
			log_warnx("--bpffs %s: locking it: %s", dir, strerror(-err));
		return err;
	}
	log_debug("--bpffs %s: locked (fd %d), held until we exit", dir, e->pin_lock_fd);
	if (fstat(e->pin_lock_fd, &st) < 0) {
		err = -errno;
		log_warn("--bpffs %s", dir);
		return err;
	}
	/* Ours as root made it (0700), or as a previous enforcer left it after its drop: its
	 * user's, group root, nobody else's (main.c pin_dir_handover). */
	if (!S_ISDIR(st.st_mode) ||
	    !((st.st_uid == geteuid() && !(st.st_mode & 077)) ||
	      (e->o->uid && st.st_uid == e->o->uid && st.st_gid == 0 && !(st.st_mode & 07)))) {
		log_warnx("--bpffs %s: exists but is neither a directory of uid %u with mode 0700 "
			  "nor one of uid %u, group 0, with no access for others",
			  dir, (unsigned int)geteuid(), (unsigned int)e->o->uid);
		return -EPERM;
	}
	d = opendir(dir);
	if (!d) {
		err = -errno;
		log_warn("--bpffs %s", dir);
		return err;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* A pin is a regular file: a symlink or directory under one of our names (the
		 * enforcer's user can write here) is never followed. */
		if (!pin_name_ours(de->d_name) || de->d_type != DT_REG) {
			log_warnx("--bpffs %s: holds '%s', which is not one of our pins; refusing "
				  "to adopt (remove it, or run cargowall-enforcer --cleanup)",
				  dir, de->d_name);
			err = -EEXIST;
			break;
		}
		e->adopting = true;
	}
	closedir(d);
	if (!err && e->adopting) {
		/* Ours now: a normal teardown removes it like one we created. */
		e->dir_created = true;
		log_info("--bpffs %s: a previous enforcer's pins: adopting them", dir);
	}
	return err;
}

/* A cgroup v2 directory: an open fd and its id (the directory's inode number). */
static int cgroup_open(const char *opt, const char *path, int *fd_out, uint64_t *id_out)
{
	struct statfs sfs;
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_warn("%s %s", opt, path);
		return err;
	}
	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		log_warn("%s %s", opt, path);
		goto out;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		log_warnx("%s %s: not a cgroup v2 directory", opt, path);
		err = -ENOTDIR;
		goto out;
	}
	*id_out = st.st_ino;
	if (fd_out) {
		*fd_out = fd;
		return 0;
	}
	err = 0;
out:
	close(fd);
	return err;
}

/* The TC program reads an Ethernet header at offset 0: refuse devices without one (tun,
 * wireguard, loopback) rather than misparse their packets. */
static int iface_resolve(struct enf_iface *ifc)
{
	struct ifreq ifr;
	int fd, err = 0;

	ifc->ifindex = (int)if_nametoindex(ifc->name);
	if (!ifc->ifindex) {
		err = -errno;
		log_warn("--interface %s", ifc->name);
		return err;
	}
	/* Any socket reaches the device ioctls; AF_UNIX creates no inet socket for the hooks. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		log_warn("socket");
		return err;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifc->name, sizeof(ifr.ifr_name));
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
		log_warn("--interface %s: SIOCGIFHWADDR", ifc->name);
	} else if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		log_warnx("--interface %s: not an Ethernet device (type %u): not supported yet",
			  ifc->name, ifr.ifr_hwaddr.sa_family);
		err = -EOPNOTSUPP;
	}
	close(fd);
	return err;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* asm-generic/socket.h, Linux 5.14 */
#endif

/* The cookie of our network namespace, the host's (the launcher runs us there): a socket's
 * netns cookie in the hooks tells a container's sockets from the host's. Before Linux 5.14 there
 * is none (0): every socket then counts as the host's, and containers' DNS goes to their own
 * loopback (fails; it reaches no other resolver either). */
static uint64_t host_netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0 ||
	    len != sizeof(cookie)) {
		log_warn("SO_NETNS_COOKIE: containers' DNS cannot be told apart (Linux < 5.14?)");
		cookie = 0;
	}
	if (fd >= 0)
		close(fd);
	return cookie;
}

static void settings_make(struct enf *e, uint64_t dnsd_cgroup_id)
{
	struct cw_settings *s = &e->settings;

	memset(s, 0, sizeof(*s));
	s->dnsd_cgroup_id = dnsd_cgroup_id;
	s->mode = e->o->mode;
	s->default_action = e->pol.default_action;
	s->dns_upstream = e->o->upstream;
	s->dns_upstream_port = e->o->upstream_port;
	s->flags = e->o->allow_raw ? CW_SETF_ALLOW_RAW : 0;
	s->step_parent = e->o->step_parent;
	s->container_dns = e->o->container_dns;
	s->host_netns = host_netns_cookie();
}

int enf_settings_write(struct enf *e)
{
	__u32 key = 0;
	int err;

	/* One array element: the programs see the old settings or the new, never a mix. */
	err = bpf_map__update_elem(e->skel->maps.settings, &key, sizeof(key), &e->settings,
				   sizeof(e->settings), 0);
	if (err)
		log_warnx("settings map: %s", strerror(-err));
	return err;
}

static int pin_maps(struct enf *e)
{
	char path[PATH_MAX];
	size_t i;
	int err;

	/* Set before pinning: a partial pin is undone by the same unpin pass. */
	e->maps_pinned = true;
	for (i = 0; i < ENF_MAP_PINS; i++) {
		struct bpf_map *map =
			bpf_object__find_map_by_name(e->skel->obj, enf_map_pins[i].map);

		err = map ? enf_pin_path(path, sizeof(path), e->o->bpffs, enf_map_pins[i].pin) :
			    -ENOENT;
		/* Adopted maps are the pinned ones already (adopt_maps). */
		if (!err && !e->map_reused[i])
			err = bpf_map__pin(map, path);
		if (err) {
			log_warnx("pin %s: %s", enf_map_pins[i].pin, strerror(-err));
			return err;
		}
		e->map_ids[i] = enf_obj_id(bpf_map__fd(map));
	}
	e->prog_pinned = true;
	err = enf_pin_path(path, sizeof(path), e->o->bpffs, CW_PIN_PROG_TC);
	/* A previous enforcer's program: ours replaces it on every link below. */
	if (!err && e->adopting && unlink(path) < 0 && errno != ENOENT)
		err = -errno;
	if (!err)
		err = bpf_program__pin(e->skel->progs.cw_tc_egress, path);
	if (err) {
		log_warnx("pin %s: %s", path, strerror(-err));
		return err;
	}
	/* The record of qdiscs we create, for --cleanup after a crash; an adopted one keeps
	 * what the previous enforcer created. */
	err = enf_pin_path(path, sizeof(path), e->o->bpffs, ENF_PIN_TC_OWNED);
	if (err)
		return err;
	if (e->adopting) {
		e->tc_owned_fd = bpf_obj_get(path);
		if (e->tc_owned_fd >= 0)
			return 0;
	}
	e->tc_owned_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "cw_tc_owned", sizeof(int), sizeof(__u8),
					ENF_IFACES_MAX, NULL);
	if (e->tc_owned_fd < 0) {
		err = e->tc_owned_fd;
		log_warnx("tc_owned map: %s", strerror(-err));
		return err;
	}
	if (bpf_obj_pin(e->tc_owned_fd, path) < 0) {
		err = -errno;
		log_warnx("pin %s: %s", path, strerror(-err));
	}
	return err;
}

static int tc_attach_one(struct enf *e, struct enf_iface *ifc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CW_TC_HANDLE, .priority = CW_TC_PRIORITY,
		    .prog_fd = bpf_program__fd(e->skel->progs.cw_tc_egress));
	libbpf_print_fn_t old;
	__u8 one = 1;
	int err;

	old = enf_libbpf_quiet();
	err = bpf_tc_hook_create(&hook);
	libbpf_set_print(old);
	if (!err) {
		ifc->qdisc_created = true;
		err = bpf_map_update_elem(e->tc_owned_fd, &ifc->ifindex, &one, BPF_ANY);
		if (err) {
			log_warnx("%s: recording the clsact qdisc: %s", ifc->name, strerror(-err));
			return err;
		}
	} else if (err != -EEXIST) {
		log_warnx("%s: creating the clsact qdisc: %s", ifc->name, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err == -EEXIST) {
		log_warnx("%s: a TC egress filter with handle %#x priority %#x is already there "
			  "(a previous enforcer? run cargowall-enforcer --cleanup)",
			  ifc->name, CW_TC_HANDLE, CW_TC_PRIORITY);
		return err;
	}
	if (err) {
		log_warnx("%s: attaching the TC egress filter: %s", ifc->name, strerror(-err));
		return err;
	}
	ifc->attached = true;
	log_debug("%s: TC egress filter attached (prog id %u)", ifc->name, opts.prog_id);
	return 0;
}

/* ---- TCX links made while the programs load ------------------------------------------------ */

/* Creating a device's TCX link waits out an RCU grace period (tcx_entry_sync(): 5-20 ms on a
 * 2-CPU VM), where replacing the program of an existing link does not. So a fresh start makes
 * each uplink's link at once, in a thread, with a placeholder program that only passes the
 * packet on to whatever comes after it (TCX_NEXT, as if nothing were attached), while the real
 * programs load and the tries fill; then the link gets the real program in one step
 * (bpf_link_update) and is pinned, at the point where the TC program was attached before.
 * Until then nothing is judged by the placeholder that would not have passed unattached: the
 * firewall is not live before start reports it. A link that is not taken over is detached
 * with its fd; one that could not be made leaves that uplink to enf_tc_attach(), which tries
 * TCX again and falls back to clsact. */
static struct {
	pthread_t thread;
	bool running;
	int prog_fd;
	size_t n;
	int ifindex[ENF_IFACES_MAX];
	int link_fd[ENF_IFACES_MAX]; /* -errno when the link could not be made */
} tc_pre = { .prog_fd = -1 };

static void *tc_pre_run(void *arg)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = ENF_F_BEFORE);
	size_t i;

	(void)arg;
	for (i = 0; i < tc_pre.n; i++)
		tc_pre.link_fd[i] =
			bpf_link_create(tc_pre.prog_fd, tc_pre.ifindex[i], ENF_TCX_EGRESS, &lo);
	return NULL;
}

static void tc_pre_start(struct enf *e)
{
	/* r0 = TC_ACT_UNSPEC (TCX_NEXT); exit */
	const struct bpf_insn pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_UNSPEC },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	size_t i;
	int err;

	if (e->adopting || e->o->scoped || !e->o->n_ifaces)
		return;
	tc_pre.prog_fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "cw_tc_pending", "Dual BSD/GPL",
				       pass, sizeof(pass) / sizeof(pass[0]), NULL);
	if (tc_pre.prog_fd < 0) {
		log_debug("TCX placeholder program: %s (the links are made after the load)",
			  strerror(-tc_pre.prog_fd));
		return;
	}
	tc_pre.n = e->o->n_ifaces;
	for (i = 0; i < tc_pre.n; i++) {
		tc_pre.ifindex[i] = e->o->ifaces[i].ifindex;
		tc_pre.link_fd[i] = -EAGAIN;
	}
	err = pthread_create(&tc_pre.thread, NULL, tc_pre_run, NULL);
	if (err) {
		log_debug("TCX link thread: %s (the links are made after the load)", strerror(err));
		tc_pre.n = 0;
		return;
	}
	tc_pre.running = true;
}

static void tc_pre_join(void)
{
	if (tc_pre.running)
		pthread_join(tc_pre.thread, NULL);
	tc_pre.running = false;
}

/* Interface i's link with the real program, pinned; 1 when there is no such link (the caller
 * attaches the usual way), or -errno. */
static int tc_pre_take(struct enf *e, size_t i)
{
	struct enf_iface *ifc = &e->o->ifaces[i];
	int fd, err;

	tc_pre_join();
	if (i >= tc_pre.n || tc_pre.link_fd[i] < 0 || tc_pre.ifindex[i] != ifc->ifindex)
		return 1;
	fd = tc_pre.link_fd[i];
	tc_pre.link_fd[i] = -EBADF;
	/* From here the teardown detaches it. */
	ifc->tcx = true;
	ifc->tcx_fd = fd;
	if (bpf_link_update(fd, bpf_program__fd(e->skel->progs.cw_tc_egress), NULL) < 0) {
		err = -errno;
		log_warnx("%s: putting the TC egress program on its TCX link: %s", ifc->name,
			  strerror(-err));
		return err;
	}
	return enf_tcx_pin(e, ifc);
}

/* Whatever enf_start() did not take over: detached (an unpinned link goes with its last fd). */
static void tc_pre_drop(void)
{
	size_t i;

	tc_pre_join();
	for (i = 0; i < tc_pre.n; i++)
		if (tc_pre.link_fd[i] >= 0)
			close(tc_pre.link_fd[i]);
	tc_pre.n = 0;
	if (tc_pre.prog_fd >= 0)
		close(tc_pre.prog_fd);
	tc_pre.prog_fd = -1;
}

/* TCX where the kernel has it, a clsact filter otherwise (or when TCX is refused). */
int enf_tc_attach(struct enf *e, struct enf_iface *ifc)
{
	int err = enf_tcx_attach(e, ifc);

	if (err != -EOPNOTSUPP)
		return err;
	err = tc_attach_one(e, ifc);
	if (!err)
		log_info("%s: TC egress program attached as a clsact filter", ifc->name);
	return err;
}

int enf_cgroup_attach(struct enf *e, const struct enf_cg_prog *cp, struct bpf_link **linkp)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(e->skel->obj, cp->prog);
	char path[PATH_MAX];
	int err;

	if (!prog) {
		log_warnx("no program %s in the BPF object", cp->prog);
		return -ENOENT;
	}

	*linkp = bpf_program__attach_cgroup(prog, e->cgroup_fd);
	if (!*linkp) {
		err = -errno;
		log_warnx("--cgroup %s: attaching %s: %s", e->o->cgroup, bpf_program__name(prog),
			  strerror(-err));
		return err;
	}
	/* Pinned, the link outlives us: a dead enforcer leaves the cgroup closed, not open. */
	err = enf_pin_path(path, sizeof(path), e->o->bpffs, cp->pin);
	if (!err)
		err = bpf_link__pin(*linkp, path);
	if (err)
		log_warnx("pin %s: %s", path, strerror(-err));
	return err;
}

/* The maps auditd reads (the ring buffer, the counters, dns_clients) are pinned: "M" on the
 * ready pipe, ahead of child_ready()'s "R", lets the launcher start auditd while we load and
 * attach. Enforcement is live only at "R": start reports nothing before it. A failed write only
 * loses that head start. Sent on a fresh start only: adopting, the maps are pinned already
 * (and a restarted enforcer's auditd runs). */
static void maps_pinned_tell(void)
{
	if (write(CW_FD_READY, "M", 1) != 1)
		log_warn("ready pipe: telling the launcher the maps are pinned");
}

/* A fresh start (nothing to adopt) makes the maps auditd reads itself and pins them before the
 * load, which is most of the start (the verifier, and libbpf reading the kernel's BTF), so that
 * auditd starts while it runs. Same type, sizes, flags and name as the object's (libbpf then
 * uses them as they are, as for adopted maps); they carry no BTF, which only `bpftool map dump`
 * would show. Pinned from here on (teardown unpins every name). */
static int pin_auditd_maps_early(struct enf *e)
{
	static const char *const early[] = { CW_PIN_EVENTS, CW_PIN_COUNTERS, CW_PIN_DNS_CLIENTS };
	char path[PATH_MAX];
	size_t i, j;
	int fd, err;

	for (i = 0; i < ENF_MAP_PINS; i++) {
		LIBBPF_OPTS(bpf_map_create_opts, mo);
		struct bpf_map *map;

		for (j = 0; j < sizeof(early) / sizeof(early[0]); j++)
			if (!strcmp(enf_map_pins[i].pin, early[j]))
				break;
		if (j == sizeof(early) / sizeof(early[0]))
			continue;
		map = bpf_object__find_map_by_name(e->skel->obj, enf_map_pins[i].map);
		if (!map)
			return -ENOENT;
		mo.map_flags = bpf_map__map_flags(map);
		fd = bpf_map_create(bpf_map__type(map), bpf_map__name(map), bpf_map__key_size(map),
				    bpf_map__value_size(map), bpf_map__max_entries(map), &mo);
		if (fd < 0) {
			log_warnx("map %s: %s", bpf_map__name(map), strerror(-fd));
			return fd;
		}
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (!err)
			err = enf_pin_path(path, sizeof(path), e->o->bpffs, enf_map_pins[i].pin);
		e->maps_pinned = true;
		if (!err && bpf_obj_pin(bpf_map__fd(map), path) < 0)
			err = -errno;
		if (err) {
			log_warnx("pin %s: %s", enf_map_pins[i].pin, strerror(-err));
			return err;
		}
		/* pin_maps() leaves it as it is */
		e->map_reused[i] = true;
	}
	maps_pinned_tell();
	return 0;
}

static int start_attach(struct enf *e)
{
	uint64_t cgroup_id, dnsd_id;
	size_t i;
	int err;

	phase(NULL);
	for (i = 0; i < e->o->n_ifaces; i++) {
		err = iface_resolve(&e->o->ifaces[i]);
		if (err)
			return err;
	}
	err = cgroup_open("--cgroup", e->o->cgroup, &e->cgroup_fd, &cgroup_id);
	if (err)
		return err;
	err = cgroup_open("--dnsd-cgroup", e->o->dnsd_cgroup, NULL, &dnsd_id);
	if (err)
		return err;
	err = pin_dir_prepare(e);
	if (err)
		return err;
	tc_pre_start(e);

	e->skel = cargowall__open();
	if (!e->skel) {
		err = -errno;
		log_warnx("opening the BPF object: %s", strerror(-err));
		return err;
	}
	err = trie_size_maps(e);
	if (!err)
		err = steps_prepare(e);
	/* The verifier is most of the start time (issue 6): the scoped cgroup egress program is
	 * not loaded at all unless --scoped attaches it. */
	if (!err && !e->o->scoped)
		err = bpf_program__set_autoload(e->skel->progs.cw_skb_egress, false);
	if (err)
		return err;
	err = e->adopting ? adopt_maps(e) : pin_auditd_maps_early(e);
	if (err)
		return err;
	phase("BPF object opened, auditd's maps made and pinned");
	err = cargowall__load(e->skel);
	if (err) {
		log_warnx("loading the BPF programs: %s", strerror(-err));
		return err;
	}
	phase("BPF programs verified and loaded, maps made");
	e->cgroup_id = cgroup_id;
	settings_make(e, dnsd_id);
	/* Adopting, the order keeps every verdict meanwhile to the old policy's, ours, or
	 * stricter (adopt.c). */
	if (e->adopting)
		err = adopt_begin(e);
	if (!err && !e->settings_deferred)
		err = enf_settings_write(e);
	if (!err && e->adopting)
		err = adopt_ports_prune(e);
	if (!err)
		err = trie_load_static(e);
	phase("settings and static rules written");
	if (!err && e->adopting)
		err = adopt_tries(e);
	if (!err && e->adopting)
		err = adopt_finish(e);
	if (!err)
		err = pin_maps(e);
	if (!err)
		err = ruleid_pin(e);
	phase("maps pinned");
	if (err)
		return err;
	/* Adopting, each attachment point keeps a program at every moment: the pinned links
	 * (and our clsact filter) get the new program in one step; only what is missing is
	 * attached afresh. */
	for (i = 0; i < e->o->n_ifaces; i++) {
		err = e->adopting ? adopt_tc(e, &e->o->ifaces[i]) : tc_pre_take(e, i);
		if (err == 1)
			err = enf_tc_attach(e, &e->o->ifaces[i]);
		if (err)
			return err;
	}
	for (i = 0; i < ENF_CG_PROGS; i++) {
		if (enf_cg_progs[i].scoped_only && !e->o->scoped)
			continue;
		err = e->adopting ? adopt_cgroup_link(e, &enf_cg_progs[i], &e->links[i]) : 1;
		if (err == 1)
			err = enf_cgroup_attach(e, &enf_cg_progs[i], &e->links[i]);
		if (err)
			return err;
	}
	err = steps_attach(e);
	phase("programs attached");
	if (err)
		return err;
	log_debug("cgroup %s (id %llu), dnsd cgroup id %llu", e->o->cgroup,
		  (unsigned long long)cgroup_id, (unsigned long long)dnsd_id);
	return 0;
}

int enf_start(struct enf *e)
{
	int err = start_attach(e);

	tc_pre_drop();
	return err;
}

/* Detach explicitly: closing our fd would not detach a link that is still pinned (or held by
 * anyone else). */
static int link_teardown(struct enf *e, struct bpf_link **linkp, const char *pin, const char *what)
{
	struct bpf_link *link = *linkp;
	int err = 0, e2;

	if (!link)
		return 0;
	if (bpf_link_detach(bpf_link__fd(link)) < 0) {
		err = -errno;
		log_warnx("detaching %s: %s", what, strerror(-err));
	}
	/* By our directory's path, not the one libbpf kept: after the drop the pin directory is
	 * reached only through the fd main.c holds (its parent may be closed to us). */
	if (bpf_link__pin_path(link)) {
		e2 = enf_unpin(e->o->bpffs, pin);
		err = err ?: e2;
	}
	bpf_link__destroy(link);
	*linkp = NULL;
	return err;
}

int enf_tc_detach(int ifindex, const char *name)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CW_TC_HANDLE, .priority = CW_TC_PRIORITY);
	libbpf_print_fn_t old;
	int err;

	old = enf_libbpf_quiet();
	err = bpf_tc_detach(&hook, &opts);
	libbpf_set_print(old);
	/* Gone already: the filter, its qdisc or the whole device. */
	if (err == -ENOENT || err == -ENODEV || err == -EINVAL)
		return 0;
	if (err)
		log_warnx("%s: detaching the TC egress filter: %s", name, strerror(-err));
	return err;
}

int enf_tc_qdisc_destroy(int ifindex, const char *name)
{
	/* INGRESS|EGRESS deletes the clsact qdisc itself; EGRESS alone would flush every
	 * egress filter on the device, other people's included. */
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	libbpf_print_fn_t old;
	int err;

	old = enf_libbpf_quiet();
	err = bpf_tc_hook_destroy(&hook);
	libbpf_set_print(old);
	if (err == -ENOENT || err == -ENODEV || err == -EINVAL)
		return 0;
	if (err)
		log_warnx("%s: removing the clsact qdisc we created: %s", name, strerror(-err));
	return err;
}

int enf_unpin(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err;

	err = enf_pin_path(path, sizeof(path), dir, name);
	if (err)
		return err;
	if (unlink(path) < 0 && errno != ENOENT) {
		err = -errno;
		log_warn("unpinning %s", path);
	}
	return err;
}

int enf_teardown(struct enf *e)
{
	int err = 0, e2;
	size_t i;

	/* Nothing is made before the pin directory is locked; without its lock, what is pinned
	 * there is another enforcer's (or a dead one's): never touched. */
	if (e->pin_lock_fd < 0) {
		if (e->cgroup_fd >= 0)
			close(e->cgroup_fd);
		e->cgroup_fd = -1;
		return 0;
	}
	e2 = steps_teardown(e);
	err = err ?: e2;
	for (i = 0; i < ENF_CG_PROGS; i++) {
		e2 = link_teardown(e, &e->links[i], enf_cg_progs[i].pin, enf_cg_progs[i].prog);
		err = err ?: e2;
	}
	for (i = 0; i < e->o->n_ifaces; i++) {
		struct enf_iface *ifc = &e->o->ifaces[i];

		e2 = enf_tcx_detach(e, ifc);
		err = err ?: e2;
		if (ifc->attached) {
			e2 = enf_tc_detach(ifc->ifindex, ifc->name);
			err = err ?: e2;
			ifc->attached = e2 != 0;
		}
		if (ifc->qdisc_created) {
			e2 = enf_tc_qdisc_destroy(ifc->ifindex, ifc->name);
			err = err ?: e2;
			ifc->qdisc_created = e2 != 0;
		}
	}
	if (e->prog_pinned) {
		e2 = enf_unpin(e->o->bpffs, CW_PIN_PROG_TC);
		err = err ?: e2;
		e2 = enf_unpin(e->o->bpffs, ENF_PIN_TC_OWNED);
		err = err ?: e2;
	}
	if (e->rid.pin_fd_valid) {
		e2 = enf_unpin(e->o->bpffs, ENF_PIN_RULE_IDS);
		err = err ?: e2;
	}
	ruleid_free(e);
	if (e->maps_pinned)
		for (i = 0; i < ENF_MAP_PINS; i++) {
			e2 = enf_unpin(e->o->bpffs, enf_map_pins[i].pin);
			err = err ?: e2;
		}
	if (e->tc_owned_fd >= 0)
		close(e->tc_owned_fd);
	e->tc_owned_fd = -1;
	cargowall__destroy(e->skel);
	e->skel = NULL;
	if (e->dir_created && rmdir(e->o->bpffs) < 0) {
		e2 = -errno;
		log_warn("--bpffs %s: rmdir", e->o->bpffs);
		err = err ?: e2;
	}
	if (e->cgroup_fd >= 0)
		close(e->cgroup_fd);
	e->cgroup_fd = -1;
	return err;
}
