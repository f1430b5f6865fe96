// SPDX-License-Identifier: Apache-2.0
/* Tamper checks (issue 6), once a second from the event loop: our cgroup links still attached
 * to our cgroup with our programs, the TC program still on every uplink (and first among the
 * TCX programs), every pin still leading to our object, the settings still ours. Whatever is
 * wrong is restored and logged as `tamper` on stderr, and counted by kind in the pinned counters
 * map, which auditd turns into `tamper` records (the audit log is auditd's; the kernel ring
 * buffer cannot be written from user space).
 *
 * Not checked: the order of programs on a cgroup hook (sock_addr verdicts are AND-ed, so one
 * before ours cannot allow what ours refuses) and clsact filters in front of ours (listing them
 * needs a netlink dump libbpf 1.1 lacks; TCX, the default on 6.6+, is checked); the tries'
 * contents (too big to compare each second; only user space with CAP_BPF can write them).
 *
 * Everything here runs after the privilege drop, as the enforcer's user: bpf() on fds we hold
 * and pins in our own directory (CAP_BPF; the directory and its pins are that user's, see
 * main.c pin_dir_handover), netlink for clsact and TCX (CAP_NET_ADMIN). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cargowall.skel.h"
#include "common/log.h"
#include "enforcer.h"

/* Counted in the pinned counters map too (CPU 0's slot of a per-CPU element only we write), so
 * that auditd writes a `tamper` record and status shows it: the audit log is auditd's alone. */
static void tamper_count(struct enf *e, enum cw_counter kind)
{
	int ncpus = libbpf_num_possible_cpus(), fd = bpf_map__fd(e->skel->maps.counters);
	__u32 key = kind;
	__u64 *vals;

	if (ncpus <= 0)
		return;
	vals = calloc((size_t)ncpus, sizeof(*vals));
	if (!vals)
		return;
	if (bpf_map_lookup_elem(fd, &key, vals) == 0) {
		vals[0]++;
		if (bpf_map_update_elem(fd, &key, vals, BPF_EXIST) < 0)
			log_warn("tamper: counting it in the counters map");
	}
	free(vals);
}

static void __attribute__((format(printf, 3, 4)))
tamper(struct enf *e, enum cw_counter kind, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	e->n_tamper++;
	log_warnx("tamper: %s (tamper event %llu)", buf, (unsigned long long)e->n_tamper);
	tamper_count(e, kind);
}

/* The pin at path leads to the object with this id, or is put back (replacing whatever is
 * there). */
static void pin_check(struct enf *e, const char *path, int fd, const char *what)
{
	__u32 want = enf_obj_id(fd), got;
	int pfd;

	if (!want)
		return;
	pfd = bpf_obj_get(path);
	got = enf_obj_id(pfd);
	if (pfd >= 0)
		close(pfd);
	if (got == want)
		return;
	if (got)
		tamper(e, CW_CNT_TAMPER_PIN,
		       "pin %s leads to object id %u, not our %s (id %u): re-pinning", path, got,
		       what, want);
	else if (pfd < 0 && pfd != -ENOENT)
		/* e.g. put back by root, mode 0600: not ours to open */
		tamper(e, CW_CNT_TAMPER_PIN,
		       "pin %s of our %s (id %u) cannot be opened (%s): re-pinning", path, what,
		       want, strerror(-pfd));
	else
		tamper(e, CW_CNT_TAMPER_PIN, "pin %s of our %s (id %u) is gone: re-pinning", path,
		       what, want);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("tamper: removing %s", path);
	if (bpf_obj_pin(fd, path) < 0)
		log_warn("tamper: re-pinning %s", path);
}

