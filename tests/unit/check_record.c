// SPDX-License-Identifier: Apache-2.0
/* auditd's records: every line is one valid JSON object whatever bytes a name holds; fields
 * follow DESIGN.md §7; hostile evq entries are refused. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auditd/ident.h"
#include "auditd/record.h"
#include "proto/maps.h"

static struct policy pol;
static struct audit_ctx ctx;

static void setup(void)
{
	static const char *json = "{\"rules\":[{\"type\":\"hostname\",\"value\":\"allowed.test\","
				  "\"action\":\"allow\"}]}";
	struct policy_error err;

	ck_assert_int_eq(policy_parse_json(&pol, json, strlen(json), "t", &err), 0);
	ctx.mode = CW_MODE_ENFORCE;
	ctx.policy = &pol;
	ctx.mono_to_realtime_ns = 1764343800LL * 1000000000LL;
}

static void teardown(void)
{
	policy_free(&pol);
}

/* The line must parse back as one object with nothing after it but the newline. */
static json_t *reparse(json_t *rec)
{
	size_t len;
	char *line = audit_line(rec, &len);
	json_error_t jerr;
	json_t *o;

	ck_assert_ptr_nonnull(line);
	ck_assert_uint_gt(len, 2);
	ck_assert_int_eq(line[len - 1], '\n');
	ck_assert_ptr_null(memchr(line, '\n', len - 1));
	o = json_loadb(line, len, 0, &jerr);
	ck_assert_msg(o != NULL, "invalid JSON line: %s (%s)", line, jerr.text);
	ck_assert(json_is_object(o));
	free(line);
	return o;
}

static void dns_event(struct cw_dns_event *e, const char *q, size_t qlen)
{
	memset(e, 0, sizeof(*e));
	e->ts_realtime_ns = 1764343800123456789ULL;
	e->type = CW_DNSEV_BLOCKED;
	e->rcode = 3;
	e->qtype = 16;
	e->client_family = 4;
	memcpy(e->query, q, qlen);
}

static const char *const hostile_names[] = {
	"quote\".evil.test",	"back\\slash.evil.test",     "ctl\x01\x02\x1f.evil.test",
	"nl\nline.evil.test",	"bad\xff\xfe.utf8",	     "trunc\xe2\x82.x",
	"surr\xed\xa0\x80.x",	"big\xf4\x90\x80\x80.x",     "fake\\xff.escape",
	"\x7f\x80\x81\xc0\xc1", "ok-\xc3\xa9t\xc3\xa9.test",
};

START_TEST(test_hostile_names_valid_json)
{
	struct cw_dns_event e;
	const char *why;
	json_t *rec, *o;

	dns_event(&e, hostile_names[_i], strlen(hostile_names[_i]));
	ck_assert_int_eq(audit_dns_event_check(&e, &why), 0);
	rec = audit_dns_record(&ctx, &e);
	ck_assert_ptr_nonnull(rec);
	o = reparse(rec);
	ck_assert_str_eq(json_string_value(json_object_get(o, "event_type")), "dns_blocked");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "query")));
	ck_assert_str_eq(json_string_value(json_object_get(o, "qtype")), "TXT");
	ck_assert_str_eq(json_string_value(json_object_get(o, "rcode")), "NXDOMAIN");
	ck_assert(json_is_true(json_object_get(o, "blocked")));
	json_decref(o);
	json_decref(rec);
}
END_TEST

START_TEST(test_every_byte)
{
	struct cw_dns_event e;
	char q[256];
	json_t *rec, *o;
	int i;

	for (i = 1; i < 256; i++)
		q[i - 1] = (char)i;
	q[255] = '\0';
	dns_event(&e, q, 256);
	rec = audit_dns_record(&ctx, &e);
	o = reparse(rec);
	json_decref(o);
	json_decref(rec);
}
END_TEST

