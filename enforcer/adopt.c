// SPDX-License-Identifier: Apache-2.0
/* Adoption (DESIGN.md §4, fail closed): a new enforcer started on a --bpffs directory that
 * holds a killed enforcer's pins takes them over instead of starting empty. The pinned maps are
 * reused before load, so the new programs read the same tries (learned entries survive) and
 * write the same ring buffer auditd reads; the pinned links get the new programs in one step
 * (bpf_link_update), so no packet and no connect() ever meets an empty hook; settings, port
 * sets and static prefixes are rewritten from the policy we were given, and what an older policy
 * left is removed. A pinned map whose shape is not ours is refused, never reused.
 *
 * The same path applies a new policy (cargowall reload: the supervisor kills the running
 * enforcer and starts one with the new policy). The programs keep running over the maps while
 * they are rewritten, one element at a time, so the order is what makes it atomic enough: every
 * verdict during the rewrite is the old policy's, the new policy's, or stricter than both, and
 * none after it is the old policy's.
 *  1. settings: written first unless they open something (default allow, audit mode, raw
 *     sockets) the old ones did not; then last (step 6). A chain that decides nothing falls to
 *     the default, so a looser default must wait until every chain is the new policy's.
 *  2. port keys the new policy lacks are removed: the map holds old AND new keys, so old and new
 *     chains alike admit at most what their own policy does (rule ids collide across policies:
 *     an old chain's id may name another rule now).
 *  3. static prefixes written with their new chains (each element replaced in one update; an LPM
 *     lookup returns one element, whose chain holds every covering rule of one policy).
 *  4. prefixes the new policy lacks removed; learned host routes re-chained under the new ids
 *     (ruleid.c) or removed.
 *  5. the new policy's port keys added (now only new chains read them).
 *  6. deferred settings.
 * Then the links get the new programs (same code, same maps). Connections established before a
 * reload keep the destination their socket was allowed (cw_sock_val); new ones are judged anew.
 * Rule ids in events that were in the ring before the reload are named by the new policy in the
 * audit log (auditd restarts with it): matched_rule may be wrong for those few records. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cargowall.skel.h"
#include "common/log.h"
#include "enforcer.h"

/* Both tries' keys fit this one (trie.c has the same). */
struct akey {
	uint32_t prefixlen;
	uint8_t addr[16];
};

static int adopt_map(struct enf *e, size_t i)
{
	const char *pin = enf_map_pins[i].pin;
	struct bpf_map *map = bpf_object__find_map_by_name(e->skel->obj, enf_map_pins[i].map);
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	if (!map)
		return -ENOENT;
	err = enf_pin_path(path, sizeof(path), e->o->bpffs, pin);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (fd != -ENOENT) {
			log_warnx("adopting %s: %s", path, strerror(-fd));
			return fd;
		}
		log_warnx("adopting: %s is missing: a new, empty map takes its place", path);
		return 0;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		err = -errno;
		log_warnx("adopting %s: not a map (%s): not ours; run cargowall-enforcer --cleanup",
			  path, strerror(-err));
		goto out;
	}
	/* rule_ports is sized by the policy that started it: it serves ours when our keys fit,
	 * at its own size. */
	if (!strcmp(pin, CW_PIN_RULE_PORTS) && info.max_entries >= trie_port_keys(e) &&
	    info.max_entries != bpf_map__max_entries(map)) {
		err = bpf_map__set_max_entries(map, info.max_entries);
		if (err)
			goto out;
	}
	if (info.type != (__u32)bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    info.map_flags != bpf_map__map_flags(map) ||
	    strncmp(info.name, enf_map_pins[i].map, sizeof(info.name) - 1) ||
	    (strcmp(pin, CW_PIN_RULE_PORTS) ? info.max_entries != bpf_map__max_entries(map) :
					      info.max_entries < bpf_map__max_entries(map))) {
		log_warnx(
			"adopting %s: map '%s' type %u key %u value %u entries %u flags %#x, ours "
			"are '%s' type %u key %u value %u entries %u flags %#x: not ours (or "
			"another version's); run cargowall-enforcer --cleanup",
			path, info.name, info.type, info.key_size, info.value_size,
			info.max_entries, info.map_flags, enf_map_pins[i].map, bpf_map__type(map),
			bpf_map__key_size(map), bpf_map__value_size(map), bpf_map__max_entries(map),
			bpf_map__map_flags(map));
		err = -EEXIST;
		goto out;
	}
	err = bpf_map__reuse_fd(map, fd);
	if (err) {
		log_warnx("adopting %s: %s", path, strerror(-err));
		goto out;
	}
	e->map_reused[i] = true;
	log_debug("adopted map %s (id %u)", pin, info.id);
