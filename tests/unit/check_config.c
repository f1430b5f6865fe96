// SPDX-License-Identifier: Apache-2.0
/* Config errors name the source, the field and the reason; good configs are canonicalised. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common/netaddr.h"
#include "common/policy.h"
#include "proto/maps.h"

struct bad_case {
	const char *json;
	const char *expect; /* substring of the error */
};

#define R(body) "{\"rules\":[{" body "}]}"
static const struct bad_case bad_cases[] = {
	{ "", "cfg: line 1" },
	{ "{", "cfg: line 1" },
	{ "[]", "top level must be an object" },
	{ "{\"defaultAction\":\"maybe\"}",
	  "defaultAction: \"maybe\": must be \"allow\" or \"deny\"" },
	{ "{\"defaultAction\":1}", "defaultAction: must be a string" },
	{ "{\"default_action\":\"deny\"}", "default_action: unknown field" },
	{ "{\"rules\":{}}", "rules: must be an array" },
	{ "{\"rules\":[1]}", "rules[0]: must be an object" },
	{ R("\"type\":\"hostname\",\"value\":\"a.test\""), "rules[0].action: missing" },
	{ R("\"type\":\"host\",\"value\":\"a.test\",\"action\":\"allow\""),
	  "rules[0].type: \"host\": must be \"hostname\" or \"cidr\"" },
	{ R("\"type\":\"hostname\",\"value\":\"\",\"action\":\"allow\""),
	  "rules[0].value: must not be empty" },
	{ R("\"type\":\"hostname\",\"value\":7,\"action\":\"allow\""),
	  "rules[0].value: must be a string" },
	{ R("\"type\":\"hostname\",\"value\":\"a.test\",\"action\":\"permit\""),
	  "rules[0].action: \"permit\"" },
	{ R("\"type\":\"hostname\",\"value\":\"a.test\",\"action\":\"allow\",\"port\":1"),
	  "rules[0].port: unknown field" },
	{ R("\"type\":\"hostname\",\"value\":\"foo*.test\",\"action\":\"allow\""),
	  "rules[0].value: \"foo*.test\": partial-label wildcard" },
	{ R("\"type\":\"hostname\",\"value\":\"**.**.test\",\"action\":\"allow\""), "consecutive" },
	{ R("\"type\":\"hostname\",\"value\":\"a..test\",\"action\":\"allow\""), "empty label" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0.0/33\",\"action\":\"deny\""),
	  "rules[0].value: \"10.0.0.0/33\": prefix length must be 0-32" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0/8\",\"action\":\"deny\""),
	  "not an IP address or CIDR" },
	{ R("\"type\":\"cidr\",\"value\":\"::/129\",\"action\":\"deny\""), "0-128" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0.0/\",\"action\":\"deny\""), "prefix length" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0.0/-1\",\"action\":\"deny\""), "prefix length" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0.0/8\",\"action\":\"deny\",\"ports\":{}"),
	  "rules[0].ports: must be an array" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0.0/8\",\"action\":\"deny\",\"ports\":[443]"),
	  "rules[0].ports[0]: must be an object" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0.0/8\",\"action\":\"deny\",\"ports\":"
	    "[{\"port\":70000,\"protocol\":\"tcp\"}]"),
	  "rules[0].ports[0].port: 70000: must be 1-65535" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0.0/8\",\"action\":\"deny\",\"ports\":"
	    "[{\"port\":0,\"protocol\":\"tcp\"}]"),
	  "rules[0].ports[0].port: 0" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0.0/8\",\"action\":\"deny\",\"ports\":"
	    "[{\"port\":\"443\",\"protocol\":\"tcp\"}]"),
	  "rules[0].ports[0].port: must be an integer" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0.0/8\",\"action\":\"deny\",\"ports\":"
	    "[{\"port\":443,\"protocol\":\"sctp\"}]"),
	  "rules[0].ports[0].protocol: \"sctp\"" },
	{ R("\"type\":\"cidr\",\"value\":\"10.0.0.0/8\",\"action\":\"deny\",\"ports\":"
	    "[{\"port\":443}]"),
	  "rules[0].ports[0].protocol: missing" },
	{ "{\"searchDomains\":[\"local\"]}", "searchDomains[0]: \"local\": a search domain needs "
					     "at least two labels" },
	{ "{\"searchDomains\":\"corp.example\"}", "searchDomains: must be an array" },
	{ "{\"sudoLockdown\":true}", "sudoLockdown: must be an object" },
	{ "{\"rules\":[],\"rules\":[]}", "duplicate" },
};