START_TEST(test_backslash_escape_not_forgeable)
{
	json_t *a = audit_json_bytes("\xff", 16), *b = audit_json_bytes("\\xff", 16);

	ck_assert_str_ne(json_string_value(a), json_string_value(b));
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(test_conn_blocked_fields)
{
	struct cw_conn_event e;
	const char *why;
	json_t *rec, *o;

	memset(&e, 0, sizeof(e));
	e.ts_ns = 5000;
	e.type = CW_EV_CONN_BLOCKED;
	e.hook = CW_HOOK_CONNECT4;
	e.family = 4;
	e.protocol = IPPROTO_TCP;
	e.pid = 4242;
	e.tid = 4243;
	e.uid = 1000;
	e.cgroup_id = 77;
	e.dport = htons(80);
	inet_pton(AF_INET, "10.199.1.66", e.daddr);
	memcpy(e.comm, "curl", 4);
	ck_assert_int_eq(audit_conn_event_check(&e, &why), 0);
	rec = audit_conn_record(&ctx, &e, NULL);
	o = reparse(rec);
	ck_assert_str_eq(json_string_value(json_object_get(o, "event_type")), "connection_blocked");
	ck_assert_str_eq(json_string_value(json_object_get(o, "dst_ip")), "10.199.1.66");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "dst_port")), 80);
	ck_assert_str_eq(json_string_value(json_object_get(o, "protocol")), "TCP");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "pid")), 4242);
	ck_assert_str_eq(json_string_value(json_object_get(o, "process")), "curl");
	ck_assert_str_eq(json_string_value(json_object_get(o, "matched_rule")), "default");
	ck_assert(json_is_true(json_object_get(o, "blocked")));
	ck_assert(json_is_false(json_object_get(o, "would_deny")));
	ck_assert_ptr_null(json_object_get(o, "no_packet"));
	ck_assert_str_eq(json_string_value(json_object_get(o, "timestamp")),
			 "2025-11-28T15:30:00.000005Z");
	json_decref(o);
	json_decref(rec);

	ctx.mode = CW_MODE_AUDIT;
	e.flags = CW_EVF_WOULD_DENY;
	rec = audit_conn_record(&ctx, &e, NULL);
	o = reparse(rec);
	ck_assert(json_is_false(json_object_get(o, "blocked")));
	ck_assert(json_is_true(json_object_get(o, "would_deny")));
	json_decref(o);
	json_decref(rec);
	ctx.mode = CW_MODE_ENFORCE;
	e.flags = CW_EVF_NO_PACKET; /* a refused UDP connect */
	rec = audit_conn_record(&ctx, &e, NULL);
	o = reparse(rec);
	ck_assert(json_is_true(json_object_get(o, "no_packet")));
	ck_assert(json_is_true(json_object_get(o, "blocked")));
	json_decref(o);
	json_decref(rec);
}
END_TEST

