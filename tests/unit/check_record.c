// SPDX-License-Identifier: Apache-2.0
/* auditd's records: every line is one valid JSON object whatever bytes a name holds; fields
 * follow DESIGN.md §7; hostile evq entries are refused. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

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
	rec = audit_conn_record(&ctx, &e);
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
	rec = audit_conn_record(&ctx, &e);
	o = reparse(rec);
	ck_assert(json_is_false(json_object_get(o, "blocked")));
	ck_assert(json_is_true(json_object_get(o, "would_deny")));
	json_decref(o);
	json_decref(rec);
	ctx.mode = CW_MODE_ENFORCE;
	e.flags = CW_EVF_NO_PACKET; /* a refused UDP connect */
	rec = audit_conn_record(&ctx, &e);
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