out:
	close(fd);
	return err;
}

int adopt_maps(struct enf *e)
{
	size_t i;
	int err;

	for (i = 0; i < ENF_MAP_PINS; i++) {
		err = adopt_map(e, i);
		if (err)
			return err;
	}
	return 0;
}

/* A port key the policy still has: the inverse of trie.c's rule_port_keys(). */
static bool port_key_wanted(const struct policy *p, const struct cw_port_key *k)
{
	const struct policy_rule *r;
	size_t i;

	if (!k->rule_id || k->rule_id > p->n_rules)
		return false;
	r = &p->rules[k->rule_id - 1];
	for (i = 0; i < r->n_ports; i++) {
		uint8_t pr = r->ports[i].proto;

		if ((k->protocol == IPPROTO_TCP || k->protocol == IPPROTO_UDP) &&
		    ntohs(k->port) == r->ports[i].port &&
		    (pr == POLICY_PROTO_ALL ||
		     pr == (k->protocol == IPPROTO_TCP ? POLICY_PROTO_TCP : POLICY_PROTO_UDP)))
			return true;
		if ((k->protocol == IPPROTO_ICMP || k->protocol == IPPROTO_ICMPV6) && !k->port &&
		    (pr == POLICY_PROTO_ALL || pr == POLICY_PROTO_ICMP))
			return true;
	}
	return false;
}

/* Collect every key of a map first: deleting while walking would restart the walk (a deleted
 * key's successor is the first key). At most max + 1 steps. */
static int keys_collect(int fd, size_t ksize, size_t max, uint8_t **out, size_t *n_out)
{
	uint8_t *keys = NULL, *prev = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	while (n <= max) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			uint8_t *k = realloc(keys, ncap * ksize);

			if (!k) {
				err = -ENOMEM;
				break;
			}
			keys = k;
			cap = ncap;
		}
		if (bpf_map_get_next_key(fd, prev, keys + n * ksize) < 0) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		prev = keys + n * ksize;
		n++;
	}
	if (err) {
		free(keys);
		return err;
	}
	*out = keys;
	*n_out = n;
	return 0;
}

int adopt_ports_prune(struct enf *e)
{
	int fd = bpf_map__fd(e->skel->maps.rule_ports);
	size_t i, n, gone = 0;
	uint8_t *keys;
	int err;

	/* Deleting only narrows what the running programs allow; the new keys come after. */
	err = keys_collect(fd, sizeof(struct cw_port_key),
			   bpf_map__max_entries(e->skel->maps.rule_ports), &keys, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		const struct cw_port_key *k = (const void *)(keys + i * sizeof(*k));

		if (port_key_wanted(&e->pol, k))
			continue;
		if (bpf_map_delete_elem(fd, k) < 0 && errno != ENOENT) {
			err = -errno;
			log_warnx("adopting: deleting a stale port key: %s", strerror(-err));
			break;
		}
		gone++;
	}
	free(keys);
	if (gone)
		log_info("adopting: %zu port key(s) of an older policy removed", gone);
	return err;
}

