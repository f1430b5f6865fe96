// SPDX-License-Identifier: Apache-2.0
/* cargowall summary: what a job did, from its NDJSON audit log, as Markdown (for a GitHub job
 * summary) or JSON. Lines that are not JSON objects are counted, never fatal.
 *
 * In audit mode it also suggests an allowlist: every destination that would have been denied,
 * by the DNS names that resolved to its address in the same log (dns_* records' answers) rather
 * than as a bare address where a name is known, with the ports seen; ready to paste into the
 * action's `allowed-hosts` / `allowed-cidrs` inputs or into a config file's rules. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../proto/limits.h"
#include "launcher.h"

struct tally {
	json_t *blocked; /* "dest|process|step" -> {destination, process, count, kind, step} */
	long max_step;	 /* highest step_ordinal seen; 0: no step attribution */
	json_t *steps;	 /* "N" -> {pid, process} of each step_boundary */
	json_t *allowed_hosts; /* hostname -> count */
	json_t *allowed_dests; /* ip:port -> count */
	long n_conn_blocked, n_conn_allowed, n_dns_blocked, n_dns_allowed, n_would_deny;
	long n_lost, n_bad_lines;
	long n_no_packet; /* UDP connects refused, nothing sent (getaddrinfo's sorting probes) */
	json_t *ip_names; /* address -> {name: true}: what the log's DNS answers said */
	json_t *wd_dests; /* "ip|port|proto" -> {ip, port, protocol}: would-be-denied connections */
	json_t *wd_names; /* name -> true: would-be-denied DNS queries */
	const char *mode;
	char mode_buf[16];
};

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A record's `count` (identical events it stands for), 1 when absent. */
static long rec_count(json_t *o)
{
	json_int_t n = json_integer_value(json_object_get(o, "count"));

	return n > 0 ? (long)n : 1;
}

static void bump(json_t *obj, const char *key, json_t *proto, long n)
{
	json_t *e = json_object_get(obj, key);

	if (!e) {
		json_object_set_new(obj, key, proto);
		e = proto;
	} else {
		json_decref(proto);
	}
	json_object_set_new(e, "count",
			    json_integer(json_integer_value(json_object_get(e, "count")) + n));
}

/* Every address a DNS record answered, under its query name. */
static void learn_answers(struct tally *t, json_t *o)
{
	const char *q = str(o, "query");
	json_t *ans = json_object_get(o, "answers"), *a, *names;
	size_t i;

	if (!*q)
		return;
	json_array_foreach (ans, i, a) {
		if (!json_is_string(a))
			continue;
		names = json_object_get(t->ip_names, json_string_value(a));
		if (!names) {
			names = json_object();
			json_object_set_new(t->ip_names, json_string_value(a), names);
		}
		json_object_set_new(names, q, json_true());
	}
}

/* The first name the log's DNS answers gave for an address, or "". */
static const char *name_of(const struct tally *t, const char *ip)
{
	void *it = json_object_iter(json_object_get(t->ip_names, ip));

	return it ? json_object_iter_key(it) : "";
}

