/* SPDX-License-Identifier: Apache-2.0 */
/* Limits shared by every process and by the BPF programs. Each has its reason. */
#ifndef CW_PROTO_LIMITS_H
#define CW_PROTO_LIMITS_H

/* RFC 1035: a presentation-form name is at most 253 characters; 256 keeps NUL and alignment. */
#define CW_NAME_MAX 256
/* Linux TASK_COMM_LEN. */
#define CW_COMM_LEN 16
/* Rules in one policy: a policy is read by people; 65536 is far past any real allowlist
 * and keeps rule ids in 16 bits of headroom for later packing. */
#define CW_RULES_MAX 65536
/* Ports listed on one rule. */
#define CW_PORTS_MAX 64
/* Static CIDR prefixes in each LPM trie (IPv4 and IPv6 separately). */
#define CW_STATIC_PREFIXES_MAX 16384
/* Addresses learned from DNS answers alive at once: bounds what a compromised dnsd can open. */
#define CW_LEARNED_MAX 131072
/* Entries in each LPM trie: static + learned. */
#define CW_LPM_MAX_ENTRIES (CW_STATIC_PREFIXES_MAX + CW_LEARNED_MAX)
/* Redirected DNS sockets whose original destination is remembered for recvmsg/getpeername. */
#define CW_DNS_ORIG_MAX 16384
/* Learned-address lifetime clamp, seconds. The floor covers clients that keep a resolved
 * address a little past its TTL (glibc callers, JVM's 30 s cache); the cap bounds how long a
 * lying dnsd can hold an address open. */
#define CW_TTL_FLOOR_S 30
#define CW_TTL_CAP_S 3600
/* Event ring buffer size (bytes, power of two, page multiple). */
#define CW_EVENTS_RING_BYTES (1U << 22)
/* Allowed-connection events do not wake auditd until this much is waiting in the ring; auditd
 * reads the ring at least every CW_AUDIT_TICK_MS anyway. */
#define CW_EVENTS_WAKE_BYTES (CW_EVENTS_RING_BYTES / 8)
#define CW_AUDIT_TICK_MS 100
/* Burst dedupe of denials (bpf/dedupe.bpf.h): identical denials within the window after a
 * reported one are counted into one record; kinds of denial tracked at once (past that,
 * each is reported on its own). */
#define CW_DEDUPE_WINDOW_NS 1000000000ULL
#define CW_DEDUPE_MAX 8192
/* Processes with a step ordinal alive at once (the steps map; an exiting process frees its slot).
 * A fork past it leaves the new process untagged (step 0), never unfiltered. */
#define CW_STEPS_MAX 65536
/* DNS client sockets remembered by local UDP port for attribution (bpf/dnsclient.bpf.h): more
 * than the queries in flight at once; LRU drops the oldest. */
#define CW_DNS_CLIENTS_MAX 4096
/* How long dnsd waits for the enforcer to apply an answer's addresses before SERVFAIL. */
#define CW_ACK_TIMEOUT_MS 100
/* Addresses taken from one DNS answer. */
#define CW_ANSWERS_MAX 16

#endif