START_TEST(test_bad_configs)
{
	const struct bad_case *c = &bad_cases[_i];
	struct policy p;
	struct policy_error err = { "" };
	int ret = policy_parse_json(&p, c->json, strlen(c->json), "cfg", &err);

	ck_assert_msg(ret == -EINVAL, "accepted: %s", c->json);
	ck_assert_msg(strstr(err.msg, c->expect), "error \"%s\" lacks \"%s\"", err.msg, c->expect);
	ck_assert_msg(!strncmp(err.msg, "cfg: ", 5), "error \"%s\" does not name the source",
		      err.msg);
	ck_assert_uint_eq(p.n_rules, 0);
	ck_assert_ptr_null(p.rules);
}
END_TEST

START_TEST(test_good_config_canonical)
{
	static const char *json =
		"{\"defaultAction\":\"deny\",\"rules\":["
		"{\"type\":\"hostname\",\"value\":\"GitHub.com.\",\"ports\":"
		"[{\"port\":443,\"protocol\":\"tcp\"}],\"action\":\"allow\"},"
		"{\"type\":\"hostname\",\"value\":\"github.com\",\"ports\":"
		"[{\"port\":80,\"protocol\":\"tcp\"}],\"action\":\"allow\"},"
		"{\"type\":\"cidr\",\"value\":\"10.1.2.3/8\",\"ports\":[],\"action\":\"deny\"},"
		"{\"type\":\"cidr\",\"value\":\"2001:db8::1\",\"action\":\"allow\"}],"
		"\"searchDomains\":[\".corp.example\"],"
		"\"sudoLockdown\":{\"enabled\":false}}";
	struct policy p, q;
	struct policy_error err;
	char *out;

	ck_assert_int_eq(policy_parse_json(&p, json, strlen(json), "cfg", &err), 0);
	ck_assert_uint_eq(p.n_rules, 3); /* the two github.com rules merged */
	ck_assert_str_eq(p.rules[0].value, "github.com");
	ck_assert_uint_eq(p.rules[0].n_ports, 2);
	ck_assert_str_eq(p.rules[1].value, "10.0.0.0/8");
	ck_assert_uint_eq(p.rules[1].prefixlen, 8);
	ck_assert_str_eq(p.rules[2].value, "2001:db8::1/128");
	ck_assert_uint_eq(p.rules[2].family, 6);
	ck_assert_uint_eq(p.n_search_domains, 1);
	/* the normalized form round-trips */
	out = policy_to_json(&p);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(policy_parse_json(&q, out, strlen(out), "normalized", &err), 0);
	ck_assert_uint_eq(q.n_rules, 3);
	ck_assert_uint_eq(q.rules[0].n_ports, 2);
	ck_assert_str_eq(q.rules[2].value, "2001:db8::1/128");
	free(out);
	policy_free(&p);
	policy_free(&q);
}
END_TEST

struct list_case {
	int type;
	const char *list;
	const char *expect; /* NULL = ok */
	size_t n_rules;
};