static void tally_line(struct tally *t, json_t *o)
{
	const char *type = str(o, "event_type");
	bool would = json_is_true(json_object_get(o, "would_deny"));
	long step = (long)json_integer_value(json_object_get(o, "step_ordinal"));
	char key[1024], dest[600];

	if (would)
		t->n_would_deny++;
	if (!strncmp(type, "dns_", 4))
		learn_answers(t, o);
	if (step > t->max_step)
		t->max_step = step;
	if (!strcmp(type, "step_boundary")) {
		snprintf(key, sizeof(key), "%ld", step);
		json_object_set_new(t->steps, key,
				    json_pack("{s:I,s:s}", "pid",
					      json_integer_value(json_object_get(o, "pid")),
					      "process", str(o, "process")));
	} else if (!strcmp(type, "lifecycle") && *str(o, "mode")) {
		snprintf(t->mode_buf, sizeof(t->mode_buf), "%s", str(o, "mode"));
		t->mode = t->mode_buf;
	} else if (!strcmp(type, "events_lost")) {
		t->n_lost += (long)json_integer_value(json_object_get(o, "count"));
	} else if (!strcmp(type, "connection_blocked") &&
		   json_is_true(json_object_get(o, "no_packet"))) {
		/* Not traffic: glibc connects a UDP socket to each answer only to sort them. */
		t->n_no_packet++;
	} else if (!strcmp(type, "connection_blocked")) {
		const char *host = *str(o, "dst_hostname") ? str(o, "dst_hostname") :
							     name_of(t, str(o, "dst_ip"));

		t->n_conn_blocked += rec_count(o);
		if (would) {
			snprintf(key, sizeof(key), "%s|%lld|%s", str(o, "dst_ip"),
				 (long long)json_integer_value(json_object_get(o, "dst_port")),
				 str(o, "protocol"));
			json_object_set_new(
				t->wd_dests, key,
				json_pack("{s:s,s:I,s:s}", "ip", str(o, "dst_ip"), "port",
					  json_integer_value(json_object_get(o, "dst_port")),
					  "protocol", str(o, "protocol")));
		}
		/* [v6]:port, so an IPv6 address and its port cannot run together */
		snprintf(dest, sizeof(dest), "%s%s%s%s%s:%lld", host, *host ? " " : "",
			 strchr(str(o, "dst_ip"), ':') ? "[" : "", str(o, "dst_ip"),
			 strchr(str(o, "dst_ip"), ':') ? "]" : "",
			 (long long)json_integer_value(json_object_get(o, "dst_port")));
		snprintf(key, sizeof(key), "%s|%s|%ld", dest, str(o, "process"), step);
		bump(t->blocked, key,
		     json_pack("{s:s,s:s,s:s,s:s,s:i,s:I}", "destination", dest, "kind",
			       "connection", "protocol", str(o, "protocol"), "process",
			       str(o, "process"), "count", 0, "step", (json_int_t)step),
		     rec_count(o));
	} else if (!strcmp(type, "dns_blocked")) {
		t->n_dns_blocked += rec_count(o);
		if (would && *str(o, "query"))
			json_object_set_new(t->wd_names, str(o, "query"), json_true());
		snprintf(key, sizeof(key), "%s|dns|%ld", str(o, "query"), step);
		bump(t->blocked, key,
		     json_pack("{s:s,s:s,s:s,s:s,s:i,s:I}", "destination", str(o, "query"), "kind",
			       "dns", "protocol", "DNS", "process", str(o, "process"), "count", 0,
			       "step", (json_int_t)step),
		     rec_count(o));
	} else if (!strcmp(type, "dns_allowed")) {
		t->n_dns_allowed += rec_count(o);
		bump(t->allowed_hosts, str(o, "query"), json_pack("{s:i}", "count", 0),
		     rec_count(o));
	} else if (!strcmp(type, "connection_allowed")) {
		t->n_conn_allowed += rec_count(o);
		snprintf(key, sizeof(key), "%s:%lld", str(o, "dst_ip"),
			 (long long)json_integer_value(json_object_get(o, "dst_port")));
		bump(t->allowed_dests, key, json_pack("{s:i}", "count", 0), rec_count(o));
	}
}

/* ---- the suggested allowlist ------------------------------------------------------------- */

/* set: name or address -> {"any": bool, "ports": {"443": "tcp"|"udp"|"all"}}. A destination
 * without a port (ICMP, other protocols) or with more ports than a rule holds allows any port. */
