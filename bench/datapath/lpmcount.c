// SPDX-License-Identifier: Apache-2.0
/* Counts the entries of cargowall's pinned IPv4 LPM trie, for bench/datapath/run.sh (built there
 * with cc -I<repo>, no library): "entries N static S learned L" on stdout.
 *
 *   lpmcount PINNED-MAP-PATH
 *
 * A plain walk with BPF_MAP_GET_NEXT_KEY and BPF_MAP_LOOKUP_ELEM: `bpftool map dump` prints
 * every 144-byte value of 100,000 entries, which takes far longer than the walk itself. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proto/limits.h"
#include "proto/maps.h"

#define WALK_MAX (CW_LPM_MAX_ENTRIES + 1) /* a bound on the loop, past what the map can hold */

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int main(int argc, char **argv)
{
	struct cw_lpm_v4_key key, next;
	struct cw_lpm_val val;
	union bpf_attr attr;
	unsigned long n = 0, n_static = 0, n_learned = 0;
	int fd, first = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: lpmcount PINNED-MAP-PATH\n");
		return 2;
	}
	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uint64_t)(uintptr_t)argv[1];
	fd = (int)sys_bpf(BPF_OBJ_GET, &attr);
	if (fd < 0) {
		fprintf(stderr, "lpmcount: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memset(&key, 0, sizeof(key));
	while (n < WALK_MAX) {
		memset(&attr, 0, sizeof(attr));
		attr.map_fd = (uint32_t)fd;
		/* A NULL key asks for the first one. */
		attr.key = first ? 0 : (uint64_t)(uintptr_t)&key;
		attr.next_key = (uint64_t)(uintptr_t)&next;
		if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &attr)) {
			if (errno == ENOENT)
				break;
			fprintf(stderr, "lpmcount: next key: %s\n", strerror(errno));
			return 1;
		}
		first = 0;
		key = next;
		memset(&attr, 0, sizeof(attr));
		attr.map_fd = (uint32_t)fd;
		attr.key = (uint64_t)(uintptr_t)&key;
		attr.value = (uint64_t)(uintptr_t)&val;
		n++;
		/* An entry deleted between the two calls (expiry) is counted as neither. */
		if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr))
			continue;
		if (val.origin == CW_ORIGIN_LEARNED)
			n_learned++;
		else
			n_static++;
	}
	printf("entries %lu static %lu learned %lu\n", n, n_static, n_learned);
	close(fd);
	return 0;
}
