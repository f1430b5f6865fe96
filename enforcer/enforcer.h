/* SPDX-License-Identifier: Apache-2.0 */
/* cargowall-enforcer internals: options, the live state, and the modules that share it. */
#ifndef CW_ENFORCER_ENFORCER_H
#define CW_ENFORCER_ENFORCER_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h>

#include <bpf/libbpf.h>

#include "common/policy.h"
#include "common/shmq.h"
#include "proto/maps.h"

/* Uplinks on one runner: a VM has one or two; each costs netlink round trips at start/stop. */
#define ENF_IFACES_MAX 16

/* Pin of a user-space-only map (not in the BPF object): ifindexes whose clsact qdisc this
 * enforcer created, so that --cleanup after a crash removes only what we added. */
#define ENF_PIN_TC_OWNED "tc_owned"

/* The cgroup programs, attached through links pinned under --bpffs (fail closed). One table
 * for attach, teardown and --cleanup. */
struct enf_cg_prog {
	const char *prog; /* program name in the object */
	const char *pin;
	enum bpf_attach_type type;
	bool scoped_only; /* cargowall run: in place of TC on the uplinks */
};
#define ENF_CG_PROGS 11
extern const struct enf_cg_prog enf_cg_progs[ENF_CG_PROGS];

/* The maps pinned under --bpffs, by object name and pin name. */
struct enf_map_pin {
	const char *map;
	const char *pin;
};
#define ENF_MAP_PINS 9
extern const struct enf_map_pin enf_map_pins[ENF_MAP_PINS];

struct enf_iface {
	char name[IFNAMSIZ];
	int ifindex;
	bool qdisc_created; /* clsact was not there before us */
	bool attached;	    /* our filter (CW_TC_HANDLE/CW_TC_PRIORITY) is in place */
};

struct enf_opts {
	bool cleanup;
	bool verbose;
	unsigned int learn_flags; /* LEARN_ALLOW_PRIVATE (common/learn.h) */
	bool allow_raw;		  /* --allow-raw-sockets */
	bool scoped;		  /* --scoped: cgroup_skb egress, no TC on any interface */
	uint32_t mode;		  /* enum cw_mode */
	const char *bpffs;
	const char *cgroup;
	const char *dnsd_cgroup;
	__be32 upstream;
	__be16 upstream_port;
	size_t n_ifaces;
	struct enf_iface ifaces[ENF_IFACES_MAX];
};

struct cargowall;
struct bpf_link;

struct enf {
	struct enf_opts *o;
	struct policy pol;
	struct cargowall *skel;
	struct bpf_link *links[ENF_CG_PROGS];
	int cgroup_fd;
	int tc_owned_fd;
	bool dir_created;
	bool maps_pinned;
	bool prog_pinned;
	/* learned entries in the tries right now (refreshes do not count twice) */
	uint64_t n_learned;
	/* deadlines of learned entries, a min-heap: the sweep touches only what expired */
	struct expiry *expiries;
	size_t n_expiries, cap_expiries;
	struct shmq q;
};

/* attach.c: everything that touches the kernel's attachment points and the pin directory. */
int enf_start(struct enf *e);
/* Undo whatever enf_start did (also on a half-done start). 0 or the first error. */
int enf_teardown(struct enf *e);
/* --cleanup: remove what a dead enforcer left behind, from the pins alone. */
int enf_cleanup(const struct enf_opts *o);
/* Shared by teardown and --cleanup; each tolerates "already gone" and names what failed. */
int enf_tc_detach(int ifindex, const char *name);
/* Deletes the whole clsact qdisc: only for one we created. */
int enf_tc_qdisc_destroy(int ifindex, const char *name);
int enf_unpin(const char *dir, const char *name);
/* Route libbpf's messages to the debug log around a netlink request whose failure is an
 * expected answer; restore with libbpf_set_print(returned). */
libbpf_print_fn_t enf_libbpf_quiet(void);
/* Join DIR and NAME into buf. 0 or -ENAMETOOLONG. */
int enf_pin_path(char *buf, size_t len, const char *dir, const char *name);

/* trie.c: the LPM trie contents. */
/* Size the maps that depend on the policy: between open and load. */
int trie_size_maps(struct enf *e);
int trie_load_static(struct enf *e);
/* Drain the dnsq: validate, write the trie, publish applied_seq. Returns entries popped. */
unsigned int trie_drain(struct enf *e);
/* Delete learned entries past their deadline. */
void trie_sweep(struct enf *e);
/* The same as if the clock said `now` (CLOCK_MONOTONIC ns): for tests. */
void trie_sweep_at(struct enf *e, uint64_t now);
void trie_free(struct enf *e);
uint64_t enf_now_ns(void);

#endif
