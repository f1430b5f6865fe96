// SPDX-License-Identifier: Apache-2.0
/* cw-linkcheck: what is attached through TCX, for the lab. Debian 12's bpftool 7.1 predates TCX
 * (kernel 6.6) and shows neither TCX links nor TCX programs, so "nothing left attached" checks
 * built on it would pass vacuously.
 *
 *   cw-linkcheck links            every TCX link of the system: link id, program, ifindex, hook
 *   cw-linkcheck tcx IFNAME       the TCX egress programs of IFNAME in this network namespace,
 *                                 in the order they run (one line each; nothing when none)
 *   cw-linkcheck front IFNAME PIN attach a pass-through program (returns TCX_NEXT) in front of
 *                                 every other on IFNAME's TCX egress, its link pinned at PIN
 *                                 (a bpffs path; detach with bpftool link detach pinned PIN)
 *
 * Exit 0, 1 on an error, 2 on bad usage. Needs CAP_SYS_ADMIN (links) / CAP_NET_ADMIN (query). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <bpf/bpf.h>

/* Newer than the installed 6.1 UAPI headers: include/uapi/linux/bpf.h of 6.6. */
#define LC_TCX_INGRESS 46
#define LC_TCX_EGRESS 47
#define LC_LINK_TYPE_TCX 11
#define LC_F_BEFORE (1U << 3)

struct lc_query_attr {
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

static void prog_name(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(buf, len, "?");
	memset(&info, 0, sizeof(info));
	if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0)
		snprintf(buf, len, "%s", info.name[0] ? info.name : "(unnamed)");
	if (fd >= 0)
		close(fd);
}

static int cmd_links(void)
{
	__u32 id = 0;
	int r;

	while ((r = bpf_link_get_next_id(id, &id)) == 0) {
		struct bpf_link_info info;
		__u32 len = sizeof(info);
		char name[64];
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == LC_LINK_TYPE_TCX) {
			/* info.tcx {ifindex, attach_type} has the layout of info.netns. */
			prog_name(info.prog_id, name, sizeof(name));
			printf("tcx link %u prog %u %s ifindex %u %s\n", info.id, info.prog_id,
			       name, info.netns.netns_ino,
			       info.netns.attach_type == LC_TCX_EGRESS	? "egress" :
			       info.netns.attach_type == LC_TCX_INGRESS ? "ingress" :
									  "?");
		}
		close(fd);
	}
	if (r && errno != ENOENT) {
		perror("bpf_link_get_next_id");
		return 1;
	}
	return 0;
}

static int cmd_tcx(const char *ifname)
{
	__u32 progs[64], links[64], i;
	struct lc_query_attr a;
	char name[64];
	int ifindex = (int)if_nametoindex(ifname);

	if (!ifindex) {
		fprintf(stderr, "cw-linkcheck: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	memset(&a, 0, sizeof(a));
	a.target_ifindex = (__u32)ifindex;
	a.attach_type = LC_TCX_EGRESS;
	a.prog_ids = (__u64)(unsigned long)progs;
	a.link_ids = (__u64)(unsigned long)links;
	a.count = 64;
	if (syscall(__NR_bpf, BPF_PROG_QUERY, &a, sizeof(a)) < 0) {
		fprintf(stderr, "cw-linkcheck: query %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	for (i = 0; i < a.count && i < 64; i++) {
		prog_name(progs[i], name, sizeof(name));
		printf("%s tcx egress #%u prog %u %s link %u\n", ifname, i, progs[i], name,
		       links[i]);
	}
	return 0;
}

static int cmd_front(const char *ifname, const char *pin)
{
	/* r0 = -1 (TCX_NEXT: on to the next program); exit */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = LC_F_BEFORE);
	int ifindex = (int)if_nametoindex(ifname);
	int pfd, lfd;

	if (!ifindex) {
		fprintf(stderr, "cw-linkcheck: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	pfd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "lc_front", "GPL", insns, 2, NULL);
	if (pfd < 0) {
		fprintf(stderr, "cw-linkcheck: loading: %s\n", strerror(-pfd));
		return 1;
	}
	lfd = bpf_link_create(pfd, ifindex, (enum bpf_attach_type)LC_TCX_EGRESS, &lo);
	if (lfd < 0) {
		fprintf(stderr, "cw-linkcheck: TCX link on %s: %s\n", ifname, strerror(-lfd));
		return 1;
	}
	if (bpf_obj_pin(lfd, pin) < 0) {
		fprintf(stderr, "cw-linkcheck: pin %s: %s\n", pin, strerror(errno));
		bpf_link_detach(lfd);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "links"))
		return cmd_links();
	if (argc == 3 && !strcmp(argv[1], "tcx"))
		return cmd_tcx(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "front"))
		return cmd_front(argv[2], argv[3]);
	fprintf(stderr, "usage: cw-linkcheck links | tcx IFNAME | front IFNAME PIN\n");
	return 2;
}
