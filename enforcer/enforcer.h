/* SPDX-License-Identifier: Apache-2.0 */
/* cargowall-enforcer internals: options, the live state, and the modules that share it. */
#ifndef CW_ENFORCER_ENFORCER_H
#define CW_ENFORCER_ENFORCER_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include <bpf/libbpf.h>

#include "common/policy.h"
#include "common/shmq.h"
#include "dnsd/hist.h"
#include "proto/maps.h"

/* Uplinks on one runner: a VM has one or two; each costs netlink round trips at start/stop. */
#define ENF_IFACES_MAX 16

/* Pin of a user-space-only map (not in the BPF object): ifindexes whose clsact qdisc this
 * enforcer created, so that --cleanup after a crash removes only what we added. */
#define ENF_PIN_TC_OWNED "tc_owned"
/* Pin of another user-space-only map: rule id - 1 -> identity hash of that rule, for the policy
 * the maps hold (ruleid.c). */
#define ENF_PIN_RULE_IDS "rule_ids"

/* The cgroup programs, attached through links pinned under --bpffs (fail closed). One table
 * for attach, teardown and --cleanup. */
struct enf_cg_prog {
	const char *prog; /* program name in the object */
	const char *pin;
	enum bpf_attach_type type;
	bool scoped_only; /* cargowall run: in place of TC on the uplinks */
};
#define ENF_CG_PROGS 12
extern const struct enf_cg_prog enf_cg_progs[ENF_CG_PROGS];

/* The maps pinned under --bpffs, by object name and pin name. */
struct enf_map_pin {
	const char *map;
	const char *pin;
};
#define ENF_MAP_PINS 12
extern const struct enf_map_pin enf_map_pins[ENF_MAP_PINS];

/* One process at a time works on a pin directory: the enforcer, from before it adopts or
 * creates anything until it exits, and --cleanup, hold an exclusive flock on the directory
 * (the kernel drops it when the holder dies, kill -9 too). A lock still held is waited for this
 * long: a predecessor that was just killed may still be exiting. */
#define ENF_PIN_LOCK_WAIT_MS 1000

/* TCX (kernel 6.6+) is newer than the installed UAPI headers (linux-libc-dev 6.1) and libbpf
 * 1.1: the values of include/uapi/linux/bpf.h, under our own names. */
#define ENF_TCX_EGRESS ((enum bpf_attach_type)47) /* BPF_TCX_EGRESS */
#define ENF_LINK_TYPE_TCX 11			  /* BPF_LINK_TYPE_TCX */
#define ENF_F_BEFORE (1U << 3)			  /* BPF_F_BEFORE */
/* Pin of the TCX link of one uplink: this prefix + the interface name. */
#define ENF_PIN_TCX_PREFIX "link_tcx_egress_"

/* steps.c: the tp_btf fork and exit programs of step attribution. */
#define ENF_STEP_LINKS 2

struct enf_iface {
	char name[IFNAMSIZ];
	int ifindex;
	bool qdisc_created; /* clsact was not there before us */
	bool attached;	    /* our filter (CW_TC_HANDLE/CW_TC_PRIORITY) is in place */
	bool tcx;	    /* attached through a TCX link instead (tcx_fd, pinned) */
	int tcx_fd;
};

struct enf_opts {
	bool cleanup;
	bool verbose;
	unsigned int learn_flags; /* LEARN_ALLOW_PRIVATE (common/learn.h) */
	bool allow_raw;		  /* --allow-raw-sockets */
	bool scoped;		  /* --scoped: cgroup_skb egress, no TC on any interface */
	uint32_t step_parent;	  /* --step-parent: its children start workflow steps; 0 = off */
	uint32_t mode;		  /* enum cw_mode */
	const char *bpffs;
	const char *cgroup;
	const char *dnsd_cgroup;
	/* --user: the system user the enforcer drops to once everything is attached (never root),
	 * looked up at start; the pin directory it leaves behind is this uid's (main.c) */
	const char *user;
	uid_t uid;
	gid_t gid;
	__be32 upstream;
	__be16 upstream_port;
	__be32 container_dns; /* --container-dns: containers' DNS goes there (proto/maps.h); 0 none */
	size_t n_ifaces;
	struct enf_iface ifaces[ENF_IFACES_MAX];
};

