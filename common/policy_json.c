// SPDX-License-Identifier: Apache-2.0
/* CargoWall's config.json, read strictly: unknown fields and wrong types are errors. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../proto/maps.h"
#include "policy.h"

/* A policy file is written by people; 16 MiB is far past any real one and bounds memory. */
#define POLICY_FILE_MAX (16 * 1024 * 1024)

static int fail(struct policy_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct policy_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int check_keys(json_t *obj, const char *const *allowed, const char *src, const char *where,
		      struct policy_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach (obj, key, v) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a)
			return fail(err, "%s: %s%s%s: unknown field", src, where, *where ? "." : "",
				    key);
	}
	return 0;
}

static int get_string(json_t *obj, const char *key, bool required, const char **out,
		      const char *src, const char *where, struct policy_error *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v) {
		if (required)
			return fail(err, "%s: %s.%s: missing", src, where, key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(err, "%s: %s.%s: must be a string", src, where, key);
	*out = json_string_value(v);
	if (!**out)
		return fail(err, "%s: %s.%s: must not be empty", src, where, key);
	return 0;
}

static int parse_action(const char *s, uint8_t *action)
{
	if (!strcmp(s, "allow"))
		*action = CW_ACTION_ALLOW;
	else if (!strcmp(s, "deny"))
		*action = CW_ACTION_DENY;
	else
		return -EINVAL;
	return 0;
}

static int parse_port(json_t *pv, struct policy_port *port, const char *src, const char *where,
		      struct policy_error *err)
{
	static const char *const keys[] = { "port", "protocol", NULL };
	static const char *const protos[] = { "all", "tcp", "udp", "icmp" };
	const char *proto;
	json_t *num;
	json_int_t n;
	size_t i;
	int ret;

	if (!json_is_object(pv))
		return fail(err, "%s: %s: must be an object {\"port\": N, \"protocol\": \"tcp\"}",
			    src, where);
	ret = check_keys(pv, keys, src, where, err);
	if (ret)
		return ret;
	ret = get_string(pv, "protocol", true, &proto, src, where, err);
	if (ret)
		return ret;
	for (i = 0; i < 4; i++)
		if (!strcmp(proto, protos[i]))
			break;
	if (i == 4)
		return fail(err, "%s: %s.protocol: \"%s\": must be tcp, udp, icmp or all", src,
			    where, proto);
	port->proto = (uint8_t)i;
	num = json_object_get(pv, "port");
	if (!num)
		return fail(err, "%s: %s.port: missing", src, where);
	if (!json_is_integer(num))
		return fail(err, "%s: %s.port: must be an integer", src, where);
	n = json_integer_value(num);
	if (port->proto == POLICY_PROTO_ICMP ? (n < 0 || n > 65535) : (n < 1 || n > 65535))
		return fail(err, "%s: %s.port: %lld: must be 1-65535 (0 only for icmp)", src, where,
			    (long long)n);
	port->port = (uint16_t)n;
	return 0;
}

static int parse_rule(struct policy *p, json_t *rv, const char *src, size_t idx,
		      struct policy_error *err)
{
	static const char *const keys[] = { "type", "value", "ports", "action", NULL };
	struct policy_rule *r;
	const char *type, *value, *action;
	char where[64], field[600];
	json_t *ports, *pv;
	size_t i;
	int ret;

	snprintf(where, sizeof(where), "rules[%zu]", idx);
	if (!json_is_object(rv))
		return fail(err, "%s: %s: must be an object", src, where);
	ret = check_keys(rv, keys, src, where, err);
	if (ret)
		return ret;
	if ((ret = get_string(rv, "type", true, &type, src, where, err)) ||
	    (ret = get_string(rv, "value", true, &value, src, where, err)) ||
	    (ret = get_string(rv, "action", true, &action, src, where, err)))
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail(err, "%s: out of memory", src);
	if (!strcmp(type, "hostname")) {
		r->type = POLICY_RULE_HOSTNAME;
	} else if (!strcmp(type, "cidr")) {
		r->type = POLICY_RULE_CIDR;
	} else {
		ret = fail(err, "%s: %s.type: \"%s\": must be \"hostname\" or \"cidr\"", src, where,
			   type);
		goto out;
	}
	if (parse_action(action, &r->action)) {
		ret = fail(err, "%s: %s.action: \"%s\": must be \"allow\" or \"deny\"", src, where,
			   action);
		goto out;
	}
	if (strlen(value) >= sizeof(r->value)) {
		ret = fail(err, "%s: %s.value: longer than %d characters", src, where,
			   CW_NAME_MAX - 1);
		goto out;
	}
	strcpy(r->value, value);
	ports = json_object_get(rv, "ports");
	if (ports && !json_is_array(ports) && !json_is_null(ports)) {
		ret = fail(err, "%s: %s.ports: must be an array", src, where);
		goto out;
	}
	if (ports && json_array_size(ports) > CW_PORTS_MAX) {
		ret = fail(err, "%s: %s.ports: more than %d entries", src, where, CW_PORTS_MAX);
		goto out;
	}
	json_array_foreach (ports, i, pv) {
		char pw[96];

		snprintf(pw, sizeof(pw), "%s.ports[%zu]", where, i);
		ret = parse_port(pv, &r->ports[i], src, pw, err);
		if (ret)
			goto out;
		r->n_ports++;
	}
	snprintf(field, sizeof(field), "%s: %s.value", src, where);
	ret = policy_add_rule(p, r, field, err);
out:
	free(r);
	return ret;
}

int policy_parse_json(struct policy *p, const char *text, size_t len, const char *source,
		      struct policy_error *err)
{
	static const char *const keys[] = { "defaultAction", "rules", "searchDomains",
					    "sudoLockdown", NULL };
	json_error_t jerr;
	json_t *root, *rules, *sds, *v;
	const char *da;
	size_t i;
	int ret;

	policy_init(p);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, "%s: line %d column %d: %s", source, jerr.line, jerr.column,
			    jerr.text);
	if (!json_is_object(root)) {
		ret = fail(err, "%s: top level must be an object", source);
		goto out;
	}
	ret = check_keys(root, keys, source, "", err);
	if (ret)
		goto out;
	v = json_object_get(root, "defaultAction");
	if (v) {
		if (!json_is_string(v)) {
			ret = fail(err, "%s: defaultAction: must be a string", source);
			goto out;
		}
		da = json_string_value(v);
		if (parse_action(da, &p->default_action)) {
			ret = fail(err, "%s: defaultAction: \"%s\": must be \"allow\" or \"deny\"",
				   source, da);
			goto out;
		}
	}
	rules = json_object_get(root, "rules");
	if (rules && !json_is_array(rules)) {
		ret = fail(err, "%s: rules: must be an array", source);
		goto out;
	}
	json_array_foreach (rules, i, v) {
		ret = parse_rule(p, v, source, i, err);
		if (ret)
			goto out;
	}
	sds = json_object_get(root, "searchDomains");
	if (sds && !json_is_array(sds)) {
		ret = fail(err, "%s: searchDomains: must be an array of strings", source);
		goto out;
	}
	json_array_foreach (sds, i, v) {
		char where[PATH_MAX + 64];

		snprintf(where, sizeof(where), "%s: searchDomains[%zu]", source, i);
		if (!json_is_string(v)) {
			ret = fail(err, "%s: must be a string", where);
			goto out;
		}
		ret = policy_add_search_domain(p, json_string_value(v), where, err);
		if (ret)
			goto out;
	}
	v = json_object_get(root, "sudoLockdown");
	if (v && !json_is_object(v)) {
		ret = fail(err, "%s: sudoLockdown: must be an object", source);
		goto out;
	}
	ret = 0;
out:
	json_decref(root);
	if (ret)
		policy_free(p);
	return ret;
}

