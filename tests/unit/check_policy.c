// SPDX-License-Identifier: Apache-2.0
/* Hostname semantics of DESIGN.md §5, table-driven. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/policy.h"
#include "proto/maps.h"

struct match_case {
	const char *pattern;
	const char *name;
	bool match;
};

static const struct match_case match_cases[] = {
	/* a plain name: the apex and every subdomain at any depth */
	{ "example.com", "example.com", true },
	{ "example.com", "www.example.com", true },
	{ "example.com", "a.b.c.example.com", true },
	{ "example.com", "notexample.com", false },
	{ "example.com", "example.com.evil.test", false },
	{ "example.com", "com", false },
	/* "*": exactly one label, no implicit apex */
	{ "*.example.com", "www.example.com", true },
	{ "*.example.com", "example.com", false },
	{ "*.example.com", "a.b.example.com", false },
	/* "**": one or more labels */
	{ "**.example.com", "www.example.com", true },
	{ "**.example.com", "a.b.c.example.com", true },
	{ "**.example.com", "example.com", false },
	/* wildcards inside */
	{ "api.*.example.com", "api.eu.example.com", true },
	{ "api.*.example.com", "api.example.com", false },
	{ "api.*.example.com", "www.eu.example.com", false },
	{ "a.**.z.test", "a.b.c.z.test", true },
	{ "a.**.z.test", "a.z.test", false },
	{ "*.*.test", "a.b.test", true },
	{ "*.*.test", "b.test", false },
};

START_TEST(test_match_table)
{
	const struct match_case *c = &match_cases[_i];

	ck_assert_msg(policy_hostname_match(c->pattern, c->name) == c->match,
		      "pattern %s name %s: expected %s", c->pattern, c->name,
		      c->match ? "match" : "no match");
}
END_TEST

struct canon_case {
	const char *in;
	bool pattern;
	const char *out; /* NULL: rejected */
};

static const struct canon_case canon_cases[] = {
	{ "Example.COM", false, "example.com" },
	{ "example.com.", false, "example.com" },
	{ "*.Example.com.", true, "*.example.com" },
	{ "_dmarc.example.com", false, "_dmarc.example.com" },
	{ "foo*.example.com", true, NULL }, /* partial-label wildcard */
	{ "f*o.example.com", true, NULL },
	{ "**.**.example.com", true, NULL }, /* consecutive ** */
	{ "***.example.com", true, NULL },
	{ "*.example.com", false, NULL }, /* not a pattern position */
	{ "*", true, NULL },
	{ "**", true, NULL },
	{ "", false, NULL },
	{ ".", false, NULL },
	{ "a..b", false, NULL },
	{ ".example.com", false, NULL },
	{ "exa mple.com", false, NULL },
	{ "exa\"mple.com", false, NULL },
	{ "xn--bcher-kva.example", false, "xn--bcher-kva.example" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", false,
	  NULL }, /* 64-character label */
};

START_TEST(test_canon_table)
{
	const struct canon_case *c = &canon_cases[_i];
	const char *why = NULL;
	char out[CW_NAME_MAX];
	int ret = policy_hostname_canon(c->in, out, sizeof(out), c->pattern, &why);

	if (c->out) {
		ck_assert_msg(ret == 0, "%s: rejected: %s", c->in, why);
		ck_assert_str_eq(out, c->out);
	} else {
		ck_assert_msg(ret < 0, "%s: accepted as %s", c->in, out);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

static struct policy prec;

static void add(const char *value, uint8_t action)
{
	struct policy_rule r;
	struct policy_error err;

	memset(&r, 0, sizeof(r));
	r.type = POLICY_RULE_HOSTNAME;
	r.action = action;
	strcpy(r.value, value);
	ck_assert_msg(policy_add_rule(&prec, &r, "test", &err) == 0, "%s", err.msg);
}

struct prec_case {
	const char *name;
	uint8_t action;
	const char *rule; /* value of the deciding rule, NULL = default */
};

static const struct prec_case prec_cases[] = {
	{ "example.com", CW_ACTION_ALLOW, "example.com" },
	{ "www.example.com", CW_ACTION_ALLOW, "example.com" },
	/* longest parent suffix wins */
	{ "x.internal.example.com", CW_ACTION_DENY, "internal.example.com" },
	/* exact beats a deny pattern */
	{ "ok.ads.example.com", CW_ACTION_ALLOW, "ok.ads.example.com" },
	/* a deny pattern beats a parent-suffix allow */
	{ "tracker.ads.example.com", CW_ACTION_DENY, "*.ads.example.com" },
	/* a parent-suffix rule beats an allow pattern */
	{ "a.cdn.test", CW_ACTION_DENY, "cdn.test" },
	{ "a.b.cdn2.test", CW_ACTION_ALLOW, "**.cdn2.test" },
	/* deny wins at equal specificity */
	{ "both.test", CW_ACTION_DENY, "both.test" },
	{ "unrelated.test", CW_ACTION_DENY, NULL },
	/* case and trailing dot are normalised before matching */
};

START_TEST(test_precedence_table)
{
	const struct prec_case *c = &prec_cases[_i];
	uint8_t action = 9;
	uint32_t id;

	policy_init(&prec);
	add("example.com", CW_ACTION_ALLOW);
	add("internal.example.com", CW_ACTION_DENY);
	add("*.ads.example.com", CW_ACTION_DENY);
	add("ok.ads.example.com", CW_ACTION_ALLOW);
	add("*.cdn.test", CW_ACTION_ALLOW);
	add("cdn.test", CW_ACTION_DENY);
	add("**.cdn2.test", CW_ACTION_ALLOW);
	add("both.test", CW_ACTION_ALLOW);
	add("both.test", CW_ACTION_DENY);
	id = policy_match_hostname(&prec, c->name, &action);
	ck_assert_msg(action == c->action, "%s: action %u", c->name, action);
	if (c->rule) {
		ck_assert_uint_ne(id, 0);
		ck_assert_str_eq(prec.rules[id - 1].value, c->rule);
	} else {
		ck_assert_uint_eq(id, 0);
	}
	policy_free(&prec);
}
END_TEST

START_TEST(test_search_domains)
{
	struct policy p;
	struct policy_error err;
	char out[CW_NAME_MAX];

	policy_init(&p);
	ck_assert_int_eq(policy_add_search_domain(&p, ".corp.example", "sd", &err), 0);
	ck_assert_int_eq(policy_add_search_domain(&p, "local", "sd", &err), -EINVAL);
	ck_assert_int_eq(policy_name_canon(&p, "Build.CORP.example.", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "build");
	ck_assert_int_eq(policy_name_canon(&p, "corp.example", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "corp.example");
	ck_assert_int_eq(policy_name_canon(&p, "bad name", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(policy_name_canon(&p, "*.x.test", out, sizeof(out)), -EINVAL);
	policy_free(&p);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("hostname");

	tcase_add_loop_test(tc, test_match_table, 0, sizeof(match_cases) / sizeof(match_cases[0]));
	tcase_add_loop_test(tc, test_canon_table, 0, sizeof(canon_cases) / sizeof(canon_cases[0]));
	tcase_add_loop_test(tc, test_precedence_table, 0,
			    sizeof(prec_cases) / sizeof(prec_cases[0]));
	tcase_add_test(tc, test_search_domains);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
