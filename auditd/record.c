// SPDX-License-Identifier: Apache-2.0
/* Audit records (DESIGN.md §7, REFERENCE.md "Audit log"). Field names follow CargoWall's where
 * the concept is the same; a denial keeps the `*_blocked` event type in both modes and the
 * `blocked`/`would_deny` pair tells whether it was enforced, as CargoWall's readers expect. */
#include "record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "../proto/maps.h"

#define NSEC_PER_SEC 1000000000ULL

int audit_format_timestamp(uint64_t realtime_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(realtime_ns / NSEC_PER_SEC);
	unsigned long usec = (unsigned long)(realtime_ns % NSEC_PER_SEC / 1000);
	struct tm tm;
	int n;

	if (!gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 9999)
		return -EOVERFLOW;
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06luZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	if (n < 0 || (size_t)n >= len)
		return -EOVERFLOW;
	return 0;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, nothing
 * past U+10FFFF), or 0. jansson refuses any string that is not well-formed. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < need + 1 || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i <= need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need + 1;
}

json_t *audit_json_bytes(const char *s, size_t maxlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *in = (const unsigned char *)s;
	size_t n = strnlen(s, maxlen), i = 0, o = 0, k;
	json_t *j;
	char *out;

	/* worst case: every byte becomes "\xHH" */
	out = malloc(n * 4 + 1);
	if (!out)
		return NULL;
	while (i < n) {
		k = utf8_seq_len(in + i, n - i);
		if (k == 1 && in[i] == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (k) {
			memcpy(out + o, in + i, k);
			o += k;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[in[i] >> 4];
			out[o++] = hex[in[i] & 0xf];
			k = 1;
		}
		i += k;
	}
	j = json_stringn(out, o);
	free(out);
	return j;
}

const char *audit_protocol_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_ICMP:
		return "ICMP";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	case IPPROTO_GRE:
		return "GRE";
	}
	snprintf(buf, len, "Protocol-%u", proto);
	return buf;
}

static const struct {
	uint16_t type;
	const char *name;
} qtypes[] = {
	{ 1, "A" },	  { 2, "NS" },	   { 5, "CNAME" }, { 6, "SOA" },    { 12, "PTR" },
	{ 13, "HINFO" },  { 15, "MX" },	   { 16, "TXT" },  { 28, "AAAA" },  { 33, "SRV" },
	{ 35, "NAPTR" },  { 39, "DNAME" }, { 43, "DS" },   { 46, "RRSIG" }, { 47, "NSEC" },
	{ 48, "DNSKEY" }, { 50, "NSEC3" }, { 52, "TLSA" }, { 64, "SVCB" },  { 65, "HTTPS" },
	{ 99, "SPF" },	  { 252, "AXFR" }, { 255, "ANY" }, { 257, "CAA" },
};

const char *audit_qtype_name(uint16_t qtype, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++)
		if (qtypes[i].type == qtype)
			return qtypes[i].name;
	snprintf(buf, len, "TYPE%u", qtype);
	return buf;
}

const char *audit_rcode_name(uint8_t rcode, char *buf, size_t len)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP",	"REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, len, "RCODE%u", rcode);
	return buf;
}

const char *audit_mode_name(uint8_t mode)
{
	return mode == CW_MODE_AUDIT ? "audit" : "enforce";
}

json_t *audit_matched_rule(const struct audit_ctx *c, uint32_t rule_id)
{
	char buf[32];

	if (rule_id == 0)
		return json_string("default");
	if (c->policy && rule_id <= c->policy->n_rules)
		return audit_json_bytes(c->policy->rules[rule_id - 1].value, CW_NAME_MAX);
	snprintf(buf, sizeof(buf), "rule-%" PRIu32, rule_id);
	return json_string(buf);
}

