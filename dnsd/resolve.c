// SPDX-License-Identifier: Apache-2.0
/* libunbound set-up for dnsd (DESIGN.md §2: the upstream is the authority). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <unbound.h>

#include "../common/log.h"
#include "dnsd.h"
#include "dnsmsg.h"

/* Built-in local zones libunbound would answer itself (RFC 6303, RFC 6761, RFC 7686, RFC 8375
 * and later additions), shadowing what a runner's internal DNS says about them; a lab or a
 * company network may well serve test. or home.arpa. Only localhost and its loopback reverse
 * zones stay local. A name listed here that a given libunbound version does not have as a
 * default is ignored by it. The AS112 reverse zones (RFC 1918, 100.64/10, 169.254/16, fd00::/8
 * ...) go with unblock-lan-zones. */
static const char *const nodefault_zones[] = {
	"test.", "invalid.", "onion.", "home.arpa.", "resolver.arpa.", "service.arpa.",
};

/* Why a generated config file and not ub_ctx_set_option("local-zone:", "x nodefault"): in
 * libunbound 1.17 that call stores the whole value ("x nodefault") as the zone name, which then
 * matches no default zone and is silently ignored. The config file parser splits it right.
 * The file is a memfd read back through /proc/self/fd: nothing is written to disk. */
static int write_config(int fd)
{
	char buf[2048];
	size_t i;
	int n;

	n = snprintf(buf, sizeof(buf),
		     "server:\n"
		     /* The upstream may be a resolver on loopback (systemd-resolved, a lab). */
		     "\tdo-not-query-localhost: no\n"
		     /* No validator: there is no trust anchor, and the upstream decides. */
		     "\tmodule-config: \"iterator\"\n"
		     "\tunblock-lan-zones: yes\n");
	for (i = 0; i < sizeof(nodefault_zones) / sizeof(nodefault_zones[0]); i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\tlocal-zone: \"%s\" nodefault\n",
			      nodefault_zones[i]);
	if ((size_t)n >= sizeof(buf))
		return -ENOSPC;
	if (write(fd, buf, (size_t)n) != n)
		return errno ? -errno : -EIO;
	return 0;
}

int resolve_setup(struct ub_ctx **out, const char *upstream)
{
	struct ub_ctx *ctx;
	char path[64];
	int fd = -1, err, ub;

	*out = NULL;
	ctx = ub_ctx_create();
	if (!ctx) {
		log_warnx("libunbound: cannot create a context");
		return -ENOMEM;
	}
	fd = memfd_create("cargowall-dnsd-unbound.conf", MFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_warn("memfd_create");
		goto out;
	}
	err = write_config(fd);
	if (err) {
		log_warnx("libunbound config: %s", strerror(-err));
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ub = ub_ctx_config(ctx, path);
	if (ub) {
		log_warnx("libunbound config (%s): %s", path, ub_strerror(ub));
		err = -EINVAL;
		goto out;
	}
	ub = ub_ctx_set_fwd(ctx, upstream);
	if (ub) {
		log_warnx("libunbound forward to %s: %s", upstream, ub_strerror(ub));
		err = -EINVAL;
		goto out;
	}
	/* Threads, not a forked worker: a forked worker would be a second process holding the
	 * context outside dnsd's seccomp and cgroup bookkeeping. The thread starts at the first
	 * query, after the privilege drop. */
	ub = ub_ctx_async(ctx, 1);
	if (ub) {
		log_warnx("libunbound threads: %s", ub_strerror(ub));
		err = -EINVAL;
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ctx)
		ub_ctx_delete(ctx);
	return err;
}

int resolve_selftest(struct ub_ctx *ctx)
{
	static const uint8_t loopback[4] = { 127, 0, 0, 1 };
	struct ub_result *res = NULL;
	int ub, err = -EIO;

	ub = ub_resolve(ctx, "localhost.", DNS_TYPE_A, DNS_CLASS_IN, &res);
	if (ub) {
		log_warnx("libunbound self-test: %s", ub_strerror(ub));
		return -EIO;
	}
	if (!res->havedata || !res->data[0] || res->len[0] != 4 ||
	    memcmp(res->data[0], loopback, 4)) {
		log_warnx("libunbound self-test: localhost did not resolve to 127.0.0.1 locally");
		goto out;
	}
	err = 0;
out:
	ub_resolve_free(res);
	return err;
}
