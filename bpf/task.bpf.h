/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Who is connecting, read from the current task at the hook (DESIGN.md §7): parent, start time,
 * executable path and cgroup name. auditd cannot learn these later: /proc/PID/exe needs ptrace
 * rights over the process (another uid, or a non-dumpable one), and a process that exits at once
 * is gone by the time auditd reads its record.
 *
 * The kernel structures are declared here with only the fields read, relocated by CO-RE against
 * the running kernel's BTF (/sys/kernel/btf/vmlinux), instead of a multi-megabyte vmlinux.h. */
#ifndef CW_BPF_TASK_BPF_H
#define CW_BPF_TASK_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "proto/events.h"
#include "steps.bpf.h"

/* Enough steps for CW_EXE_PARTS components plus the mount crossings between them (/usr on its
 * own mount, a container's overlay root, a bind mount). */
#define CW_EXE_WALK_MAX 16

struct qstr {
	union {
		struct {
			__u32 hash;
			__u32 len;
		};
		__u64 hash_len;
	};
	const unsigned char *name;
} __attribute__((preserve_access_index));

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
} __attribute__((preserve_access_index));

struct vfsmount {
	struct dentry *mnt_root;
} __attribute__((preserve_access_index));

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} __attribute__((preserve_access_index));

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} __attribute__((preserve_access_index));

struct file {
	struct path f_path;
} __attribute__((preserve_access_index));

struct mm_struct {
	struct file *exe_file;
} __attribute__((preserve_access_index));

struct kernfs_node {
	const char *name;
} __attribute__((preserve_access_index));

struct cgroup {
	struct kernfs_node *kn;
} __attribute__((preserve_access_index));

struct css_set {
	struct cgroup *dfl_cgrp;
} __attribute__((preserve_access_index));

struct task_struct {
	__s32 pid;
	__s32 tgid;
	char comm[16];
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	__u64 start_boottime;
	struct mm_struct *mm;
	struct css_set *cgroups;
} __attribute__((preserve_access_index));

/* Where the exe walk stands. The kernel addresses are plain numbers, only ever read through
 * bpf_probe_read_kernel (BPF_CORE_READ), so that one step can be a global function. */
struct exe_walk {
	__u64 dentry; /* struct dentry * */
	__u64 mount;  /* struct mount * */
	__u32 n;      /* components written */
	__u32 pad;
};

/* One step of the walk: 0 to go on, 1 when it is done (a root reached, or CW_EXE_PARTS
 * components written with more to come: then CW_EVF_EXE_TRUNC). A global function, verified
 * once: with the walk unrolled inline the verifier explored every combination of its branches
 * over the 16 steps (28,000 of the 29,600 instructions it processed for cw_sock_create). */
__noinline int task_exe_step(struct cw_conn_event *e, struct exe_walk *w)
{
	struct dentry *d, *parent, *root;
	struct mount *m, *mparent;
	__u32 n, len;

	if (!e || !w)
		return 1;
	d = (struct dentry *)w->dentry;
	m = (struct mount *)w->mount;
	root = BPF_CORE_READ(m, mnt.mnt_root);
	if (d == root) {
		mparent = BPF_CORE_READ(m, mnt_parent);
		if (mparent == m)
			return 1; /* the root of the mount tree: done */
		w->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->mount = (__u64)mparent;
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d)
		return 1; /* a filesystem root that is no mount root: done */
	n = w->n;
	if (n >= CW_EXE_PARTS) {
		e->flags |= CW_EVF_EXE_TRUNC;
		return 1;
	}
	len = BPF_CORE_READ(d, d_name.len);
	if (len >= CW_EXE_PART_LEN)
		e->flags |= CW_EVF_EXE_TRUNC;
	bpf_probe_read_kernel_str(e->exe[n & (CW_EXE_PARTS - 1)], CW_EXE_PART_LEN,
				  BPF_CORE_READ(d, d_name.name));
	w->n = ++n;
	e->exe_parts = (__u8)n;
	w->dentry = (__u64)parent;
	return 0;
}

/* The executable's path, leaf first, one component per slot, walked up its dentries and across
 * its mounts to the root of the task's mount tree (a container's binaries show their path inside
 * the container). Stops at CW_EXE_PARTS components or CW_EXE_WALK_MAX steps; either, or a name
 * longer than a slot, sets CW_EVF_EXE_TRUNC. A kernel thread (no mm) leaves exe empty. */
static __always_inline void task_exe(struct cw_conn_event *e, struct task_struct *t)
{
	struct exe_walk w = {};
	struct vfsmount *vm;
	struct file *f;
	int i;

	f = BPF_CORE_READ(t, mm, exe_file);
	if (!f)
		return;
	w.dentry = (__u64)BPF_CORE_READ(f, f_path.dentry);
	vm = BPF_CORE_READ(f, f_path.mnt);
	w.mount = (__u64)((char *)vm - bpf_core_field_offset(struct mount, mnt));
	for (i = 0; i < CW_EXE_WALK_MAX; i++)
		if (task_exe_step(e, &w))
			return;
	e->flags |= CW_EVF_EXE_TRUNC;
}

/* The hook runs in the context of the task that makes the call (connect, sendmsg, socket,
 * setsockopt): fill in who that is. Not for TC or cgroup_skb, where "current" is whoever the
 * packet happens to be processed under. A global function: the verifier checks it once per
 * program instead of at every call site (with the exe walk inlined everywhere, loading took
 * seconds). Returns 0. */
__noinline int task_identity(struct cw_conn_event *e)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	const char *cgname;

	if (!e)
		return 0;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->step = step_of(e->pid);
	e->start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
	cgname = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, name);
	if (cgname)
		bpf_probe_read_kernel_str(e->cgname, sizeof(e->cgname), cgname);
	task_exe(e, t);
	return 0;
}

#endif
