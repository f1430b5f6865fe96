// SPDX-License-Identifier: Apache-2.0
/* --cleanup: after an enforcer died (its links and TC filters stay, by design: fail closed),
 * `cargowall stop` removes them from what is pinned and from the TC filter identity alone.
 * Idempotent: each step treats "already gone" as done; exit 0 only when nothing is left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/log.h"
#include "enforcer.h"

/* A pin opened, never through a symlink: the enforcer's user can write the pin directory, and
 * root must not detach or trust whatever such a link leads to. The fd, -ENOENT, -ELOOP (not a
 * regular file: a symlink or a directory under our name), or -errno. */
static int pin_get(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ELOOP;
	return bpf_obj_get(path);
}

static int cleanup_link_pin(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd, err;

	err = enf_pin_path(path, sizeof(path), dir, name);
	if (err)
		return err;
	fd = pin_get(path);
	if (fd == -ELOOP) {
		log_warnx("%s: not a pin (a symlink?): removed without following it", path);
		if (unlink(path) < 0 && errno != ENOENT) {
			err = -errno;
			log_warn("removing %s", path);
		}
		return err;
	}
	if (fd < 0) {
		if (fd == -ENOENT)
			return 0;
		log_warnx("%s: %s", path, strerror(-fd));
		return fd;
	}
	if (bpf_link_detach(fd) < 0) {
		err = -errno;
		log_warnx("%s: detaching the link: %s", path, strerror(-err));
	}
	close(fd);
	if (!err && unlink(path) < 0 && errno != ENOENT) {
		err = -errno;
		log_warn("unpinning %s", path);
	}
	return err;
}

/* The TCX links, from their pins alone (whatever the interfaces are called now). */
static int cleanup_tcx_pins(const char *dir)
{
	struct dirent *de;
	int err = 0, e2;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, ENF_PIN_TCX_PREFIX, strlen(ENF_PIN_TCX_PREFIX))) {
			e2 = cleanup_link_pin(dir, de->d_name);
			err = err ?: e2;
		}
	closedir(d);
	return err;
}

/* TCX links running our TC program on an uplink that no pin leads to any more. The query is
 * made in our network namespace, so an ifindex never names another namespace's device. */
static int cleanup_stray_tcx(const char *name, int ifindex)
{
	__u32 progs[64], links[64], cnt = 64, i;
	int err = 0, e2;

	e2 = enf_tcx_query(ifindex, progs, links, &cnt);
	if (e2) {
		/* EINVAL: a kernel without TCX; nothing can be attached that way. */
		if (e2 != -EINVAL && e2 != -ENODEV)
			log_warnx("%s: listing TCX programs: %s", name, strerror(-e2));
		return e2 == -EINVAL || e2 == -ENODEV ? 0 : e2;
	}
	for (i = 0; i < cnt && i < 64; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int pfd = bpf_prog_get_fd_by_id(progs[i]), lfd;
		bool ours = false;

		memset(&info, 0, sizeof(info));
		if (pfd >= 0 && bpf_obj_get_info_by_fd(pfd, &info, &len) == 0)
			ours = !strncmp(info.name, "cw_tc_egress", sizeof(info.name) - 1);
		if (pfd >= 0)
			close(pfd);
		if (!ours || !links[i])
			continue;
		lfd = bpf_link_get_fd_by_id(links[i]);
		if (lfd < 0 || bpf_link_detach(lfd) < 0) {
			e2 = -errno;
			log_warnx("%s: detaching stray TCX link %u: %s", name, links[i],
				  strerror(-e2));
			err = err ?: e2;
		} else {
			log_info("%s: detached stray TCX link %u (prog id %u)", name, links[i],
				 progs[i]);
		}
		if (lfd >= 0)
			close(lfd);
	}
	return err;
}

/* Our qdisc record: was this ifindex's clsact created by the dead enforcer? */
static bool qdisc_was_ours(int owned_fd, int ifindex)
{
	__u8 v;

	return owned_fd >= 0 && bpf_map_lookup_elem(owned_fd, &ifindex, &v) == 0;
}

static int cleanup_tc(const struct enf_opts *o)
{
	char path[PATH_MAX];
	int owned_fd = -1, err = 0, e2;
	libbpf_print_fn_t old;
	size_t i;

	if (!enf_pin_path(path, sizeof(path), o->bpffs, ENF_PIN_TC_OWNED))
		owned_fd = pin_get(path);
	for (i = 0; i < o->n_ifaces; i++) {
		const char *name = o->ifaces[i].name;
		LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CW_TC_HANDLE, .priority = CW_TC_PRIORITY);
		int ifindex = (int)if_nametoindex(name);

		if (!ifindex) {
			/* The device and everything on it are gone. */
			log_debug("%s: no such interface, nothing to remove", name);
			continue;
		}
		e2 = cleanup_stray_tcx(name, ifindex);
		err = err ?: e2;
		e2 = enf_tc_detach(ifindex, name);
		err = err ?: e2;
		if (!e2 && qdisc_was_ours(owned_fd, ifindex)) {
			e2 = enf_tc_qdisc_destroy(ifindex, name);
			err = err ?: e2;
		}
		/* Check rather than trust: nothing may answer to our handle and priority. */
		hook.ifindex = ifindex;
		old = enf_libbpf_quiet();
		e2 = bpf_tc_query(&hook, &opts);
		libbpf_set_print(old);
		if (e2 == 0) {
			log_warnx("%s: a TC egress filter with handle %#x priority %#x is still "
				  "attached (prog id %u)",
				  name, CW_TC_HANDLE, CW_TC_PRIORITY, opts.prog_id);
			err = err ?: -EBUSY;
		}
	}
	if (owned_fd >= 0)
		close(owned_fd);
	return err;
}