START_TEST(test_hostile_evq_entries_refused)
{
	struct cw_dns_event e;
	const char *why = NULL;

	dns_event(&e, "a.test", 6);
	e.type = 99;
	ck_assert_int_eq(audit_dns_event_check(&e, &why), -EINVAL);
	dns_event(&e, "a.test", 6);
	memset(e.query, 'a', sizeof(e.query));
	ck_assert_int_eq(audit_dns_event_check(&e, &why), -EINVAL);
	dns_event(&e, "a.test", 6);
	e.n_answers = 200;
	ck_assert_int_eq(audit_dns_event_check(&e, &why), -EINVAL);
	dns_event(&e, "a.test", 6);
	e.n_answers = 1;
	e.answer_family[0] = 5;
	ck_assert_int_eq(audit_dns_event_check(&e, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_cname_chain)
{
	struct cw_dns_event e;
	const char *why;
	json_t *rec, *o, *chain;

	dns_event(&e, "cname-ok.test", 13);
	strcpy(e.cname_chain, "cname-ok.test evil.test");
	ck_assert_int_eq(audit_dns_event_check(&e, &why), 0);
	rec = audit_dns_record(&ctx, &e);
	o = reparse(rec);
	chain = json_object_get(o, "cname_chain");
	ck_assert_uint_eq(json_array_size(chain), 2);
	ck_assert_str_eq(json_string_value(json_array_get(chain, 1)), "evil.test");
	json_decref(o);
	json_decref(rec);
	memset(e.cname_chain, 'a', sizeof(e.cname_chain)); /* unterminated: refused */
	ck_assert_int_eq(audit_dns_event_check(&e, &why), -EINVAL);
}
END_TEST

static void conn_event(struct cw_conn_event *e)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = 5000;
	e->type = CW_EV_CONN_BLOCKED;
	e->hook = CW_HOOK_CONNECT4;
	e->family = 4;
	e->protocol = IPPROTO_TCP;
	e->pid = 4242;
	e->tid = 4243;
	e->ppid = 4000;
	e->uid = 1000;
	e->start_ns = 123450000000ULL;
	e->cookie = 99;
	e->count = 1;
	e->dport = htons(443);
	inet_pton(AF_INET, "10.199.1.66", e->daddr);
	memcpy(e->comm, "curl", 4);
}

static void set_exe(struct cw_conn_event *e, const char *const *leaf_first, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		memcpy(e->exe[i], leaf_first[i], strnlen(leaf_first[i], CW_EXE_PART_LEN));
	e->exe_parts = (uint8_t)n;
}

START_TEST(test_conn_identity_fields)
{
	static const char *const curl[] = { "curl", "bin", "usr" };
	static const char docker[] = "docker-"
				     "0123456789abcdef0123456789abcdef"
				     "0123456789abcdef0123456789abcdef.scope";
	struct audit_conn_extra x = { .cmdline = "curl -s https://evil.test/", .cmdline_len = 26 };
	struct cw_conn_event e;
	json_t *rec, *o;

	conn_event(&e);
	set_exe(&e, curl, 3);
	e.count = 7;
	memcpy(e.cgname, docker, sizeof(docker));
	rec = audit_conn_record(&ctx, &e, &x);
	o = reparse(rec);
	ck_assert_str_eq(json_string_value(json_object_get(o, "exe")), "/usr/bin/curl");
	ck_assert_ptr_null(json_object_get(o, "exe_truncated"));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "ppid")), 4000);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "count")), 7);
	ck_assert_str_eq(json_string_value(json_object_get(o, "cmdline")),
			 "curl -s https://evil.test/");
	ck_assert_str_eq(json_string_value(json_object_get(o, "process")), "curl");
	ck_assert_str_eq(json_string_value(json_object_get(o, "container_id")),
			 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	ck_assert_ptr_null(json_object_get(o, "identity"));
	json_decref(o);
	json_decref(rec);

	/* truncated path, no cmdline known, count 0 from an old kernel side, no container */
	e.flags = CW_EVF_EXE_TRUNC;
	e.count = 0;
	memset(e.cgname, 0, sizeof(e.cgname));
	memcpy(e.cgname, "session-3.scope", 15);
	memset(e.exe[0], 'x', CW_EXE_PART_LEN); /* a full slot: no NUL */
	rec = audit_conn_record(&ctx, &e, NULL);
	o = reparse(rec);
	ck_assert(json_is_true(json_object_get(o, "exe_truncated")));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(o, "exe"))),
			  strlen("/usr/bin/") + CW_EXE_PART_LEN);
	ck_assert_str_eq(json_string_value(json_object_get(o, "cmdline")), "unknown");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "count")), 1);
	ck_assert_ptr_null(json_object_get(o, "container_id"));
	json_decref(o);
	json_decref(rec);

	/* hostile bytes in a path component and in the cmdline stay valid JSON */
	strcpy(e.exe[0], "a\"\\\x01\xff");
	x.cmdline = "sh -c \"\x1b[31m\xc3\x28\"";
	x.cmdline_len = strlen(x.cmdline);
	rec = audit_conn_record(&ctx, &e, &x);
	o = reparse(rec);
	ck_assert_str_eq(json_string_value(json_object_get(o, "exe")), "/usr/bin/a\"\\\\\x01\\xff");
	json_decref(o);
	json_decref(rec);

	/* TC: no process context, nothing joined: no process fields at all */
	conn_event(&e);
	e.pid = 0;
	e.hook = CW_HOOK_TC_EGRESS;
	rec = audit_conn_record(&ctx, &e, NULL);
	o = reparse(rec);
	ck_assert_ptr_null(json_object_get(o, "pid"));
	ck_assert_ptr_null(json_object_get(o, "cmdline"));
	ck_assert_ptr_null(json_object_get(o, "exe"));
	json_decref(o);
	json_decref(rec);
}
END_TEST

static const char hex_id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* prefix + the first idlen digits of hex_id + suffix */
static const struct {
	const char *prefix;
	int idlen;
	const char *suffix;
	int ok;
} cgnames[] = {
	{ "docker-", 64, ".scope", 1 },
	{ "", 64, "", 1 },
	{ "cri-containerd-", 64, ".scope", 1 },
	{ "crio-", 64, ".scope", 1 },
	{ "libpod-", 64, ".scope", 1 },
	{ "libpod-conmon-", 64, ".scope", 0 },
	{ "crio-conmon-", 64, ".scope", 0 },
	{ "docker-", 64, ".scopex", 0 },
	{ "docker-", 64, "", 0 },
	{ "", 64, ".scope", 0 },
	{ "docker-", 64, "a.scope", 0 },
	{ "x", 64, "", 0 },
	{ "session-3.scope", 0, "", 0 },
	{ "", 0, "", 0 },
	{ "system.slice", 0, "", 0 },
	{ "docker-", 63, ".scope", 0 },
};

static void cg_name(char *buf, size_t len, const char *prefix, int idlen, const char *suffix)
{
	snprintf(buf, len, "%s%.*s%s", prefix, idlen, hex_id, suffix);
}