static void suggest_add(json_t *set, const char *key, long long port, const char *protocol)
{
	/* Only what a policy can hold goes in: a name from a hostile DNS answer with other bytes
	 * could close the code block it is pasted from (it still shows in the blocked table). */
	static const char plain[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:";
	json_t *e = json_object_get(set, key), *ports, *old;
	const char *proto = !strcmp(protocol, "TCP") ? "tcp" :
			    !strcmp(protocol, "UDP") ? "udp" :
						       NULL;
	char pk[16];

	if (!*key || strspn(key, plain) != strlen(key))
		return;
	if (!e) {
		e = json_pack("{s:b,s:o}", "any", 0, "ports", json_object());
		json_object_set_new(set, key, e);
	}
	if (port <= 0 || port > 65535 || !proto) {
		json_object_set_new(e, "any", json_true());
		return;
	}
	ports = json_object_get(e, "ports");
	snprintf(pk, sizeof(pk), "%lld", port);
	old = json_object_get(ports, pk);
	if (old && strcmp(json_string_value(old), proto))
		proto = "all";
	json_object_set_new(ports, pk, json_string(proto));
	if (json_object_size(ports) > CW_PORTS_MAX)
		json_object_set_new(e, "any", json_true());
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_port(const void *a, const void *b)
{
	return atoi(*(const char *const *)a) - atoi(*(const char *const *)b);
}

/* The keys of obj, sorted (by cmp): output that does not depend on the log's order. */
static const char **sorted_keys(json_t *obj, int (*cmp)(const void *, const void *))
{
	const char **k = calloc(json_object_size(obj) + 1, sizeof(*k)), *key;
	size_t n = 0;
	json_t *v;

	if (!k)
		return NULL;
	json_object_foreach (obj, key, v)
		k[n++] = key;
	qsort(k, n, sizeof(*k), cmp);
	return k;
}

/* One set (hostnames or addresses) to list entries ("host:443;80", "10.0.0.1", "[v6]:53") and
 * config rules. */
static void suggest_emit(json_t *set, bool cidr, json_t *list, json_t *rules)
{
	const char **names = sorted_keys(set, cmp_str), **ports;
	char entry[1024], val[600];
	size_t i, j, off;

	for (i = 0; names && names[i]; i++) {
		json_t *e = json_object_get(set, names[i]), *pj = json_object_get(e, "ports");
		bool any = json_is_true(json_object_get(e, "any")) || !json_object_size(pj);
		bool v6 = cidr && strchr(names[i], ':');
		json_t *rule, *rports;

		snprintf(val, sizeof(val), "%s%s", names[i], cidr ? (v6 ? "/128" : "/32") : "");
		rule = json_pack("{s:s,s:s}", "type", cidr ? "cidr" : "hostname", "value", val);
		off = (size_t)snprintf(entry, sizeof(entry), v6 && !any ? "[%s]" : "%s", names[i]);
		ports = any ? NULL : sorted_keys(pj, cmp_port);
		if (ports) {
			rports = json_array();
			for (j = 0; ports[j]; j++) {
				if (off < sizeof(entry))
					off += (size_t)snprintf(entry + off, sizeof(entry) - off,
								"%c%s", j ? ';' : ':', ports[j]);
				json_array_append_new(
					rports,
					json_pack(
						"{s:i,s:s}", "port", atoi(ports[j]), "protocol",
						json_string_value(json_object_get(pj, ports[j]))));
			}
			json_object_set_new(rule, "ports", rports);
			free(ports);
		}
		json_object_set_new(rule, "action", json_string("allow"));
		json_array_append_new(list, json_string(entry));
		json_array_append_new(rules, rule);
	}
	free(names);
}

/* {"allowed_hosts": [...], "allowed_cidrs": [...], "config": {"rules": [...]}}: what would have
 * been denied, by name where the log's DNS answers gave one for the address. */
static json_t *suggestion(const struct tally *t)
{
	json_t *hosts = json_object(), *cidrs = json_object(), *v, *names, *n, *rules;
	json_t *out = json_pack("{s:[],s:[],s:{s:[]}}", "allowed_hosts", "allowed_cidrs", "config",
				"rules");
	const char *key, *name;

	json_object_foreach (t->wd_dests, key, v) {
		names = json_object_get(t->ip_names, str(v, "ip"));
		if (json_object_size(names)) {
			json_object_foreach (names, name, n)
				suggest_add(hosts, name,
					    json_integer_value(json_object_get(v, "port")),
					    str(v, "protocol"));
		} else {
			suggest_add(cidrs, str(v, "ip"),
				    json_integer_value(json_object_get(v, "port")),
				    str(v, "protocol"));
		}
	}
	/* a name only queried (no connection seen): the name itself, any port */
	json_object_foreach (t->wd_names, key, v)
		if (!json_object_get(hosts, key))
			suggest_add(hosts, key, 0, "");
	rules = json_object_get(json_object_get(out, "config"), "rules");
	suggest_emit(hosts, false, json_object_get(out, "allowed_hosts"), rules);
	suggest_emit(cidrs, true, json_object_get(out, "allowed_cidrs"), rules);
	json_decref(hosts);
	json_decref(cidrs);
	return out;
}

/* A table cell or list item from bytes a hostile name chose: no '|' or newline may end the
 * cell, no backtick or '<' may start markup. */
static void md_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\x%02x", ch);
		else if (strchr("|\\`<>*_[]", ch))
			fprintf(out, "\\%c", ch);
		else
			fputc(ch, out);
	}
}

