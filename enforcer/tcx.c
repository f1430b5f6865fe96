// SPDX-License-Identifier: Apache-2.0
/* The TC egress program as a TCX link (kernel 6.6+; DESIGN.md §4). libbpf 1.1 has no TCX
 * helper and the installed UAPI headers predate TCX, so the link is made with bpf_link_create()
 * and the attach type's number (enforcer.h), and the query with our own copy of the newer
 * BPF_PROG_QUERY layout.
 *
 * Ordering: TCX runs its programs in order, before any clsact filter of the device. Ours is the
 * firewall, so it goes first: BPF_F_BEFORE with no relative program or link puts it in front of
 * whatever is already there, and the tamper check (tamper.c) puts it back in front when someone
 * attaches before it later. A program after ours runs only when ours returns TCX_NEXT
 * (TC_ACT_UNSPEC); TC_ACT_OK (TCX_PASS) ends the chain, clsact filters included, and
 * TC_ACT_SHOT drops. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cargowall.skel.h"
#include "common/log.h"
#include "enforcer.h"

int enf_tcx_pin_path(char *buf, size_t len, const char *dir, const char *ifname)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, ENF_PIN_TCX_PREFIX, ifname);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int enf_link_info(int fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) < 0 ? -errno : 0;
}

__u32 enf_obj_id(int fd)
{
	/* The id is the second __u32 of every info struct (map, program, link); the largest of
	 * them is room enough. */
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.id;
}

/* BPF_PROG_QUERY as kernel 6.6 lays it out: a target ifindex, and link ids next to the
 * program ids (the 6.1 header has neither). */
struct enf_query_attr {
	__u32 target_ifindex;
	__u32 attach_type;
	__u32 query_flags;
	__u32 attach_flags;
	__aligned_u64 prog_ids;
	__u32 count;
	__u32 pad;
	__aligned_u64 prog_attach_flags;
	__aligned_u64 link_ids;
	__aligned_u64 link_attach_flags;
	__aligned_u64 revision;
};

int enf_tcx_query(int ifindex, __u32 *prog_ids, __u32 *link_ids, __u32 *cnt)
{
	struct enf_query_attr a;

	memset(&a, 0, sizeof(a));
	a.target_ifindex = (__u32)ifindex;
	a.attach_type = ENF_TCX_EGRESS;
	a.prog_ids = (__u64)(unsigned long)prog_ids;
	a.link_ids = (__u64)(unsigned long)link_ids;
	a.count = *cnt;
	if (syscall(__NR_bpf, BPF_PROG_QUERY, &a, sizeof(a)) < 0)
		return -errno;
	*cnt = a.count;
	return 0;
}

int enf_tcx_attach(struct enf *e, struct enf_iface *ifc)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = ENF_F_BEFORE);
	int prog_fd = bpf_program__fd(e->skel->progs.cw_tc_egress);
	int fd, err;

	fd = bpf_link_create(prog_fd, ifc->ifindex, ENF_TCX_EGRESS, &lo);
	if (fd < 0) {
		err = fd;
		if (err == -EINVAL || err == -EOPNOTSUPP) {
			log_info("%s: no TCX link (%s): falling back to a clsact filter", ifc->name,
				 strerror(-err));
			return -EOPNOTSUPP;
		}
		log_warnx("%s: attaching the TC egress program as a TCX link: %s", ifc->name,
			  strerror(-err));
		return err;
	}
	ifc->tcx = true;
	ifc->tcx_fd = fd;
	return enf_tcx_pin(e, ifc);
}

int enf_tcx_pin(struct enf *e, struct enf_iface *ifc)
{
	char path[PATH_MAX];
	int err;

	/* Pinned, the link outlives us: a dead enforcer leaves the uplink filtered. */
	err = enf_tcx_pin_path(path, sizeof(path), e->o->bpffs, ifc->name);
	if (!err && bpf_obj_pin(ifc->tcx_fd, path) < 0)
		err = -errno;
	if (err) {
		log_warnx("pin %s: %s", path, strerror(-err));
		return err;
	}
	log_info("%s: TC egress program attached as a TCX link (link id %u), first in line",
		 ifc->name, enf_obj_id(ifc->tcx_fd));
	return 0;
}

int enf_tcx_detach(struct enf *e, struct enf_iface *ifc)
{
	char path[PATH_MAX];
	int err = 0;

	if (!ifc->tcx)
		return 0;
	/* Explicitly: closing our fd would not detach a link that is still pinned. */
	if (bpf_link_detach(ifc->tcx_fd) < 0 && errno != ENOLINK && errno != ENOENT) {
		err = -errno;
		log_warnx("%s: detaching the TCX link: %s", ifc->name, strerror(-err));
	}
	if (!enf_tcx_pin_path(path, sizeof(path), e->o->bpffs, ifc->name) && unlink(path) < 0 &&
	    errno != ENOENT) {
		err = err ?: -errno;
		log_warn("unpinning %s", path);
	}
	close(ifc->tcx_fd);
	ifc->tcx_fd = -1;
	ifc->tcx = false;
	return err;
}
