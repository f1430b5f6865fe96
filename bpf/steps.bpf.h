/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Step attribution (issue 7): a GitHub runner's Runner.Worker starts each workflow step as a
 * child process. Every new process forked by the step parent (settings.step_parent, found by the
 * launcher) gets the next step ordinal; every other new process inherits its parent's. Tagged at
 * fork in the kernel, so a step's short-lived children are attributed however fast they exit.
 * Attribution only: nothing here changes a verdict. */
#ifndef CW_BPF_STEPS_BPF_H
#define CW_BPF_STEPS_BPF_H

#include <bpf/bpf_helpers.h>

#include "proto/limits.h"

/* tgid -> ordinal. Key 0 (no process has tgid 0) holds the last ordinal handed out. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_STEPS_MAX);
	/* Allocated per entry: empty without a step parent, and preallocating 65536 entries
	 * was a visible part of the start time. */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u32);
} steps SEC(".maps");

static __always_inline __u32 step_of(__u32 tgid)
{
	__u32 *v = bpf_map_lookup_elem(&steps, &tgid);

	return v ? *v : 0;
}

/* The next ordinal: 1, 2, ... */
static __always_inline __u32 step_next(void)
{
	__u32 zero = 0, first = 1;
	__u32 *last = bpf_map_lookup_elem(&steps, &zero);

	if (last)
		return __sync_fetch_and_add(last, 1) + 1;
	if (bpf_map_update_elem(&steps, &zero, &first, BPF_NOEXIST) == 0)
		return 1;
	/* Another CPU created it first. */
	last = bpf_map_lookup_elem(&steps, &zero);
	return last ? __sync_fetch_and_add(last, 1) + 1 : 0;
}

#endif
