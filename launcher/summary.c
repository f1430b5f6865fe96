// SPDX-License-Identifier: Apache-2.0
/* cargowall summary: what a job did, from its NDJSON audit log, as Markdown (for a GitHub job
 * summary) or JSON. Lines that are not JSON objects are counted, never fatal. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "launcher.h"

struct tally {
	json_t *blocked;       /* "dest|process" -> {destination, process, count, kind} */
	json_t *allowed_hosts; /* hostname -> count */
	json_t *allowed_dests; /* ip:port -> count */
	long n_conn_blocked, n_conn_allowed, n_dns_blocked, n_dns_allowed, n_would_deny;
	long n_lost, n_bad_lines;
	long n_no_packet; /* UDP connects refused, nothing sent (getaddrinfo's sorting probes) */
	const char *mode;
	char mode_buf[16];
};

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void bump(json_t *obj, const char *key, json_t *proto)
{
	json_t *e = json_object_get(obj, key);

	if (!e) {
		json_object_set_new(obj, key, proto);
		e = proto;
	} else {
		json_decref(proto);
	}
	json_object_set_new(e, "count",
			    json_integer(json_integer_value(json_object_get(e, "count")) + 1));
}

static void tally_line(struct tally *t, json_t *o)
{
	const char *type = str(o, "event_type");
	bool would = json_is_true(json_object_get(o, "would_deny"));
	char key[1024], dest[600];

	if (would)
		t->n_would_deny++;
	if (!strcmp(type, "lifecycle") && *str(o, "mode")) {
		snprintf(t->mode_buf, sizeof(t->mode_buf), "%s", str(o, "mode"));
		t->mode = t->mode_buf;
	} else if (!strcmp(type, "events_lost")) {
		t->n_lost += (long)json_integer_value(json_object_get(o, "count"));
	} else if (!strcmp(type, "connection_blocked") &&
		   json_is_true(json_object_get(o, "no_packet"))) {
		/* Not traffic: glibc connects a UDP socket to each answer only to sort them. */
		t->n_no_packet++;
	} else if (!strcmp(type, "connection_blocked")) {
		t->n_conn_blocked++;
		/* [v6]:port, so an IPv6 address and its port cannot run together */
		snprintf(dest, sizeof(dest), "%s%s%s%s%s:%lld", str(o, "dst_hostname"),
			 *str(o, "dst_hostname") ? " " : "",
			 strchr(str(o, "dst_ip"), ':') ? "[" : "", str(o, "dst_ip"),
			 strchr(str(o, "dst_ip"), ':') ? "]" : "",
			 (long long)json_integer_value(json_object_get(o, "dst_port")));
		snprintf(key, sizeof(key), "%s|%s", dest, str(o, "process"));
		bump(t->blocked, key,
		     json_pack("{s:s,s:s,s:s,s:s,s:i}", "destination", dest, "kind", "connection",
			       "protocol", str(o, "protocol"), "process", str(o, "process"),
			       "count", 0));
	} else if (!strcmp(type, "dns_blocked")) {
		t->n_dns_blocked++;
		snprintf(key, sizeof(key), "%s|dns", str(o, "query"));
		bump(t->blocked, key,
		     json_pack("{s:s,s:s,s:s,s:s,s:i}", "destination", str(o, "query"), "kind",
			       "dns", "protocol", "DNS", "process", str(o, "process"), "count", 0));
	} else if (!strcmp(type, "dns_allowed")) {
		t->n_dns_allowed++;
		bump(t->allowed_hosts, str(o, "query"), json_pack("{s:i}", "count", 0));
	} else if (!strcmp(type, "connection_allowed")) {
		t->n_conn_allowed++;
		snprintf(key, sizeof(key), "%s:%lld", str(o, "dst_ip"),
			 (long long)json_integer_value(json_object_get(o, "dst_port")));
		bump(t->allowed_dests, key, json_pack("{s:i}", "count", 0));
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
	if (json_object_size(t->blocked)) {
		fprintf(out,
			"\n### %s\n\n| destination | type | process | count |\n|---|---|---|---|\n",
			audit ? "Would be blocked" : "Blocked");
		json_object_foreach (t->blocked, key, v)
			fprintf(out, "| %s | %s | %s | %lld |\n", str(v, "destination"),
				str(v, "kind"), *str(v, "process") ? str(v, "process") : "-",
				(long long)json_integer_value(json_object_get(v, "count")));
	}
	if (json_object_size(t->allowed_hosts)) {
		fprintf(out, "\n### Allowed hostnames\n\n");
		json_object_foreach (t->allowed_hosts, key, v)
			fprintf(out, "- %s (%lld)\n", key,
				(long long)json_integer_value(json_object_get(v, "count")));
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
	o = json_pack("{s:s,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:o,s:o}", "mode",
		      t->mode ? t->mode : "unknown", "totals", "connections_blocked",
		      (json_int_t)t->n_conn_blocked, "connections_allowed",
		      (json_int_t)t->n_conn_allowed, "dns_blocked", (json_int_t)t->n_dns_blocked,
		      "dns_allowed", (json_int_t)t->n_dns_allowed, "udp_connects_refused",
		      (json_int_t)t->n_no_packet, "events_lost", (json_int_t)t->n_lost,
		      "unreadable_lines", (json_int_t)t->n_bad_lines, "blocked", blocked,
		      "allowed_hostnames", hosts);
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
	t.allowed_hosts = json_object();
	t.allowed_dests = json_object();
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
	json_decref(t.allowed_hosts);
	json_decref(t.allowed_dests);
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