START_TEST(test_container_id)
{
	char name[CW_CGNAME_LEN + 32], id[AUDIT_CONTAINER_ID_LEN + 1];
	int ret;

	cg_name(name, sizeof(name), cgnames[_i].prefix, cgnames[_i].idlen, cgnames[_i].suffix);
	ret = audit_container_id(name, sizeof(name), id);
	ck_assert_msg(cgnames[_i].ok ? ret == 0 : ret == -ENOENT, "%s: %d", name, ret);
	if (cgnames[_i].ok)
		ck_assert_str_eq(id, hex_id);
}
END_TEST

START_TEST(test_container_id_cut_and_case)
{
	char full[128], name[CW_CGNAME_LEN], id[AUDIT_CONTAINER_ID_LEN + 1];

	/* "cri-containerd-<64>.scope" is 85 bytes: the kernel keeps 79 and a NUL */
	cg_name(full, sizeof(full), "cri-containerd-", 64, ".scope");
	memcpy(name, full, sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(audit_container_id(name, sizeof(name), id), 0);
	ck_assert_str_eq(id, hex_id);
	/* the same 79 bytes in a larger buffer were not cut: the ".scope" is required */
	memset(full, 0, sizeof(full));
	memcpy(full, name, strlen(name));
	ck_assert_int_eq(audit_container_id(full, sizeof(full), id), -ENOENT);
	cg_name(name, sizeof(name), "docker-", 64, ".scope");
	name[10] = 'A'; /* upper case is not an id */
	ck_assert_int_eq(audit_container_id(name, sizeof(name), id), -ENOENT);
}
END_TEST

/* ---- ident: cmdline cache and socket join, against a fake /proc ---------------------------- */

static char fake_proc[64];

static void fake_write(uint32_t pid, const char *file, const char *data, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u", fake_proc, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%u/%s", fake_proc, pid, file);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* A stat line whose comm has spaces and parentheses: fields count from the last ')'. */
static void fake_process(uint32_t pid, unsigned long long start_ticks, const char *cmdline,
			 size_t len)
{
	char stat[512];
	int n;

	n = snprintf(stat, sizeof(stat),
		     "%u (a) b) c) S 1 %u %u 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 %llu "
		     "1000 100 18446744073709551615\n",
		     pid, pid, pid, start_ticks);
	fake_write(pid, "stat", stat, (size_t)n);
	fake_write(pid, "cmdline", cmdline, len);
}

static void fake_gone(uint32_t pid)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%u/stat", fake_proc, pid);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%u/cmdline", fake_proc, pid);
	unlink(path);
}