static void print_suggestion_md(FILE *out, json_t *sug)
{
	json_t *hosts = json_object_get(sug, "allowed_hosts"), *v;
	json_t *cidrs = json_object_get(sug, "allowed_cidrs");
	char *rules;
	size_t i;

	fprintf(out, "\n### Suggested allowlist\n\n");
	if (!json_array_size(hosts) && !json_array_size(cidrs)) {
		fprintf(out, "Nothing would have been blocked.\n");
		return;
	}
	fprintf(out, "What would have been blocked, by hostname where the job's DNS answers "
		     "named the address. Review it, then add it to the action's inputs:\n\n"
		     "```yaml\n");
	if (json_array_size(hosts)) {
		fprintf(out, "allowed-hosts: |\n");
		json_array_foreach (hosts, i, v)
			fprintf(out, "  %s\n", json_string_value(v));
	}
	if (json_array_size(cidrs)) {
		fprintf(out, "allowed-cidrs: |\n");
		json_array_foreach (cidrs, i, v)
			fprintf(out, "  %s\n", json_string_value(v));
	}
	fprintf(out, "```\n\nor to the `rules` of a config file (`config-file`):\n\n```json\n");
	rules = json_dumps(json_object_get(json_object_get(sug, "config"), "rules"),
			   JSON_INDENT(2) | JSON_ENSURE_ASCII);
	fprintf(out, "%s\n```\n", rules ? rules : "[]");
	free(rules);
}

static void print_blocked_rows(FILE *out, const struct tally *t, long step)
{
	const char *key;
	json_t *v;

	fprintf(out, "| destination | type | process | count |\n|---|---|---|---|\n");
	json_object_foreach (t->blocked, key, v) {
		if (step >= 0 && json_integer_value(json_object_get(v, "step")) != step)
			continue;
		fprintf(out, "| ");
		md_text(out, str(v, "destination"));
		fprintf(out, " | %s | ", str(v, "kind"));
		md_text(out, *str(v, "process") ? str(v, "process") : "-");
		fprintf(out, " | %lld |\n",
			(long long)json_integer_value(json_object_get(v, "count")));
	}
}

/* One table, or with step attribution one per workflow step (and one for what ran outside
 * any step), in step order. */
static void print_blocked_md(FILE *out, const struct tally *t, bool audit)
{
	const char *what = audit ? "Would be blocked" : "Blocked";
	char key[32];
	long step;
	json_t *v;

	if (!t->max_step) {
		fprintf(out, "\n### %s\n\n", what);
		print_blocked_rows(out, t, -1);
		return;
	}
	for (step = 0; step <= t->max_step; step++) {
		bool any = false;
		const char *k;

		json_object_foreach (t->blocked, k, v)
			any |= json_integer_value(json_object_get(v, "step")) == step;
		if (!any)
			continue;
		snprintf(key, sizeof(key), "%ld", step);
		v = json_object_get(t->steps, key);
		if (!step)
			fprintf(out, "\n### %s outside any step\n\n", what);
		else if (v)
			fprintf(out, "\n### %s in step %ld (pid %lld)\n\n", what, step,
				(long long)json_integer_value(json_object_get(v, "pid")));
		else
			fprintf(out, "\n### %s in step %ld\n\n", what, step);
		print_blocked_rows(out, t, step);
	}
}