int audit_conn_event_check(const struct cw_conn_event *e, const char **why)
{
	if (e->type != CW_EV_CONN_ALLOWED && e->type != CW_EV_CONN_BLOCKED &&
	    e->type != CW_EV_PROTOCOL_BLOCKED && e->type != CW_EV_STEP_BOUNDARY) {
		*why = "unknown event type";
		return -EINVAL;
	}
	if (e->type == CW_EV_STEP_BOUNDARY && !e->step) {
		*why = "step boundary without a step ordinal";
		return -EINVAL;
	}
	if (e->family != 4 && e->family != 6 && e->type != CW_EV_PROTOCOL_BLOCKED &&
	    e->type != CW_EV_STEP_BOUNDARY) {
		*why = "unknown address family";
		return -EINVAL;
	}
	return 0;
}

int audit_dns_event_check(const struct cw_dns_event *e, const char **why)
{
	unsigned int i;

	if (!memchr(e->cname_chain, '\0', sizeof(e->cname_chain))) {
		*why = "cname_chain not NUL-terminated";
		return -EINVAL;
	}
	if (e->type != CW_DNSEV_ALLOWED && e->type != CW_DNSEV_BLOCKED) {
		*why = "unknown event type";
		return -EINVAL;
	}
	if (!memchr(e->query, '\0', sizeof(e->query))) {
		*why = "query not NUL-terminated";
		return -EINVAL;
	}
	if (e->n_answers > CW_ANSWERS_MAX) {
		*why = "too many answers";
		return -EINVAL;
	}
	if (e->client_family != 4 && e->client_family != 6) {
		*why = "unknown client address family";
		return -EINVAL;
	}
	for (i = 0; i < e->n_answers; i++) {
		if (e->answer_family[i] != 4 && e->answer_family[i] != 6) {
			*why = "unknown answer address family";
			return -EINVAL;
		}
	}
	return 0;
}

/* family has been checked: 4 or 6. */
static json_t *json_addr(uint8_t family, const uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, sizeof(buf)))
		return NULL;
	return json_string(buf);
}

static bool addr_is_zero(uint8_t family, const uint8_t addr[16])
{
	size_t i, n = family == 4 ? 4 : 16;

	for (i = 0; i < n; i++)
		if (addr[i])
			return false;
	return true;
}

/* Readers in other languages parse numbers as doubles or int64: keep a u64 exact as a string
 * when it does not fit an int64 (cgroup ids never do in practice). */