/* One of our cgroup programs, attached at its own attach type. */
static bool prog_is_ours(__u32 prog_id, __u32 attach_type)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	bool ours = false;
	size_t i;
	int fd;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    (info.type == BPF_PROG_TYPE_CGROUP_SOCK_ADDR ||
	     info.type == BPF_PROG_TYPE_CGROUP_SOCK || info.type == BPF_PROG_TYPE_CGROUP_SOCKOPT))
		for (i = 0; i < ENF_CG_PROGS; i++)
			/* info.name is cut to BPF_OBJ_NAME_LEN - 1 characters */
			if (attach_type == (__u32)enf_cg_progs[i].type &&
			    !strncmp(info.name, enf_cg_progs[i].prog, sizeof(info.name) - 1))
				ours = true;
	close(fd);
	return ours;
}

/* Links of ours on the cgroup that no pin leads to any more (a pin removed by hand, or held
 * by a process that should be gone): found by walking every link. Needs CAP_SYS_ADMIN. */
static int cleanup_stray_links(const struct enf_opts *o)
{
	struct stat st;
	__u32 id = 0;
	int err = 0, r;

	if (stat(o->cgroup, &st) < 0) {
		/* A removed cgroup takes its attachments with it. */
		log_debug("--cgroup %s: %s, nothing attached there", o->cgroup, strerror(errno));
		return 0;
	}
	while ((r = bpf_link_get_next_id(id, &id)) == 0) {
		struct bpf_link_info info;
		__u32 len = sizeof(info);
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue; /* went away meanwhile */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == st.st_ino &&
		    prog_is_ours(info.prog_id, info.cgroup.attach_type)) {
			if (bpf_link_detach(fd) < 0) {
				err = err ?: -errno;
				log_warn("--cgroup %s: detaching stray link %u", o->cgroup, id);
			} else {
				log_info("--cgroup %s: detached stray link %u (prog id %u)",
					 o->cgroup, id, info.prog_id);
			}
		}
		close(fd);
	}
	if (r == -EPERM)
		log_warnx("--cgroup %s: cannot list links without CAP_SYS_ADMIN; only pinned "
			  "links were removed",
			  o->cgroup);
	return err;
}

static int cleanup_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int err;

	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	err = -errno;
	if (err != -ENOTEMPTY) {
		log_warn("--bpffs %s: rmdir", dir);
		return err;
	}
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			log_warnx("--bpffs %s: '%s' is not ours; left in place", dir, de->d_name);
	if (d)
		closedir(d);
	return err;
}

/* The pin directory locked like an enforcer locks it (attach.c pin_dir_prepare): never
 * cleaned up under a live enforcer, which would undo what we detach as tamper and whose
 * firewall we would open. 0 with the fd in *fd_out (-1: there is no pin directory, nothing to
 * lock), or -errno, said why. */
static int cleanup_lock(const char *dir, int *fd_out)
{
	pid_t holder;
	int err, tries;

	*fd_out = -1;
	for (tries = 0; tries < 4; tries++) {
		err = enf_pin_dir_lock(dir, fd_out, &holder);
		if (err != -ESTALE)
			break;
	}
	if (err == -ENOENT) {
		*fd_out = -1;
		return 0;
	}
	if (err == -EBUSY && holder)
		log_warnx("a cargowall-enforcer (pid %d) still holds the pin directory %s: nothing "
			  "removed (stop it first)",
			  (int)holder, dir);
	else if (err == -EBUSY)
		log_warnx("a cargowall-enforcer still holds the pin directory %s: nothing removed "
			  "(stop it first)",
			  dir);
	else if (err)
		log_warnx("--bpffs %s: locking it: %s; nothing removed", dir, strerror(-err));
	return err;
}

int enf_cleanup(const struct enf_opts *o)
{
	int err, e2, lock_fd;
	size_t i;

	err = cleanup_lock(o->bpffs, &lock_fd);
	if (err)
		return err;
	for (i = 0; i < ENF_CG_PROGS; i++) {
		e2 = cleanup_link_pin(o->bpffs, enf_cg_progs[i].pin);
		err = err ?: e2;
	}
	e2 = cleanup_stray_links(o);
	err = err ?: e2;
	e2 = cleanup_tcx_pins(o->bpffs);
	err = err ?: e2;
	/* Before its pin goes: the qdisc record lives there. */
	e2 = cleanup_tc(o);
	err = err ?: e2;
	e2 = enf_unpin(o->bpffs, CW_PIN_PROG_TC);
	err = err ?: e2;
	e2 = steps_cleanup(o->bpffs);
	err = err ?: e2;
	for (i = 0; i < ENF_MAP_PINS; i++) {
		e2 = enf_unpin(o->bpffs, enf_map_pins[i].pin);
		err = err ?: e2;
	}
	e2 = enf_unpin(o->bpffs, ENF_PIN_TC_OWNED);
	err = err ?: e2;
	e2 = enf_unpin(o->bpffs, ENF_PIN_RULE_IDS);
	err = err ?: e2;
	e2 = cleanup_dir(o->bpffs);
	err = err ?: e2;
	if (lock_fd >= 0)
		close(lock_fd);
	if (err)
		log_warnx("cleanup incomplete: see the messages above");
	else
		log_info("cleanup: nothing of ours is left attached or pinned");
	return err;
}
