/* SPDX-License-Identifier: Apache-2.0 */
/* Map layouts shared by bpf/cargowall.bpf.c (reads) and the enforcer (writes). */
#ifndef CW_PROTO_MAPS_H
#define CW_PROTO_MAPS_H

#include <linux/types.h>

/* Pin directory and pinned object names: one place so that both sides agree. */
#define CW_BPFFS_DEFAULT "/sys/fs/bpf/cargowall"
#define CW_PIN_LPM_V4 "lpm_v4"
#define CW_PIN_SETTINGS "settings"
#define CW_PIN_COUNTERS "counters"
#define CW_PIN_EVENTS "events"
#define CW_PIN_LINK_CONNECT4 "link_connect4"
#define CW_PIN_LINK_CONNECT6 "link_connect6"
#define CW_PIN_PROG_TC "prog_tc_egress"

/* TC filter identity on each uplink, so stop and a restarted enforcer find ours. */
#define CW_TC_HANDLE 0xc3a1
#define CW_TC_PRIORITY 0xc3a

enum cw_mode {
	CW_MODE_ENFORCE = 0,
	CW_MODE_AUDIT = 1,
};

enum cw_action {
	CW_ACTION_DENY = 0,
	CW_ACTION_ALLOW = 1,
};

enum cw_origin {
	CW_ORIGIN_STATIC = 0,  /* a CIDR rule of the policy */
	CW_ORIGIN_LEARNED = 1, /* an address resolved for an allowed hostname */
};

/* LPM trie key, IPv4. Written by the enforcer (host bits masked), read by BPF with
 * prefixlen 32. */
struct cw_lpm_v4_key {
	__u32 prefixlen;
	__be32 addr;
};
_Static_assert(sizeof(struct cw_lpm_v4_key) == 8, "cw_lpm_v4_key layout");

/* LPM trie value. Written by the enforcer, read by BPF. expires_ns is a CLOCK_MONOTONIC
 * deadline (bpf_ktime_get_ns) after which the entry no longer admits anything; 0 = never. */
struct cw_lpm_val {
	__u64 expires_ns;
	__u32 rule_id; /* index of the policy rule, 1-based; 0 = none */
	__u8 action;   /* enum cw_action */
	__u8 origin;   /* enum cw_origin */
	__u8 pad[2];
};
_Static_assert(sizeof(struct cw_lpm_val) == 16, "cw_lpm_val layout");

/* Single entry (key 0) of the settings array. Written by the enforcer at start, read by BPF. */
struct cw_settings {
	__u64 dnsd_cgroup_id; /* dnsd's own cgroup: its upstream queries pass */
	__u32 mode;	      /* enum cw_mode */
	__u32 default_action; /* enum cw_action */
	__be32 dns_upstream;  /* IPv4 address dnsd forwards to (network order) */
	__be16 dns_upstream_port;
	__u8 pad[2];
};
_Static_assert(sizeof(struct cw_settings) == 24, "cw_settings layout");

/* Per-CPU counters, index = enum cw_counter. Written by BPF, read by the enforcer/status. */
enum cw_counter {
	CW_CNT_ALLOWED = 0,
	CW_CNT_BLOCKED,
	CW_CNT_WOULD_DENY,
	CW_CNT_EVENTS_LOST,
	CW_CNT_MAX,
};

#endif