static json_t *json_u64(uint64_t v)
{
	char buf[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

/* A denial is `blocked` only when it was enforced: the event's own would-deny flag (set by the
 * side that let it through) or audit mode make it `would_deny` instead. */
static void verdict(const struct audit_ctx *c, bool denied, uint8_t flags, bool *blocked,
		    bool *would_deny)
{
	/* CW_EVF_ENFORCED: refused in audit mode too (container DNS with nowhere to go) */
	bool audit = !(flags & CW_EVF_ENFORCED) &&
		     ((flags & CW_EVF_WOULD_DENY) || c->mode == CW_MODE_AUDIT);

	denied = denied || (flags & CW_EVF_WOULD_DENY);
	*blocked = denied && !audit;
	*would_deny = denied && audit;
}

/* Start a record with the fields REFERENCE.md says are always present. */
static json_t *record_start(uint64_t realtime_ns, const char *event_type, bool blocked,
			    bool would_deny)
{
	char ts[AUDIT_TS_LEN];
	json_t *o = json_object();
	int bad = 0;

	if (!o)
		return NULL;
	if (audit_format_timestamp(realtime_ns, ts, sizeof(ts)))
		snprintf(ts, sizeof(ts), "1970-01-01T00:00:00.000000Z");
	bad |= json_object_set_new(o, "timestamp", json_string(ts));
	bad |= json_object_set_new(o, "event_type", json_string(event_type));
	bad |= json_object_set_new(o, "blocked", json_boolean(blocked));
	bad |= json_object_set_new(o, "would_deny", json_boolean(would_deny));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *hook_name(uint8_t hook, char *buf, size_t len)
{
	switch (hook) {
	case CW_HOOK_CONNECT4:
		return "connect4";
	case CW_HOOK_CONNECT6:
		return "connect6";
	case CW_HOOK_TC_EGRESS:
		return "tc";
	case CW_HOOK_SENDMSG4:
		return "sendmsg4";
	case CW_HOOK_SENDMSG6:
		return "sendmsg6";
	case CW_HOOK_SOCK_CREATE:
		return "sock_create";
	case CW_HOOK_SETSOCKOPT:
		return "setsockopt";
	case CW_HOOK_CGROUP_SKB:
		return "cgroup_skb";
	}
	/* a hook added to the kernel side before auditd knows its name: keep the event */
	snprintf(buf, len, "hook-%u", hook);
	return buf;
}

/* A raw socket refused at creation, or a socket option that would skip TC egress. */
static int protocol_fields(json_t *o, const struct cw_conn_event *e)
{
	uint32_t optname;
	char pbuf[16];
	int bad = 0;

	if (e->hook == CW_HOOK_SOCK_CREATE) {
		bad |= json_object_set_new(o, "socket", json_string("raw"));
		bad |= json_object_set_new(o, "socket_family",
					   json_string(e->family == 6 ? "inet6" : "inet"));
		bad |= json_object_set_new(
			o, "protocol",
			json_string(audit_protocol_name(e->protocol, pbuf, sizeof(pbuf))));
	} else {
		memcpy(&optname, e->saddr, sizeof(optname));
		bad |= json_object_set_new(o, "sockopt_level", json_integer(ntohs(e->dport)));
		bad |= json_object_set_new(o, "sockopt", json_integer(optname));
	}
	return bad;
}

size_t audit_exe_path(const struct cw_conn_event *e, char *buf, size_t len)
{
	unsigned int n = e->exe_parts < CW_EXE_PARTS ? e->exe_parts : CW_EXE_PARTS;
	size_t off = 0, l;
	int i;

	if (!len)
		return 0;
	buf[0] = '\0';
	for (i = (int)n - 1; i >= 0; i--) {
		l = strnlen(e->exe[i], CW_EXE_PART_LEN);
		if (off + 1 + l >= len)
			break;
		buf[off++] = '/';
		memcpy(buf + off, e->exe[i], l);
		off += l;
		buf[off] = '\0';
	}
	return off;
}

static bool is_hex_id(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int audit_container_id(const char *cgname, size_t len, char id[AUDIT_CONTAINER_ID_LEN + 1])
{
	/* systemd drivers name the scope <runtime>-<id>.scope; cgroupfs drivers use the bare id */
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-",
						"" };
	static const char scope[] = ".scope";
	size_t n = strnlen(cgname, len), p, rest;
	bool cut = len && n >= len - 1;
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		p = strlen(prefixes[i]);
		if (n < p + AUDIT_CONTAINER_ID_LEN || strncmp(cgname, prefixes[i], p))
			continue;
		if (!is_hex_id(cgname + p, AUDIT_CONTAINER_ID_LEN))
			continue;
		rest = n - p - AUDIT_CONTAINER_ID_LEN;
		if (!p) {
			if (rest) /* a bare id is the whole name */
				continue;
		} else if (rest > sizeof(scope) - 1 || memcmp(cgname + n - rest, scope, rest) ||
			   (rest < sizeof(scope) - 1 && !cut)) {
			continue; /* only a name the kernel cut may lack (part of) ".scope" */
		}
		memcpy(id, cgname + p, AUDIT_CONTAINER_ID_LEN);
		id[AUDIT_CONTAINER_ID_LEN] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* Who: process fields from the kernel (or the socket's earlier event), cmdline from /proc. */
int audit_identity_fields(json_t *o, const struct cw_conn_event *e,
			  const struct audit_conn_extra *x)
{
	char path[CW_EXE_PARTS * (CW_EXE_PART_LEN + 1) + 1], cid[AUDIT_CONTAINER_ID_LEN + 1];
	int bad = 0;

	/* pid 0: the hook ran without process context (TC); pid/uid/comm would be noise */
	if (e->pid) {
		bad |= json_object_set_new(o, "pid", json_integer(e->pid));
		bad |= json_object_set_new(o, "tid", json_integer(e->tid));
		bad |= json_object_set_new(o, "ppid", json_integer(e->ppid));
		bad |= json_object_set_new(o, "uid", json_integer(e->uid));
		bad |= json_object_set_new(o, "process",
					   audit_json_bytes(e->comm, sizeof(e->comm)));
		if (audit_exe_path(e, path, sizeof(path))) {
			bad |= json_object_set_new(o, "exe", audit_json_bytes(path, sizeof(path)));
			if (e->flags & CW_EVF_EXE_TRUNC)
				bad |= json_object_set_new(o, "exe_truncated", json_true());
		}
		if (x && x->cmdline)
			bad |= json_object_set_new(o, "cmdline",
						   audit_json_bytes(x->cmdline, x->cmdline_len));
		else
			bad |= json_object_set_new(o, "cmdline", json_string("unknown"));
		if (x && x->via_cookie)
			bad |= json_object_set_new(o, "identity", json_string("socket"));
	}
	/* 0: not in any step (no step parent, or a process outside the steps) */
	if (e->step)
		bad |= json_object_set_new(o, "step_ordinal", json_integer(e->step));
	if (!audit_container_id(e->cgname, sizeof(e->cgname), cid))
		bad |= json_object_set_new(o, "container_id", json_string(cid));
	return bad;
}

/* A child of the step parent started: the step's first process (it has not exec()ed yet, so
 * its comm is still the parent's). */
static json_t *step_record(const struct cw_conn_event *e, uint64_t realtime_ns)
{
	json_t *o = record_start(realtime_ns, "step_boundary", false, false);
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "step_ordinal", json_integer(e->step));
	bad |= json_object_set_new(o, "pid", json_integer(e->pid));
	bad |= json_object_set_new(o, "ppid", json_integer(e->ppid));
	bad |= json_object_set_new(o, "uid", json_integer(e->uid));
	bad |= json_object_set_new(o, "process", audit_json_bytes(e->comm, sizeof(e->comm)));
	if (e->cgroup_id)
		bad |= json_object_set_new(o, "cgroup_id", json_u64(e->cgroup_id));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *audit_conn_record(const struct audit_ctx *c, const struct cw_conn_event *e,
			  const struct audit_conn_extra *x)
{
	bool blocked, would_deny, denied = e->type != CW_EV_CONN_ALLOWED;
	uint64_t realtime_ns = e->ts_ns + (uint64_t)c->mono_to_realtime_ns;
	char pbuf[16], hbuf[16];
	int bad = 0;
	json_t *o;

	if (e->type == CW_EV_STEP_BOUNDARY)
		return step_record(e, realtime_ns);
	verdict(c, denied, e->flags, &blocked, &would_deny);
	o = record_start(realtime_ns,
			 e->type == CW_EV_PROTOCOL_BLOCKED ? "protocol_blocked" :
			 blocked || would_deny		   ? "connection_blocked" :
							     "connection_allowed",
			 blocked, would_deny);
	if (!o)
		return NULL;
	if (e->type == CW_EV_PROTOCOL_BLOCKED)
		bad |= protocol_fields(o, e);
	else if (!addr_is_zero(e->family, e->saddr))
		bad |= json_object_set_new(o, "src_ip", json_addr(e->family, e->saddr));
	if (e->type != CW_EV_PROTOCOL_BLOCKED) {
		bad |= json_object_set_new(o, "dst_ip", json_addr(e->family, e->daddr));
		if (e->dport || e->protocol == IPPROTO_TCP || e->protocol == IPPROTO_UDP)
			bad |= json_object_set_new(o, "dst_port", json_integer(ntohs(e->dport)));
		bad |= json_object_set_new(
			o, "protocol",
			json_string(audit_protocol_name(e->protocol, pbuf, sizeof(pbuf))));
	}
	bad |= audit_identity_fields(o, e, x);
	if (e->cgroup_id)
		bad |= json_object_set_new(o, "cgroup_id", json_u64(e->cgroup_id));
	bad |= json_object_set_new(o, "matched_rule", audit_matched_rule(c, e->rule_id));
	bad |= json_object_set_new(o, "rule_id", json_integer(e->rule_id));
	bad |= json_object_set_new(o, "hook", json_string(hook_name(e->hook, hbuf, sizeof(hbuf))));
	if (e->flags & CW_EVF_NO_PACKET)
		bad |= json_object_set_new(o, "no_packet", json_true());
	/* a container's DNS query sent on to dnsd (CargoWall's name for what DNS allows itself) */
	if (e->flags & CW_EVF_DNS_REDIRECT)
		bad |= json_object_set_new(o, "auto_allowed_type", json_string("dns"));
	/* a kernel side without burst dedupe leaves 0: the record is one event */
	bad |= json_object_set_new(o, "count", json_integer(e->count ? e->count : 1));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "a b c" -> ["a", "b", "c"]; each name escaped like any hostile bytes. */
static json_t *cname_chain_json(const struct cw_dns_event *e)
{
	json_t *a = json_array();
	const char *p = e->cname_chain, *end = memchr(p, '\0', sizeof(e->cname_chain));

	if (!a || !end)
		return a;
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		size_t l = sp ? (size_t)(sp - p) : (size_t)(end - p);

		if (l)
			json_array_append_new(a, audit_json_bytes(p, l));
		p += l + 1;
	}
	return a;
}

json_t *audit_dns_record(const struct audit_ctx *c, const struct cw_dns_event *e)
{
	bool blocked, would_deny, denied = e->type == CW_DNSEV_BLOCKED;
	char qbuf[16], rbuf[16];
	json_t *o, *answers;
	unsigned int i;
	int bad = 0;

	verdict(c, denied, e->flags, &blocked, &would_deny);
	o = record_start(e->ts_realtime_ns, blocked || would_deny ? "dns_blocked" : "dns_allowed",
			 blocked, would_deny);
	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "query", audit_json_bytes(e->query, sizeof(e->query)));
	bad |= json_object_set_new(o, "dst_hostname", audit_json_bytes(e->query, sizeof(e->query)));
	if (e->cname_chain[0])
		bad |= json_object_set_new(o, "cname_chain", cname_chain_json(e));
	bad |= json_object_set_new(o, "qtype",
				   json_string(audit_qtype_name(e->qtype, qbuf, sizeof(qbuf))));
	bad |= json_object_set_new(o, "rcode",
				   json_string(audit_rcode_name(e->rcode, rbuf, sizeof(rbuf))));
	answers = json_array();
	for (i = 0; answers && i < e->n_answers && i < CW_ANSWERS_MAX; i++)
		bad |= json_array_append_new(answers,
					     json_addr(e->answer_family[i], e->answers[i]));
	bad |= json_object_set_new(o, "answers", answers);
	bad |= json_object_set_new(o, "ttl", json_integer(e->ttl));
	if (!addr_is_zero(e->client_family, e->client_addr)) {
		bad |= json_object_set_new(o, "src_ip",
					   json_addr(e->client_family, e->client_addr));
		bad |= json_object_set_new(o, "src_port", json_integer(ntohs(e->client_port)));
	}
	bad |= json_object_set_new(o, "matched_rule", audit_matched_rule(c, e->rule_id));
	bad |= json_object_set_new(o, "rule_id", json_integer(e->rule_id));
	/* identical queries from the same socket within a second (dnsd/evdedupe.h) */
	bad |= json_object_set_new(o, "count", json_integer(e->count ? e->count : 1));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *audit_lifecycle_record(const struct audit_ctx *c, uint64_t realtime_ns, const char *message)
{
	json_t *o = record_start(realtime_ns, "lifecycle", false, false);
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "message", audit_json_bytes(message, SIZE_MAX));
	bad |= json_object_set_new(o, "mode", json_string(audit_mode_name(c->mode)));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *audit_events_lost_record(const struct audit_ctx *c, uint64_t realtime_ns,
				 const char *source, const char *reason, uint64_t count)
{
	json_t *o = record_start(realtime_ns, "events_lost", false, false);
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "source", json_string(source));
	bad |= json_object_set_new(o, "reason", json_string(reason));
	bad |= json_object_set_new(o, "count", json_u64(count));
	bad |= json_object_set_new(o, "mode", json_string(audit_mode_name(c->mode)));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *audit_line(const json_t *record, size_t *len)
{
	char *s, *line;
	size_t n;

	s = json_dumps(record, JSON_COMPACT);
	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}