/* A static prefix the policy still has. */
static bool static_wanted(const struct policy *p, uint8_t family, const struct akey *k)
{
	size_t i, alen = family == 4 ? 4 : 16;

	for (i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (r->type == POLICY_RULE_CIDR && r->family == family &&
		    r->prefixlen == k->prefixlen && !memcmp(r->addr, k->addr, alen))
			return true;
	}
	return false;
}

/* The rule id under our policy of a learned reference written under the adopted maps' policy
 * (ruleid.c: by identity), or 0 when the hostname rule no longer admits the address. */
static uint32_t learned_ref_map(struct enf *e, const struct cw_rule_ref *ref)
{
	if (!(ref->flags & CW_REF_LEARNED))
		return 0;
	return ruleid_map(e, ref->rule_id);
}

/* One learned host route: its chain rebuilt as learn_one() would build it under this policy
 * (covering CIDR rules re-read, hostname rules renumbered by identity, those no longer allowing
 * the address dropped). 1 when kept, 0 when it goes, -errno. */
static int relearn(struct enf *e, int fd, uint8_t family, const struct akey *k,
		   const struct cw_lpm_val *val, uint64_t now)
{
	struct cw_lpm_val base, cur, next;
	struct akey bk = *k;
	bool have_base, any = false;
	size_t i;

	if (val->expires_ns <= now)
		return 0;
	/* The longest static prefix shorter than the host route: the rules that cover it. */
	bk.prefixlen = k->prefixlen - 1;
	have_base = bpf_map_lookup_elem(fd, &bk, &base) == 0;
	if (have_base && base.origin != CW_ORIGIN_STATIC)
		have_base = false;
	if (have_base && (base.chain[0].flags & CW_REF_ANY_PORT) &&
	    base.chain[0].action != CW_ACTION_ALLOW)
		return 0; /* DNS never opens what the policy closed */
	memset(&cur, 0, sizeof(cur));
	if (have_base)
		cur = base;
	for (i = 0; i < CW_CHAIN_MAX && val->chain[i].rule_id; i++) {
		struct cw_rule_ref ref;
		uint32_t id = learned_ref_map(e, &val->chain[i]);

		if (!id)
			continue;
		ref = trie_rule_ref(e, id, CW_REF_LEARNED);
		memset(&next, 0, sizeof(next));
		switch (trie_learned_chain(&cur, have_base || any, ref, &next)) {
		case 0:
			memcpy(cur.chain, next.chain, sizeof(cur.chain));
			any = true;
			break;
		case 1:
			break;
		default:
			return 0;
		}
	}
	if (!any)
		return 0;
	cur.expires_ns = val->expires_ns;
	cur.origin = CW_ORIGIN_LEARNED;
	cur.prefixlen = (uint8_t)k->prefixlen;
	memset(cur.pad, 0, sizeof(cur.pad));
	if (memcmp(&cur, val, sizeof(cur)) && bpf_map_update_elem(fd, k, &cur, BPF_EXIST) < 0)
		return -errno;
	trie_expiry_push(e, family, k->addr, cur.expires_ns);
	return 1;
}

static int adopt_trie(struct enf *e, uint8_t family, size_t *kept, size_t *gone)
{
	int fd = bpf_map__fd(family == 4 ? e->skel->maps.lpm_v4 : e->skel->maps.lpm_v6);
	size_t ksize = family == 4 ? sizeof(struct cw_lpm_v4_key) : sizeof(struct cw_lpm_v6_key);
	uint32_t maxlen = family == 4 ? 32 : 128;
	uint64_t now = enf_now_ns();
	size_t i, n, pass;
	uint8_t *keys;
	int err, r;

	err = keys_collect(fd, ksize, CW_LPM_MAX_ENTRIES, &keys, &n);
	if (err)
		return err;
	/* Static prefixes first: a learned route's chain is rebuilt from the statics that stay. */
	for (pass = 0; pass < 2 * n && !err; pass++) {
		struct cw_lpm_val val;
		struct akey k;
		bool learned;

		i = pass % n;
		memset(&k, 0, sizeof(k));
		memcpy(&k, keys + i * ksize, ksize);
		if (bpf_map_lookup_elem(fd, &k, &val) < 0)
			continue;
		learned = val.origin == CW_ORIGIN_LEARNED && k.prefixlen == maxlen;
		if (learned != (pass >= n))
			continue;
		if (learned)
			r = relearn(e, fd, family, &k, &val, now);
		else
			r = val.origin == CW_ORIGIN_STATIC && static_wanted(&e->pol, family, &k);
		if (r < 0) {
			err = r;
			log_warnx("adopting: IPv%u trie entry: %s", family, strerror(-err));
			break;
		}
		if (r == 1) {
			if (learned)
				(*kept)++;
			continue;
		}
		if (bpf_map_delete_elem(fd, &k) < 0 && errno != ENOENT) {
			err = -errno;
			log_warnx("adopting: deleting an IPv%u trie entry: %s", family,
				  strerror(-err));
			break;
		}
		(*gone)++;
	}
	free(keys);
	return err;
}

