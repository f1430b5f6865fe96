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
		"        [--allow-private-answers] [--verbose]\n"
		"        start the enforcer, dnsd and auditd; returns once enforcement is live\n"
		"  run [policy options] [--audit-log FILE] [--state-dir DIR] [--bpffs DIR]\n"
		"      [--dns-upstream IP[:PORT]] -- COMMAND [ARG...]\n"
		"        scoped mode: COMMAND and its descendants in a fresh cgroup with the policy,\n"
		"        nothing else on the host touched; summary on stderr; COMMAND's exit status\n"
		"  stop [--state-dir DIR]       detach everything, restore the host, flush the log\n"
		"  status [--state-dir DIR] [--json]\n"
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
		"systemd-resolved's); --state-dir " CW_STATE_DIR_DEFAULT
		"; --bpffs " CW_BPFFS_DEFAULT ";\n"
		"--audit-log " CW_AUDIT_LOG_DEFAULT "\n");
}

static int add_env_list(struct policy *p, const char *var, enum policy_rule_type type,
			uint8_t action, struct policy_error *err)
{
	const char *v = getenv(var);

	return v ? policy_add_list(p, type, action, v, var, err) : 0;
}

int launch_build_policy(const struct launch_opts *o, struct policy *p)
{
	struct policy_error err = { "" };
	const char *v;
	int ret = 0;

	policy_init(p);
	if (o->config)
		ret = policy_load_file(p, o->config, &err);
	v = getenv("CARGOWALL_DEFAULT_ACTION");
	if (!ret && v) {
		if (!strcmp(v, "allow"))
			p->default_action = CW_ACTION_ALLOW;
		else if (!strcmp(v, "deny"))
			p->default_action = CW_ACTION_DENY;
		else
			ret = -EINVAL, snprintf(err.msg, sizeof(err.msg),
						"CARGOWALL_DEFAULT_ACTION: \"%s\": must be "
						"\"allow\" or \"deny\"",
						v);
	}
	if (!ret)
		ret = add_env_list(p, "CARGOWALL_ALLOWED_HOSTS", POLICY_RULE_HOSTNAME,
				   CW_ACTION_ALLOW, &err);
	if (!ret)
		ret = add_env_list(p, "CARGOWALL_ALLOWED_CIDRS", POLICY_RULE_CIDR, CW_ACTION_ALLOW,
				   &err);
	if (!ret)
		ret = add_env_list(p, "CARGOWALL_BLOCKED_HOSTS", POLICY_RULE_HOSTNAME,
				   CW_ACTION_DENY, &err);
	if (!ret)
		ret = add_env_list(p, "CARGOWALL_BLOCKED_CIDRS", POLICY_RULE_CIDR, CW_ACTION_DENY,
				   &err);
	v = getenv("CARGOWALL_SEARCH_DOMAINS");
	if (!ret && v) {
		char *copy = strdup(v), *save = NULL, *tok;

		for (tok = strtok_r(copy, ", \n", &save); tok && !ret;
		     tok = strtok_r(NULL, ", \n", &save))
			ret = policy_add_search_domain(p, tok, "CARGOWALL_SEARCH_DOMAINS", &err);
		free(copy);
	}
	if (!ret && o->allow_hosts)
		ret = policy_add_list(p, POLICY_RULE_HOSTNAME, CW_ACTION_ALLOW, o->allow_hosts,
				      "--allow-hosts", &err);
	if (!ret && o->allow_cidrs)
		ret = policy_add_list(p, POLICY_RULE_CIDR, CW_ACTION_ALLOW, o->allow_cidrs,
				      "--allow-cidrs", &err);
	if (!ret && o->deny_hosts)
		ret = policy_add_list(p, POLICY_RULE_HOSTNAME, CW_ACTION_DENY, o->deny_hosts,
				      "--deny-hosts", &err);
	if (!ret && o->deny_cidrs)
		ret = policy_add_list(p, POLICY_RULE_CIDR, CW_ACTION_DENY, o->deny_cidrs,
				      "--deny-cidrs", &err);
	if (ret) {
		fprintf(stderr, "cargowall: bad policy: %s\n", err.msg);
		policy_free(p);
	}
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
