// SPDX-License-Identifier: Apache-2.0
/* The one privilege drop of every child (DESIGN.md §1, CONVENTIONS.md 11 and 14).
 * Order: bounding set (needs CAP_SETPCAP, so first), securebits, setgroups, setresgid,
 * setresuid, keep exactly the listed capabilities, clear ambient ones, verify the old ids cannot
 * be regained, PR_SET_NO_NEW_PRIVS. Every child ends as a non-root user (the enforcer too, with
 * two capabilities). Any failure is fatal: never continue half-dropped. */
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <linux/securebits.h>

#include "child.h"
#include "log.h"

static bool kept(cap_value_t c, const cap_value_t *keep, size_t n_keep)
{
	size_t i;

	for (i = 0; i < n_keep; i++)
		if (keep[i] == c)
			return true;
	return false;
}

static void verify_caps(const cap_value_t *keep, size_t n_keep)
{
	cap_t caps = cap_get_proc();
	cap_value_t c;

	if (!caps)
		fatal("cap_get_proc");
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		cap_flag_value_t eff, perm, inh;
		bool want = kept(c, keep, n_keep);

		if (cap_get_flag(caps, c, CAP_EFFECTIVE, &eff) ||
		    cap_get_flag(caps, c, CAP_PERMITTED, &perm) ||
		    cap_get_flag(caps, c, CAP_INHERITABLE, &inh))
			fatal("cap_get_flag");
		if ((eff == CAP_SET) != want || (perm == CAP_SET) != want || inh == CAP_SET)
			fatalx("privdrop: capability %d is %s after the drop", c,
			       want ? "missing" : "still held");
		if (!want && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			fatalx("privdrop: capability %d still in the bounding set", c);
	}
	cap_free(caps);
}

void privdrop(uid_t uid, gid_t gid, const cap_value_t *keep, size_t n_keep)
{
	cap_value_t c;
	cap_t caps;

	if (uid == 0)
		fatalx("privdrop: refusing to drop to uid 0: every child runs as its own user");

	for (c = 0; c <= CAP_LAST_CAP; c++)
		if (!kept(c, keep, n_keep) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			fatal("privdrop: PR_CAPBSET_DROP %d", c);
	/* Capabilities are trimmed after the uid change, not by it: NO_SETUID_FIXUP keeps the
	 * permitted and effective sets across setresuid (the enforcer keeps two of them as its
	 * user), locked so that nothing can turn it off again; NOROOT so that an exec could never
	 * give capabilities back to a root uid. */
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			  SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
		  0, 0, 0) < 0)
		fatal("privdrop: PR_SET_SECUREBITS");
	if (setgroups(1, &gid) < 0)
		fatal("privdrop: setgroups");
	if (setresgid(gid, gid, gid) < 0)
		fatal("privdrop: setresgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		fatal("privdrop: setresuid %u", (unsigned)uid);
	caps = cap_init();
	if (!caps)
		fatal("privdrop: cap_init");
	if (n_keep && (cap_set_flag(caps, CAP_PERMITTED, (int)n_keep, keep, CAP_SET) ||
		       cap_set_flag(caps, CAP_EFFECTIVE, (int)n_keep, keep, CAP_SET)))
		fatal("privdrop: cap_set_flag");
	if (cap_set_proc(caps) < 0)
		fatal("privdrop: cap_set_proc");
	cap_free(caps);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		fatal("privdrop: clear ambient capabilities");
	verify_caps(keep, n_keep);
	/* openssh permanently_set_uid: the old ids must be gone for good. Checked after the
	 * capabilities are trimmed (SECBIT_NO_SETUID_FIXUP kept them all across setresuid): a kept
	 * CAP_BPF or CAP_NET_ADMIN gives no way back, CAP_SETUID/CAP_SETGID would. The fs ids
	 * follow the effective ones; setfsuid(-1) only reads. */
	if (setuid(0) != -1 || seteuid(0) != -1 || setreuid(-1, 0) != -1)
		fatalx("privdrop: uid 0 could be regained");
	if (gid != 0 && (setgid(0) != -1 || setegid(0) != -1))
		fatalx("privdrop: gid 0 could be regained");
	if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid ||
	    (uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid)
		fatalx("privdrop: ids not as set");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fatal("privdrop: PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("privdrop: PR_SET_DUMPABLE");
}