int adopt_tries(struct enf *e)
{
	size_t kept[2] = { 0, 0 }, gone = 0;
	int err;

	err = adopt_trie(e, 4, &kept[0], &gone);
	if (!err)
		err = adopt_trie(e, 6, &kept[1], &gone);
	if (err)
		return err;
	e->n_learned = kept[0] + kept[1];
	log_info("adopting: %zu IPv4 and %zu IPv6 learned address(es) kept, %zu stale or expired "
		 "entr%s removed",
		 kept[0], kept[1], gone, gone == 1 ? "y" : "ies");
	return 0;
}

/* A pin of ours that leads nowhere useful: detached (it is ours) and unpinned. */
static void stale_link_drop(int fd, const char *path, const char *why)
{
	log_info("adopting: %s %s: replaced by a new attachment", path, why);
	if (bpf_link_detach(fd) < 0 && errno != ENOLINK && errno != ENOENT && errno != EINVAL)
		log_warn("adopting: detaching %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("adopting: unpinning %s", path);
}

int adopt_tc(struct enf *e, struct enf_iface *ifc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CW_TC_HANDLE, .priority = CW_TC_PRIORITY);
	int prog_fd = bpf_program__fd(e->skel->progs.cw_tc_egress);
	struct bpf_link_info info;
	libbpf_print_fn_t old;
	char path[PATH_MAX];
	__u8 v;
	int fd, err;

	err = enf_tcx_pin_path(path, sizeof(path), e->o->bpffs, ifc->name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (enf_link_info(fd, &info) || info.type != ENF_LINK_TYPE_TCX ||
		    enf_tcx_link_ifindex(&info) != (__u32)ifc->ifindex ||
		    enf_tcx_link_attach_type(&info) != (__u32)ENF_TCX_EGRESS) {
			stale_link_drop(fd, path, "is detached or on another interface");
			close(fd);
			return 1;
		}
		if (bpf_link_update(fd, prog_fd, NULL) < 0) {
			err = -errno;
			log_warnx("%s: giving the TCX link our program: %s", ifc->name,
				  strerror(-err));
			close(fd);
			return err;
		}
		ifc->tcx = true;
		ifc->tcx_fd = fd;
		log_info("%s: took over the TCX link (link id %u)", ifc->name, info.id);
		return 0;
	}
	/* No TCX link: our clsact filter, if it is there, gets the new program in place. */
	old = enf_libbpf_quiet();
	err = bpf_tc_query(&hook, &opts);
	libbpf_set_print(old);
	if (err)
		return 1;
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.handle = CW_TC_HANDLE;
	opts.priority = CW_TC_PRIORITY;
	opts.prog_fd = prog_fd;
	opts.flags = BPF_TC_F_REPLACE;
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		log_warnx("%s: replacing the program of our clsact filter: %s", ifc->name,
			  strerror(-err));
		return err;
	}
	ifc->attached = true;
	ifc->qdisc_created = bpf_map_lookup_elem(e->tc_owned_fd, &ifc->ifindex, &v) == 0;
	log_info("%s: took over the clsact filter (prog id %u)", ifc->name, opts.prog_id);
	return 0;
}