static const struct list_case list_cases[] = {
	{ POLICY_RULE_HOSTNAME, "a.test, b.test:443\nc.test:443;80", NULL, 3 },
	{ POLICY_RULE_HOSTNAME, ",,a.test,,\n\n", NULL, 1 },
	{ POLICY_RULE_HOSTNAME, "a.test:0", "port must be a number 1-65535", 0 },
	{ POLICY_RULE_HOSTNAME, "a.test:http", "port must be a number", 0 },
	{ POLICY_RULE_HOSTNAME, "a.test:443;", "empty port", 0 },
	{ POLICY_RULE_HOSTNAME, "a.test:", "empty port list", 0 },
	{ POLICY_RULE_HOSTNAME, "bad host", "invalid character", 0 },
	{ POLICY_RULE_HOSTNAME, "10.1.1.1:443", NULL, 1 }, /* an address becomes a CIDR rule */
	{ POLICY_RULE_CIDR, "10.0.0.0/8:443, [2001:db8::1]:53, 2001:db8::/32:443;80", NULL, 3 },
	{ POLICY_RULE_CIDR, "2001:db8::1", NULL, 1 },
	{ POLICY_RULE_CIDR, "2001:db8::1:443x", "not an IPv6 address", 0 },
	{ POLICY_RULE_CIDR, "[2001:db8::1", "missing ']'", 0 },
	{ POLICY_RULE_CIDR, "[2001:db8::1]443", "expected ':' after ']'", 0 },
	{ POLICY_RULE_CIDR, "example.com", "not an IP address or CIDR", 0 },
	{ POLICY_RULE_CIDR, ":443", "empty value", 0 },
};

START_TEST(test_lists)
{
	const struct list_case *c = &list_cases[_i];
	struct policy p;
	struct policy_error err = { "" };
	int ret;

	policy_init(&p);
	ret = policy_add_list(&p, c->type, CW_ACTION_ALLOW, c->list, "--allow-x", &err);
	if (c->expect) {
		ck_assert_msg(ret == -EINVAL, "accepted: %s", c->list);
		ck_assert_msg(strstr(err.msg, c->expect), "\"%s\" lacks \"%s\"", err.msg,
			      c->expect);
		ck_assert_msg(!strncmp(err.msg, "--allow-x: ", 11), "\"%s\" lacks the field",
			      err.msg);
	} else {
		ck_assert_msg(ret == 0, "%s: %s", c->list, err.msg);
		ck_assert_uint_eq(p.n_rules, c->n_rules);
	}
	policy_free(&p);
}
END_TEST

START_TEST(test_files)
{
	char path[] = "/tmp/cw-config-XXXXXX";
	struct policy p;
	struct policy_error err = { "" };
	char *big;
	size_t n = 17 * 1024 * 1024;
	int fd;

	ck_assert_int_eq(policy_load_file(&p, "/nonexistent/cw.json", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/cw.json: No such file"));
	ck_assert_int_eq(policy_load_file(&p, "/tmp", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	ck_assert_int_eq(write(fd, big, n), (ssize_t)n);
	close(fd);
	free(big);
	ck_assert_int_eq(policy_load_file(&p, path, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "larger than"));
	unlink(path);
}
END_TEST

START_TEST(test_upstream)
{
	static const char *const bad[] = { "",
					   "10.0.0.1:",
					   "10.0.0.1:0",
					   "10.0.0.1:65536",
					   "10.0.0.1:-1",
					   "10.0.0.1:x",
					   "127.0.0.53",
					   "0.0.0.0",
					   "255.255.255.255",
					   "224.0.0.251",
					   "dns.example",
					   "::1",
					   "10.0.0.1:53:53" };
	struct in_addr a;
	const char *why;
	uint16_t port;
	size_t i;

	ck_assert_int_eq(netaddr_parse_upstream("10.199.0.2", &a, &port, &why), 0);
	ck_assert_uint_eq(port, 53);
	ck_assert_uint_eq(ntohl(a.s_addr), 0x0ac70002);
	ck_assert_int_eq(netaddr_parse_upstream("10.199.0.2:5353", &a, &port, &why), 0);
	ck_assert_uint_eq(port, 5353);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(netaddr_parse_upstream(bad[i], &a, &port, &why) == -EINVAL,
			      "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("errors");

	tcase_add_loop_test(tc, test_bad_configs, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_good_config_canonical);
	tcase_add_loop_test(tc, test_lists, 0, sizeof(list_cases) / sizeof(list_cases[0]));
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_upstream);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