static int read_all(int fd, const char *source, char **buf, size_t *len, struct policy_error *err)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);

	if (!b)
		return fail(err, "%s: out of memory", source);
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= POLICY_FILE_MAX) {
				free(b);
				return fail(err, "%s: larger than %d bytes", source,
					    POLICY_FILE_MAX);
			}
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return fail(err, "%s: out of memory", source);
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			int e = errno;

			free(b);
			return fail(err, "%s: read: %s", source, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

int policy_load_fd(struct policy *p, int fd, const char *source, struct policy_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	policy_init(p);
	if (lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE)
		return fail(err, "%s: seek: %s", source, strerror(errno));
	ret = read_all(fd, source, &buf, &len, err);
	if (ret)
		return ret;
	ret = policy_parse_json(p, buf, len, source, err);
	free(buf);
	return ret;
}

int policy_load_file(struct policy *p, const char *path, struct policy_error *err)
{
	struct stat st;
	int fd, ret;

	policy_init(p);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, "%s: not a regular file", path);
	}
	ret = policy_load_fd(p, fd, path, err);
	close(fd);
	return ret;
}

char *policy_to_json(const struct policy *p)
{
	json_t *root = json_object(), *rules = json_array(), *sds = json_array();
	static const char *const protos[] = { "all", "tcp", "udp", "icmp" };
	char *out = NULL;
	size_t i, k;

	if (!root || !rules || !sds)
		goto out;
	json_object_set_new(root, "defaultAction",
			    json_string(p->default_action == CW_ACTION_ALLOW ? "allow" : "deny"));
	for (i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		json_t *ports = json_array();

		for (k = 0; k < r->n_ports; k++)
			json_array_append_new(ports,
					      json_pack("{s:i,s:s}", "port", (int)r->ports[k].port,
							"protocol", protos[r->ports[k].proto]));
		json_array_append_new(rules,
				      json_pack("{s:s,s:s,s:o,s:s}", "type",
						r->type == POLICY_RULE_CIDR ? "cidr" : "hostname",
						"value", r->value, "ports", ports, "action",
						r->action == CW_ACTION_ALLOW ? "allow" : "deny"));
	}
	for (i = 0; i < p->n_search_domains; i++)
		json_array_append_new(sds, json_string(p->search_domains[i]));
	json_object_set(root, "rules", rules);
	json_object_set(root, "searchDomains", sds);
	out = json_dumps(root, JSON_COMPACT);
out:
	json_decref(rules);
	json_decref(sds);
	json_decref(root);
	return out;
}