static void pins_check(struct enf *e)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < ENF_MAP_PINS; i++) {
		struct bpf_map *map =
			bpf_object__find_map_by_name(e->skel->obj, enf_map_pins[i].map);

		if (map && !enf_pin_path(path, sizeof(path), e->o->bpffs, enf_map_pins[i].pin))
			pin_check(e, path, bpf_map__fd(map), "map");
	}
	if (!enf_pin_path(path, sizeof(path), e->o->bpffs, CW_PIN_PROG_TC))
		pin_check(e, path, bpf_program__fd(e->skel->progs.cw_tc_egress), "TC program");
	if (!enf_pin_path(path, sizeof(path), e->o->bpffs, ENF_PIN_TC_OWNED))
		pin_check(e, path, e->tc_owned_fd, "qdisc record");
	if (e->rid.pin_fd_valid && !enf_pin_path(path, sizeof(path), e->o->bpffs, ENF_PIN_RULE_IDS))
		pin_check(e, path, e->rid.pin_fd, "rule id map");
	for (i = 0; i < ENF_CG_PROGS; i++)
		if (e->links[i] &&
		    !enf_pin_path(path, sizeof(path), e->o->bpffs, enf_cg_progs[i].pin))
			pin_check(e, path, bpf_link__fd(e->links[i]), "cgroup link");
	for (i = 0; i < e->o->n_ifaces; i++) {
		struct enf_iface *ifc = &e->o->ifaces[i];

		if (ifc->tcx && !enf_tcx_pin_path(path, sizeof(path), e->o->bpffs, ifc->name))
			pin_check(e, path, ifc->tcx_fd, "TCX link");
	}
}

static void cgroup_links_check(struct enf *e)
{
	struct bpf_link_info info;
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < ENF_CG_PROGS; i++) {
		const struct enf_cg_prog *cp = &enf_cg_progs[i];
		struct bpf_program *prog = bpf_object__find_program_by_name(e->skel->obj, cp->prog);
		__u32 prog_id;

		if (!e->links[i] || !prog)
			continue;
		prog_id = enf_obj_id(bpf_program__fd(prog));
		if (enf_link_info(bpf_link__fd(e->links[i]), &info) == 0 &&
		    info.cgroup.cgroup_id == e->cgroup_id) {
			if (info.prog_id == prog_id)
				continue;
			tamper(e, CW_CNT_TAMPER_ATTACH,
			       "cgroup link of %s runs program id %u, not ours (id %u): putting "
			       "ours back",
			       cp->prog, info.prog_id, prog_id);
			if (bpf_link_update(bpf_link__fd(e->links[i]), bpf_program__fd(prog), NULL))
				log_warn("tamper: updating the link of %s", cp->prog);
			continue;
		}
		/* A detached link reads cgroup id 0 and can never be attached again: a new one. */
		tamper(e, CW_CNT_TAMPER_ATTACH, "%s was detached from %s: attaching it again",
		       cp->prog, e->o->cgroup);
		bpf_link__destroy(e->links[i]);
		e->links[i] = NULL;
		if (!enf_pin_path(path, sizeof(path), e->o->bpffs, cp->pin) && unlink(path) < 0 &&
		    errno != ENOENT)
			log_warn("tamper: removing %s", path);
		if (enf_cgroup_attach(e, cp, &e->links[i]))
			log_warnx("tamper: %s could not be attached again; next check retries",
				  cp->prog);
	}
}

static void tcx_check(struct enf *e, struct enf_iface *ifc, int prog_fd, __u32 prog_id)
{
	struct bpf_link_info info;
	__u32 ids[64], cnt = 64;
	bool detached;

	detached = enf_link_info(ifc->tcx_fd, &info) || enf_tcx_link_ifindex(&info) == 0;
	if (!detached && info.prog_id != prog_id) {
		tamper(e, CW_CNT_TAMPER_ATTACH,
		       "%s: the TCX link runs program id %u, not ours (id %u): putting ours back",
		       ifc->name, info.prog_id, prog_id);
		if (bpf_link_update(ifc->tcx_fd, prog_fd, NULL))
			log_warn("tamper: %s: updating the TCX link", ifc->name);
	}
	if (!detached && enf_tcx_query(ifc->ifindex, ids, NULL, &cnt) == 0 && cnt &&
	    ids[0] == prog_id)
		return;
	if (detached)
		tamper(e, CW_CNT_TAMPER_ATTACH,
		       "%s: the TC egress program was detached: attaching it again", ifc->name);
	else
		tamper(e, CW_CNT_TAMPER_ATTACH,
		       "%s: program id %u runs before the TC egress program: putting ours "
		       "first again",
		       ifc->name, cnt ? ids[0] : 0);
	/* A program cannot be on one device twice, so ours leaves and comes back at the front:
	 * the foreign program in front already decided those packets anyway. */
	enf_tcx_detach(e, ifc);
	if (enf_tc_attach(e, ifc))
		log_warnx("tamper: %s: the TC egress program could not be attached again; next "
			  "check retries",
			  ifc->name);
}

