// SPDX-License-Identifier: Apache-2.0
/* cargowall: command line (DESIGN.md §6). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../proto/maps.h"
#include "launcher.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cargowall <command> [options]\n"
		"\n"
		"commands:\n"
		"  start [policy options] [--interface IF]... [--cgroup DIR] [--dns-upstream IP[:PORT]]\n"
		"        [--audit-log FILE] [--state-dir DIR] [--bpffs DIR] [--foreground]\n"
		"        [--allow-private-answers] [--container-dns ADDR|none] [--verbose]\n"
		"        start the enforcer, dnsd and auditd; returns once enforcement is live\n"
		"  run [policy options] [--audit-log FILE] [--state-dir DIR] [--bpffs DIR]\n"
		"      [--dns-upstream IP[:PORT]] -- COMMAND [ARG...]\n"
		"        scoped mode: COMMAND and its descendants in a fresh cgroup with the policy,\n"
		"        nothing else on the host touched; summary on stderr; COMMAND's exit status\n"
		"  stop [--state-dir DIR]       detach everything, restore the host, flush the log\n"
		"  status [--state-dir DIR] [--json]\n"
		"  reload [--state-dir DIR] [--config FILE] [--allow-hosts LIST] [--allow-cidrs LIST]\n"
		"         [--deny-hosts LIST] [--deny-cidrs LIST]\n"
		"        apply a new policy to the running cargowall, atomically: built like start's\n"
		"        from these options and the CARGOWALL_* environment (without any, from the\n"
		"        sources start recorded, as SIGHUP does); a bad one changes nothing\n"
		"  summary [--audit-log FILE] [--format markdown|json]\n"
		"                               what was blocked and allowed, from the audit log\n"
		"  check-config FILE            validate a config.json and print the policy\n"
		"\n"
		"policy options:\n"
		"  --config FILE        CargoWall config.json\n"
		"  --mode enforce|audit enforce blocks; audit only logs what would be blocked\n"
		"                       (default: enforce)\n"
		"  --allow-hosts LIST   hostnames: host[:port[;port...]], comma or newline separated\n"
		"  --allow-cidrs LIST   a.b.c.d/n[:port...], [v6]:port, v6/n[:port...]\n"
		"  --deny-hosts LIST    --deny-cidrs LIST\n"
		"  --allow-raw-sockets  let the hooked cgroup open raw IPv4/IPv6 sockets\n"
		"  --allow-private-answers\n"
		"                       learn private addresses (10/8, 172.16/12, 192.168/16,\n"
		"                       100.64/10, fc00::/7) from DNS answers; refused by default\n"
		"\n"
		"The rules of --config, of CARGOWALL_ALLOWED_HOSTS, CARGOWALL_ALLOWED_CIDRS,\n"
		"CARGOWALL_BLOCKED_HOSTS, CARGOWALL_BLOCKED_CIDRS and of the list options are merged.\n"
		"CARGOWALL_DEFAULT_ACTION (allow|deny) overrides the file's defaultAction; without\n"
		"either the default is deny. CARGOWALL_SEARCH_DOMAINS adds search domains.\n"
		"\n"
		"defaults: --interface: the interfaces of the default routes; --cgroup: the cgroup v2\n"
		"root; --dns-upstream: the first non-loopback nameserver of /etc/resolv.conf (or\n"
		"systemd-resolved's); --container-dns (where containers' DNS reaches dnsd; none:\n"
		"refused): docker0's IPv4 address when docker0 exists;\n"
		"--state-dir " CW_STATE_DIR_DEFAULT "; --bpffs " CW_BPFFS_DEFAULT ";\n"
		"--audit-log " CW_AUDIT_LOG_DEFAULT "\n");
}

const char *const src_env_names[SRC_ENV_MAX] = {
	"CARGOWALL_DEFAULT_ACTION", "CARGOWALL_ALLOWED_HOSTS", "CARGOWALL_ALLOWED_CIDRS",
	"CARGOWALL_BLOCKED_HOSTS",  "CARGOWALL_BLOCKED_CIDRS", "CARGOWALL_SEARCH_DOMAINS",
};

void src_free(struct policy_src *s)
{
	size_t i;

	free(s->config);
	for (i = 0; i < SRC_LIST_MAX; i++)
		free(s->list[i]);
	for (i = 0; i < SRC_ENV_MAX; i++)
		free(s->env[i]);
	memset(s, 0, sizeof(*s));
}

static int dup_opt(char **out, const char *v)
{
	*out = NULL;
	if (!v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

int src_from_opts(const struct launch_opts *o, struct policy_src *s)
{
	const char *lists[SRC_LIST_MAX] = { o->allow_hosts, o->allow_cidrs, o->deny_hosts,
					    o->deny_cidrs };
	int err;
	size_t i;

	memset(s, 0, sizeof(*s));
	err = dup_opt(&s->config, o->config);
	for (i = 0; !err && i < SRC_LIST_MAX; i++)
		err = dup_opt(&s->list[i], lists[i]);
	for (i = 0; !err && i < SRC_ENV_MAX; i++)
		err = dup_opt(&s->env[i], getenv(src_env_names[i]));
	if (err)
		src_free(s);
	return err;
}

int src_build(const struct policy_src *s, struct policy *p, struct policy_error *err)
{
	static const struct {
		enum policy_rule_type type;
		uint8_t action;
	} env_lists[] = {
		[SRC_ENV_ALLOWED_HOSTS] = { POLICY_RULE_HOSTNAME, CW_ACTION_ALLOW },
		[SRC_ENV_ALLOWED_CIDRS] = { POLICY_RULE_CIDR, CW_ACTION_ALLOW },
		[SRC_ENV_BLOCKED_HOSTS] = { POLICY_RULE_HOSTNAME, CW_ACTION_DENY },
		[SRC_ENV_BLOCKED_CIDRS] = { POLICY_RULE_CIDR, CW_ACTION_DENY },
	};
	static const struct {
		enum policy_rule_type type;
		uint8_t action;
		const char *opt;
	} lists[SRC_LIST_MAX] = {
		{ POLICY_RULE_HOSTNAME, CW_ACTION_ALLOW, "--allow-hosts" },
		{ POLICY_RULE_CIDR, CW_ACTION_ALLOW, "--allow-cidrs" },
		{ POLICY_RULE_HOSTNAME, CW_ACTION_DENY, "--deny-hosts" },
		{ POLICY_RULE_CIDR, CW_ACTION_DENY, "--deny-cidrs" },
	};
	const char *v;
	int ret = 0;
	size_t i;

	err->msg[0] = '\0';
	policy_init(p);
	if (s->config)
		ret = policy_load_file(p, s->config, err);
	v = s->env[SRC_ENV_DEFAULT_ACTION];
	if (!ret && v) {
		if (!strcmp(v, "allow"))
			p->default_action = CW_ACTION_ALLOW;
		else if (!strcmp(v, "deny"))
			p->default_action = CW_ACTION_DENY;
		else
			ret = -EINVAL, snprintf(err->msg, sizeof(err->msg),
						"CARGOWALL_DEFAULT_ACTION: \"%s\": must be "
						"\"allow\" or \"deny\"",
						v);
	}
	for (i = SRC_ENV_ALLOWED_HOSTS; !ret && i <= SRC_ENV_BLOCKED_CIDRS; i++)
		if (s->env[i])
			ret = policy_add_list(p, env_lists[i].type, env_lists[i].action, s->env[i],
					      src_env_names[i], err);
	v = s->env[SRC_ENV_SEARCH_DOMAINS];
	if (!ret && v) {
		char *copy = strdup(v), *save = NULL, *tok;

		if (!copy)
			ret = -ENOMEM, snprintf(err->msg, sizeof(err->msg), "out of memory");
		for (tok = copy ? strtok_r(copy, ", \n", &save) : NULL; tok && !ret;
		     tok = strtok_r(NULL, ", \n", &save))
			ret = policy_add_search_domain(p, tok, "CARGOWALL_SEARCH_DOMAINS", err);
		free(copy);
	}
	for (i = 0; !ret && i < SRC_LIST_MAX; i++)
		if (s->list[i])
			ret = policy_add_list(p, lists[i].type, lists[i].action, s->list[i],
					      lists[i].opt, err);
	if (ret)
		policy_free(p);
	return ret;
}

int launch_build_policy(const struct launch_opts *o, struct policy *p)
{
	struct policy_error err = { "" };
	struct policy_src s;
	int ret = src_from_opts(o, &s);

	if (ret) {
		fprintf(stderr, "cargowall: out of memory\n");
		policy_init(p);
		return ret;
	}
	ret = src_build(&s, p, &err);
	src_free(&s);
	if (ret)
		fprintf(stderr, "cargowall: bad policy: %s\n", err.msg);
	return ret;
}

int cmd_check_config(int argc, char **argv)
{
	struct launch_opts o = { 0 };
	struct policy p;
	char *json;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: cargowall check-config FILE\n");
		return 2;
	}
	o.config = argv[1];
	if (launch_build_policy(&o, &p))
		return 1;
	json = policy_to_json(&p);
	printf("%s: ok: %zu rules, default %s\n%s\n", argv[1], p.n_rules,
	       p.default_action == CW_ACTION_ALLOW ? "allow" : "deny", json ? json : "");
	free(json);
	policy_free(&p);
	return 0;
}

int main(int argc, char **argv)
{
	log_procinit("cargowall");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "start"))
		return cmd_start(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stop"))
		return cmd_stop(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "reload"))
		return cmd_reload(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "summary"))
		return cmd_summary(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check-config"))
		return cmd_check_config(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "cargowall: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