static void print_markdown(FILE *out, const struct tally *t)
{
	bool audit = t->mode && !strcmp(t->mode, "audit");
	size_t uniq_conn = 0, uniq_dns = 0;
	const char *key;
	json_t *v;

	json_object_foreach (t->blocked, key, v) {
		if (!strcmp(str(v, "kind"), "dns"))
			uniq_dns++;
		else
			uniq_conn++;
	}

	fprintf(out, "## CargoWall — %s\n\n", audit ? "Audit Mode - No Blocking" : "Enforce Mode");
	fprintf(out, "| | unique | total |\n|---|---|---|\n");
	fprintf(out, "| %s | %zu | %ld |\n",
		audit ? "Connections that would be denied" : "Connections blocked", uniq_conn,
		t->n_conn_blocked);
	fprintf(out, "| DNS queries %s | %zu | %ld |\n", audit ? "that would be denied" : "blocked",
		uniq_dns, t->n_dns_blocked);
	fprintf(out, "| Connections allowed | %zu | %ld |\n", json_object_size(t->allowed_dests),
		t->n_conn_allowed);
	fprintf(out, "| DNS queries allowed | %zu | %ld |\n", json_object_size(t->allowed_hosts),
		t->n_dns_allowed);
	if (t->n_no_packet)
		fprintf(out, "| UDP connects refused, nothing sent | | %ld |\n", t->n_no_packet);
	if (t->n_lost)
		fprintf(out, "| Events lost | | %ld |\n", t->n_lost);
	if (t->n_bad_lines)
		fprintf(out, "| Unreadable log lines | | %ld |\n", t->n_bad_lines);
	if (json_object_size(t->blocked))
		print_blocked_md(out, t, audit);
	if (json_object_size(t->allowed_hosts)) {
		fprintf(out, "\n### Allowed hostnames\n\n");
		json_object_foreach (t->allowed_hosts, key, v) {
			fprintf(out, "- ");
			md_text(out, key);
			fprintf(out, " (%lld)\n",
				(long long)json_integer_value(json_object_get(v, "count")));
		}
	}
	if (audit) {
		json_t *sug = suggestion(t);

		print_suggestion_md(out, sug);
		json_decref(sug);
	}
}

static int print_json(FILE *out, const struct tally *t)
{
	json_t *blocked = json_array(), *hosts = json_array(), *o, *v;
	const char *key;
	char *s;

	json_object_foreach (t->blocked, key, v)
		json_array_append(blocked, v);
	json_object_foreach (t->allowed_hosts, key, v)
		json_array_append_new(hosts, json_string(key));
	o = json_pack("{s:s,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:o,s:o,s:o,s:o}", "mode",
		      t->mode ? t->mode : "unknown", "totals", "connections_blocked",
		      (json_int_t)t->n_conn_blocked, "connections_allowed",
		      (json_int_t)t->n_conn_allowed, "dns_blocked", (json_int_t)t->n_dns_blocked,
		      "dns_allowed", (json_int_t)t->n_dns_allowed, "udp_connects_refused",
		      (json_int_t)t->n_no_packet, "events_lost", (json_int_t)t->n_lost,
		      "unreadable_lines", (json_int_t)t->n_bad_lines, "blocked", blocked,
		      "allowed_hostnames", hosts, "steps", json_incref(t->steps),
		      "suggested_allowlist",
		      t->mode && !strcmp(t->mode, "audit") ? suggestion(t) : json_null());
	s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (!s)
		return 1;
	fprintf(out, "%s\n", s);
	free(s);
	return 0;
}

int summary_write(FILE *out, const char *path, long offset, const char *format)
{
	struct tally t = { 0 };
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int ret = 0;

	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "cargowall: summary: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (offset > 0 && fseek(f, offset, SEEK_SET) < 0) {
		fprintf(stderr, "cargowall: summary: %s: seek: %s\n", path, strerror(errno));
		fclose(f);
		return 1;
	}
	t.blocked = json_object();
	t.steps = json_object();
	t.allowed_hosts = json_object();
	t.allowed_dests = json_object();
	t.ip_names = json_object();
	t.wd_dests = json_object();
	t.wd_names = json_object();
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);

		if (json_is_object(o))
			tally_line(&t, o);
		else
			t.n_bad_lines++;
		json_decref(o);
	}
	free(line);
	fclose(f);
	if (!strcmp(format, "json"))
		ret = print_json(out, &t);
	else
		print_markdown(out, &t);
	fflush(out);
	json_decref(t.blocked);
	json_decref(t.steps);
	json_decref(t.allowed_hosts);
	json_decref(t.allowed_dests);
	json_decref(t.ip_names);
	json_decref(t.wd_dests);
	json_decref(t.wd_names);
	return ret;
}

int cmd_summary(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "audit-log", required_argument, NULL, 'l' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CW_AUDIT_LOG_DEFAULT, *format = "markdown";
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'l') {
			path = optarg;
		} else if (c == 'f') {
			format = optarg;
		} else {
			fprintf(stderr, "usage: cargowall summary [--audit-log FILE] "
					"[--format markdown|json]\n");
			return 2;
		}
	}
	if (optind != argc || (strcmp(format, "markdown") && strcmp(format, "json"))) {
		fprintf(stderr, "cargowall: summary: --format must be markdown or json\n");
		return 2;
	}
	return summary_write(stdout, path, 0, format);
}