static void clsact_check(struct enf *e, struct enf_iface *ifc, int prog_fd, __u32 prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CW_TC_HANDLE, .priority = CW_TC_PRIORITY);
	libbpf_print_fn_t old;
	int err;

	old = enf_libbpf_quiet();
	err = bpf_tc_query(&hook, &opts);
	libbpf_set_print(old);
	if (!err && opts.prog_id == prog_id)
		return;
	if (!err) {
		tamper(e, CW_CNT_TAMPER_ATTACH,
		       "%s: our clsact filter runs program id %u, not ours (id %u): putting "
		       "ours back",
		       ifc->name, opts.prog_id, prog_id);
		memset(&opts, 0, sizeof(opts));
		opts.sz = sizeof(opts);
		opts.handle = CW_TC_HANDLE;
		opts.priority = CW_TC_PRIORITY;
		opts.prog_fd = prog_fd;
		opts.flags = BPF_TC_F_REPLACE;
		if (bpf_tc_attach(&hook, &opts))
			log_warnx("tamper: %s: replacing the filter's program failed", ifc->name);
		return;
	}
	tamper(e, CW_CNT_TAMPER_ATTACH, "%s: our clsact filter is gone: attaching it again",
	       ifc->name);
	ifc->attached = false;
	if (enf_tc_attach(e, ifc))
		log_warnx("tamper: %s: the TC egress program could not be attached again; next "
			  "check retries",
			  ifc->name);
}

static void settings_check(struct enf *e)
{
	struct cw_settings cur;
	__u32 key = 0;

	if (bpf_map__lookup_elem(e->skel->maps.settings, &key, sizeof(key), &cur, sizeof(cur), 0) ==
		    0 &&
	    !memcmp(&cur, &e->settings, sizeof(cur)))
		return;
	tamper(e, CW_CNT_TAMPER_SETTINGS, "the settings map was rewritten: writing ours again");
	enf_settings_write(e);
}

/* A pin made after the drop is the enforcer user's with the kernel's mode 0600, and group root
 * (the directory is setgid): opened to the group like the pins of the start (0660), so that
 * root without CAP_DAC_OVERRIDE (stop's --cleanup, the launcher, the next enforcer) still
 * reaches it. Without CAP_FOWNER only our own files' modes can change. */
static void pins_share(struct enf *e)
{
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(e->o->bpffs);

	if (!d) {
		log_warn("tamper: listing %s", e->o->bpffs);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_type != DT_REG ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_uid != geteuid() || (st.st_mode & 07777) == 0660)
			continue;
		if (fchmodat(dirfd(d), de->d_name, 0660, 0) < 0)
			log_warn("tamper: mode 0660 for the new pin %s", de->d_name);
	}
	closedir(d);
}

void tamper_check(struct enf *e)
{
	int prog_fd = bpf_program__fd(e->skel->progs.cw_tc_egress);
	__u32 prog_id = enf_obj_id(prog_fd);
	uint64_t before = e->n_tamper;
	size_t i;

	/* Attachments first: re-attaching pins the new link, the pin pass then sees it. */
	cgroup_links_check(e);
	for (i = 0; i < e->o->n_ifaces; i++) {
		struct enf_iface *ifc = &e->o->ifaces[i];

		if (ifc->tcx)
			tcx_check(e, ifc, prog_fd, prog_id);
		else
			clsact_check(e, ifc, prog_fd, prog_id);
	}
	pins_check(e);
	settings_check(e);
	/* every restore that re-pins counts as tamper first */
	if (e->n_tamper != before)
		pins_share(e);
}
