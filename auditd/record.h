/* SPDX-License-Identifier: Apache-2.0 */
/* Audit records (DESIGN.md §7): pure functions from a kernel or dnsd event to one NDJSON line.
 * No I/O and no clock reads here, so unit tests drive them with crafted events. */
#ifndef CW_AUDITD_RECORD_H
#define CW_AUDITD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/policy.h"
#include "../proto/events.h"
#include "../proto/shmq.h"

/* What every record of one auditd run shares. */
struct audit_ctx {
	uint8_t mode;		     /* enum cw_mode (proto/maps.h) */
	const struct policy *policy; /* names matched rules; NULL = ids only */
	int64_t mono_to_realtime_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC, measured at start */
};

/* "2026-11-28T15:30:00.123456Z" plus NUL. */
#define AUDIT_TS_LEN 28

/* RFC 3339 UTC with microseconds. 0, or -EOVERFLOW when the time does not fit a 4-digit year. */
int audit_format_timestamp(uint64_t realtime_ns, char *buf, size_t len);

/* A JSON string for bytes that may be anything (a query name, a comm): valid UTF-8 is kept as
 * is, each byte that is not part of valid UTF-8 becomes the four characters "\xHH", and a
 * backslash becomes two backslashes so that the escape cannot be forged. Stops at NUL or
 * maxlen. NULL only on allocation failure. */
json_t *audit_json_bytes(const char *s, size_t maxlen);

/* "TCP", "UDP", "ICMP", "ICMPv6", "GRE", else "Protocol-N" (buf: at least 16 bytes). */
const char *audit_protocol_name(uint8_t proto, char *buf, size_t len);
/* "A", "AAAA", "TXT", ... else "TYPEn" (RFC 3597 form; buf: at least 16 bytes). */
const char *audit_qtype_name(uint16_t qtype, char *buf, size_t len);
/* "NOERROR", "SERVFAIL", "NXDOMAIN", "REFUSED", "FORMERR", ... else "RCODEn". */
const char *audit_rcode_name(uint8_t rcode, char *buf, size_t len);
/* "enforce" or "audit". */
const char *audit_mode_name(uint8_t mode);
/* "default" for 0, the rule's value for 1..n_rules, "rule-N" for ids the policy lacks. */
json_t *audit_matched_rule(const struct audit_ctx *c, uint32_t rule_id);

/* Checks on a record already copied out of the ring buffer or the evq: 0, or -EINVAL with
 * *why set to a static reason. The evq producer (dnsd) is treated as hostile. */
int audit_conn_event_check(const struct cw_conn_event *e, const char **why);
int audit_dns_event_check(const struct cw_dns_event *e, const char **why);

/* What auditd adds to a kernel event from /proc and its caches (auditd/ident.h). */
struct audit_conn_extra {
	const char *cmdline; /* NULL: "unknown" (gone, pid reused, no start time) */
	size_t cmdline_len;
	bool via_cookie; /* identity taken from an earlier event of the same socket */
};

/* Build one record (caller json_decref()s it). The event must have passed its check. x may be
 * NULL (no cmdline known). NULL only on allocation failure. Besides DESIGN.md §7's fields a
 * connection record carries:
 *   count          identical denials this record stands for (the kernel's burst dedupe), >= 1
 *   exe            the executable's path as the kernel captured it at the hook
 *   exe_truncated  true when that path lost components (too deep, or a name cut at 31 bytes)
 *   ppid, cmdline  cmdline "unknown" when /proc no longer shows that very process
 *   container_id   from the leaf name of the task's cgroup (audit_container_id), else absent
 *   identity       "socket": a TC event's process fields come from its socket's connect() */
json_t *audit_conn_record(const struct audit_ctx *c, const struct cw_conn_event *e,
			  const struct audit_conn_extra *x);
/* The executable path of an event: exe[] joined leaf last ("/usr/bin/curl"), NUL-terminated,
 * raw bytes (escape with audit_json_bytes). Its length, or 0 when the event has none. */
size_t audit_exe_path(const struct cw_conn_event *e, char *buf, size_t len);
/* The container id in a cgroup directory name: docker-<id>.scope, <id> (cgroupfs drivers),
 * cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope, where <id> is 64 lowercase hex
 * digits. A name that filled its buffer (len - 1 bytes or more: the kernel cut it) may lack the
 * ".scope". 0 with id[] set (65 bytes), or -ENOENT (conmon scopes, slices, anything else). */
#define AUDIT_CONTAINER_ID_LEN 64
int audit_container_id(const char *cgname, size_t len, char id[AUDIT_CONTAINER_ID_LEN + 1]);
json_t *audit_dns_record(const struct audit_ctx *c, const struct cw_dns_event *e);
/* The process fields of a connection record (pid ... container_id, step_ordinal) from e's
 * identity, added to o: for a DNS record, e is who sent the query (dns_clients map). 0, or
 * non-zero when a field could not be added. */
int audit_identity_fields(json_t *o, const struct cw_conn_event *e,
			  const struct audit_conn_extra *x);
json_t *audit_lifecycle_record(const struct audit_ctx *c, uint64_t realtime_ns,
			       const char *message);
/* Lost events are never silent: `source` is "ring" or "evq", `reason` why, `count` how many. */
json_t *audit_events_lost_record(const struct audit_ctx *c, uint64_t realtime_ns,
				 const char *source, const char *reason, uint64_t count);

/* One compact JSON object plus '\n' (caller free()s); *len excludes the NUL. NULL on failure. */
char *audit_line(const json_t *record, size_t *len);

#endif