struct cargowall;
struct bpf_link;

struct enf {
	struct enf_opts *o;
	struct policy pol;
	int pin_lock_fd; /* the pin directory, flock()ed: held open until we exit, never closed */
	/* µs from dnsd's answer (its dnsq entry's t_answer_us) to the address in the trie */
	struct hist trie_hist;
	struct cargowall *skel;
	struct bpf_link *links[ENF_CG_PROGS];
	struct bpf_link *step_links[ENF_STEP_LINKS];
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
	int ack_fd; /* CW_ENF_FD_ACK_BELL: wakes dnsd when what it waits for is applied */
	/* adoption (adopt.c): the pin directory held a previous enforcer's pins, taken over */
	bool adopting;
	bool map_reused[ENF_MAP_PINS]; /* the pinned map itself, not a new one */
	/* what tamper.c compares against: our cgroup, our settings, our maps' ids */
	uint64_t cgroup_id;
	struct cw_settings settings;
	__u32 map_ids[ENF_MAP_PINS];
	uint64_t n_tamper; /* tamper events noticed and undone */
	/* rule identity across policies (ruleid.c) */
	struct {
		bool have_old;	    /* the adopted maps' rule ids are known */
		uint64_t *old_hash; /* old rule id - 1 -> identity hash */
		size_t n_old;
		struct hid *new_sorted; /* our hostname rules by hash */
		size_t n_new;
		uint32_t *new_only; /* our hostname rules the old policy did not have */
		size_t n_new_only;
		uint8_t *verdict; /* per rule: 0 unknown, 1 kept, 2 overlapped */
		int pin_fd;
		bool pin_fd_valid;
	} rid;
	/* adopting: the settings open something the old ones did not (default allow, audit, raw
	 * sockets): written only after the tries and port keys are ours (adopt_finish) */
	bool settings_deferred;
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
/* The pin directory DIR locked (ENF_PIN_LOCK_WAIT_MS at most): 0 and the locked fd in *fd_out,
 * -ENOENT (no such directory), -ESTALE (it was removed or replaced while we waited: look again),
 * -EBUSY (another process holds it: its pid in *holder, 0 when not found), or -errno. */
int enf_pin_dir_lock(const char *dir, int *fd_out, pid_t *holder);
/* Join DIR and NAME into buf. 0 or -ENAMETOOLONG. */
int enf_pin_path(char *buf, size_t len, const char *dir, const char *name);

/* tcx.c: the TC egress program as a TCX link (kernel 6.6+), pinned. */
/* 0, -EOPNOTSUPP when the kernel has no TCX (the caller falls back to clsact), or -errno. */
int enf_tcx_attach(struct enf *e, struct enf_iface *ifc);
/* Detach, unpin and close; tolerates "already gone". */
int enf_tcx_detach(struct enf *e, struct enf_iface *ifc);
int enf_tcx_pin_path(char *buf, size_t len, const char *dir, const char *ifname);
/* Pins ifc's TCX link (ifc->tcx_fd) and logs it attached; 0 or -errno. */
int enf_tcx_pin(struct enf *e, struct enf_iface *ifc);
/* The programs and links on ifindex's TCX egress (in this network namespace), first to run
 * first. *cnt: in, the room in the arrays; out, how many there are. link_ids may be NULL. */
int enf_tcx_query(int ifindex, __u32 *prog_ids, __u32 *link_ids, __u32 *cnt);
/* Info of a link fd: 0 or -errno. */
int enf_link_info(int fd, struct bpf_link_info *info);
/* A TCX link's ifindex: bpf_link_info.tcx is missing from the 6.1 headers; it has the layout
 * of their netns member ({__u32 ifindex; __u32 attach_type}), in the same union. */
static inline __u32 enf_tcx_link_ifindex(const struct bpf_link_info *i)
{
	return i->netns.netns_ino;
}
static inline __u32 enf_tcx_link_attach_type(const struct bpf_link_info *i)
{
	return i->netns.attach_type;
}
/* An object id from an fd (map, program or link): 0 when unknown. */
__u32 enf_obj_id(int fd);

/* adopt.c: take over a previous (dead) enforcer's pins. */
/* Between open and load: every pinned map is reused (refused when it is not ours). */
int adopt_maps(struct enf *e);
/* After load, before the static entries: stale port keys of another policy removed. */
int adopt_ports_prune(struct enf *e);
/* After the static entries: stale static prefixes removed, learned entries re-chained against
 * the policy and pushed on the expiry heap. */
int adopt_tries(struct enf *e);
/* The TC attachment of one uplink: the pinned TCX link or our clsact filter gets the new
 * program atomically. 1 when there was none to take over (attach afresh), 0, or -errno. */
int adopt_tc(struct enf *e, struct enf_iface *ifc);
/* A pinned cgroup link of cp gets the new program. 1 when none to take over, 0, or -errno. */
int adopt_cgroup_link(struct enf *e, const struct enf_cg_prog *cp, struct bpf_link **linkp);
/* Before anything is rewritten: the old settings compared with ours (settings_deferred), the
 * old rule ids read (ruleid_old_load). */
int adopt_begin(struct enf *e);
/* After adopt_tries: our port keys added, deferred settings written. The order of the whole
 * adoption keeps every verdict meanwhile to what the old policy or ours decides, or stricter:
 * see adopt.c. */
int adopt_finish(struct enf *e);
/* In place of enf_teardown when an adopting start fails: fds closed, nothing detached. */
void adopt_release(struct enf *e);

/* ruleid.c: rule identity across policies. */
uint64_t ruleid_hash(const struct policy_rule *r);
/* Adopting, before the maps are rewritten: read and unpin the old map. */
int ruleid_old_load(struct enf *e);
/* An adopted learned reference's rule id under our policy, or 0: drop it. */
uint32_t ruleid_map(struct enf *e, uint32_t old_id);
/* Once the maps hold our policy: pin our map. */
int ruleid_pin(struct enf *e);
void ruleid_free(struct enf *e);

/* tamper.c: once a second, our attachments and pins checked and restored. */
void tamper_check(struct enf *e);
/* attach.c helpers tamper.c re-uses. */
int enf_tc_attach(struct enf *e, struct enf_iface *ifc);
int enf_cgroup_attach(struct enf *e, const struct enf_cg_prog *cp, struct bpf_link **linkp);
int enf_settings_write(struct enf *e);

/* steps.c. Between open and load: load the programs only with a step parent. */
int steps_prepare(struct enf *e);
/* After the settings: attach and pin (an adopting start keeps pinned links). */
int steps_attach(struct enf *e);
int steps_teardown(struct enf *e);
/* --cleanup: the link pins. */
int steps_cleanup(const char *bpffs);

/* trie.c: the LPM trie contents. */
/* Size the maps that depend on the policy: between open and load. */
int trie_size_maps(struct enf *e);
/* Port keys the policy needs in rule_ports. The map holds at least ENF_PORT_KEYS_FLOOR, and
 * twice the policy's: a reload's policy must fit the map sized at start. */
size_t trie_port_keys(const struct enf *e);
#define ENF_PORT_KEYS_FLOOR 1024
int trie_load_static(struct enf *e);
/* The port keys of the policy (trie_load_static adds them itself unless adopting). */
int trie_load_ports(struct enf *e);
/* Drain the dnsq: validate, write the trie, publish applied_seq. Returns entries popped. */
unsigned int trie_drain(struct enf *e);
/* Delete learned entries past their deadline. */
void trie_sweep(struct enf *e);
/* The same as if the clock said `now` (CLOCK_MONOTONIC ns): for tests. */
void trie_sweep_at(struct enf *e, uint64_t now);
void trie_free(struct enf *e);
uint64_t enf_now_ns(void);
/* For adopt.c: the pieces the learning path is made of. */
struct cw_rule_ref trie_rule_ref(const struct enf *e, uint32_t rule_id, uint8_t flags);
int trie_learned_chain(const struct cw_lpm_val *base, bool have_base, struct cw_rule_ref ref,
		       struct cw_lpm_val *out);
void trie_expiry_push(struct enf *e, uint8_t family, const uint8_t *addr, uint64_t deadline);

#endif