START_TEST(test_ident_cmdline_cache)
{
	struct ident id;
	const char *s;
	size_t len = 0;

	strcpy(fake_proc, "/tmp/cw-fakeproc-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fake_proc));
	ck_assert_int_eq(ident_init(&id, fake_proc, 100), 0);
	/* start_ns 1234.56 s = 123456 ticks of 10 ms */
	fake_process(300, 123456, "curl\0-s\0http://x/\0", 19);
	s = ident_cmdline(&id, 300, 1234560000000ULL + 9999999, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, 17);
	ck_assert_str_eq(s, "curl -s http://x/");
	ck_assert_uint_eq(id.proc_misses, 1);
	/* hit: /proc is not read again (the process is gone, the answer stays) */
	fake_gone(300);
	s = ident_cmdline(&id, 300, 1234560000000ULL + 9999999, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "curl -s http://x/");
	ck_assert_uint_eq(id.proc_hits, 1);
	/* a process gone before auditd looked: unknown */
	ck_assert_ptr_null(ident_cmdline(&id, 301, 1234560000000ULL, &len));
	/* the pid reused by a later process: its cmdline is not the event's */
	fake_process(302, 200000, "other\0", 6);
	ck_assert_ptr_null(ident_cmdline(&id, 302, 1234560000000ULL, &len));
	/* ...and the later process itself is found */
	ck_assert_ptr_nonnull(ident_cmdline(&id, 302, 2000000000000ULL, &len));
	/* no start time (kernel side without it): never guessed */
	ck_assert_ptr_null(ident_cmdline(&id, 302, 0, &len));
	/* a zombie's empty cmdline: unknown */
	fake_process(303, 300, "", 0);
	ck_assert_ptr_null(ident_cmdline(&id, 303, 3000000000ULL, &len));
	/* arguments with spaces and hostile bytes are kept as bytes */
	fake_process(304, 400, "sh\0-c\0echo \"\xff\"\0", 15);
	s = ident_cmdline(&id, 304, 4000000000ULL, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "sh -c echo \"\xff\"");
	ident_free(&id);
	fake_gone(302);
	fake_gone(303);
	fake_gone(304);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake_proc);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

START_TEST(test_ident_sock_join)
{
	static const char *const curl[] = { "curl", "bin", "usr" };
	struct cw_conn_event e, tc;
	struct ident id;

	ck_assert_int_eq(ident_init(&id, "/", 100), 0);
	conn_event(&e);
	set_exe(&e, curl, 3);
	e.type = CW_EV_CONN_ALLOWED;
	ident_sock_remember(&id, &e);
	memset(&tc, 0, sizeof(tc));
	tc.type = CW_EV_CONN_BLOCKED;
	tc.hook = CW_HOOK_TC_EGRESS;
	tc.family = 4;
	tc.cookie = 99;
	ck_assert(ident_sock_fill(&id, &tc));
	ck_assert_uint_eq(tc.pid, 4242);
	ck_assert_uint_eq(tc.ppid, 4000);
	ck_assert_uint_eq(tc.start_ns, e.start_ns);
	ck_assert_str_eq(tc.comm, "curl");
	ck_assert_uint_eq(tc.exe_parts, 3);
	ck_assert_uint_eq(tc.step, 0);
	{
		struct audit_conn_extra x = { .via_cookie = true };
		json_t *rec = audit_conn_record(&ctx, &tc, &x), *o = reparse(rec);

		ck_assert_str_eq(json_string_value(json_object_get(o, "identity")), "socket");
		ck_assert_str_eq(json_string_value(json_object_get(o, "exe")), "/usr/bin/curl");
		json_decref(o);
		json_decref(rec);
	}
	/* another socket: nothing joined; an event with process context is left alone */
	memset(&tc, 0, sizeof(tc));
	tc.cookie = 100;
	ck_assert(!ident_sock_fill(&id, &tc));
	ck_assert_uint_eq(tc.pid, 0);
	ck_assert(!ident_sock_fill(&id, &e));
	ident_free(&id);
}
END_TEST

/* Step attribution: the ordinal on connection records (0 leaves the field out), the
 * step_boundary record, and one without an ordinal refused. */
START_TEST(test_step_fields)
{
	struct cw_conn_event e;
	const char *why = NULL;
	json_t *rec, *o;

	conn_event(&e);
	rec = audit_conn_record(&ctx, &e, NULL);
	o = reparse(rec);
	ck_assert_ptr_null(json_object_get(o, "step_ordinal"));
	json_decref(o);
	json_decref(rec);

	e.step = 3;
	rec = audit_conn_record(&ctx, &e, NULL);
	o = reparse(rec);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "step_ordinal")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(o, "event_type")), "connection_blocked");
	json_decref(o);
	json_decref(rec);

	memset(&e, 0, sizeof(e));
	e.type = CW_EV_STEP_BOUNDARY;
	e.pid = 700;
	e.ppid = 600;
	memcpy(e.comm, "Runner.Worker", 13);
	ck_assert_int_eq(audit_conn_event_check(&e, &why), -EINVAL);
	ck_assert_str_eq(why, "step boundary without a step ordinal");
	e.step = 4;
	ck_assert_int_eq(audit_conn_event_check(&e, &why), 0);
	rec = audit_conn_record(&ctx, &e, NULL);
	o = reparse(rec);
	ck_assert_str_eq(json_string_value(json_object_get(o, "event_type")), "step_boundary");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "step_ordinal")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "pid")), 700);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "ppid")), 600);
	ck_assert_str_eq(json_string_value(json_object_get(o, "process")), "Runner.Worker");
	ck_assert(json_is_false(json_object_get(o, "blocked")));
	json_decref(o);
	json_decref(rec);
}
END_TEST

static Suite *record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_hostile_names_valid_json, 0,
			    sizeof(hostile_names) / sizeof(hostile_names[0]));
	tcase_add_test(tc, test_every_byte);
	tcase_add_test(tc, test_backslash_escape_not_forgeable);
	tcase_add_test(tc, test_conn_blocked_fields);
	tcase_add_test(tc, test_hostile_evq_entries_refused);
	tcase_add_test(tc, test_cname_chain);
	tcase_add_test(tc, test_conn_identity_fields);
	tcase_add_loop_test(tc, test_container_id, 0, sizeof(cgnames) / sizeof(cgnames[0]));
	tcase_add_test(tc, test_container_id_cut_and_case);
	tcase_add_test(tc, test_ident_cmdline_cache);
	tcase_add_test(tc, test_ident_sock_join);
	tcase_add_test(tc, test_step_fields);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(record_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