int adopt_cgroup_link(struct enf *e, const struct enf_cg_prog *cp, struct bpf_link **linkp)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(e->skel->obj, cp->prog);
	struct bpf_link_info info;
	struct bpf_link *link;
	char path[PATH_MAX];
	int fd, err;

	err = enf_pin_path(path, sizeof(path), e->o->bpffs, cp->pin);
	if (err || !prog)
		return err ?: -ENOENT;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 1;
	if (enf_link_info(fd, &info) || info.type != BPF_LINK_TYPE_CGROUP ||
	    info.cgroup.cgroup_id != e->cgroup_id || info.cgroup.attach_type != (__u32)cp->type) {
		stale_link_drop(fd, path, "is detached or on another cgroup");
		close(fd);
		return 1;
	}
	close(fd);
	link = bpf_link__open(path);
	if (!link) {
		err = -errno;
		log_warnx("adopting %s: %s", path, strerror(-err));
		return err;
	}
	if (bpf_link_update(bpf_link__fd(link), bpf_program__fd(prog), NULL) < 0) {
		err = -errno;
		log_warnx("adopting %s: giving the link our program: %s", path, strerror(-err));
		bpf_link__destroy(link);
		return err;
	}
	*linkp = link;
	log_debug("took over %s (link id %u)", cp->pin, info.id);
	return 0;
}

/* A failed adoption leaves the previous enforcer's attachments and pins in place (fail closed:
 * they keep enforcing, with our programs where a link was already updated, over the same maps)
 * for the next attempt or --cleanup; only our fds are closed. */
void adopt_release(struct enf *e)
{
	size_t i;

	for (i = 0; i < ENF_CG_PROGS; i++)
		if (e->links[i]) {
			/* pinned: closing the fd does not detach it */
			bpf_link__disconnect(e->links[i]);
			bpf_link__destroy(e->links[i]);
			e->links[i] = NULL;
		}
	for (i = 0; i < e->o->n_ifaces; i++)
		if (e->o->ifaces[i].tcx) {
			close(e->o->ifaces[i].tcx_fd);
			e->o->ifaces[i].tcx = false;
		}
	if (e->tc_owned_fd >= 0)
		close(e->tc_owned_fd);
	e->tc_owned_fd = -1;
	ruleid_free(e);
	cargowall__destroy(e->skel);
	e->skel = NULL;
	if (e->cgroup_fd >= 0)
		close(e->cgroup_fd);
	e->cgroup_fd = -1;
}

/* What the settings open that the old ones did not. */
static bool settings_open_more(const struct cw_settings *old, const struct cw_settings *s)
{
	return (s->default_action == CW_ACTION_ALLOW && old->default_action != CW_ACTION_ALLOW) ||
	       (s->mode == CW_MODE_AUDIT && old->mode != CW_MODE_AUDIT) ||
	       (s->flags & ~old->flags & CW_SETF_ALLOW_RAW);
}

int adopt_begin(struct enf *e)
{
	struct cw_settings old;
	__u32 key = 0;

	e->settings_deferred = false;
	if (bpf_map__lookup_elem(e->skel->maps.settings, &key, sizeof(key), &old, sizeof(old), 0) ==
		    0 &&
	    settings_open_more(&old, &e->settings)) {
		e->settings_deferred = true;
		log_info("adopting: the new settings open more than the old ones (default %s, mode "
			 "%s): written last",
			 e->settings.default_action == CW_ACTION_ALLOW ? "allow" : "deny",
			 e->settings.mode == CW_MODE_AUDIT ? "audit" : "enforce");
	}
	return ruleid_old_load(e);
}

int adopt_finish(struct enf *e)
{
	int err = trie_load_ports(e);

	if (!err && e->settings_deferred)
		err = enf_settings_write(e);
	return err;
}
