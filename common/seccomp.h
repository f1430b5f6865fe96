/* SPDX-License-Identifier: Apache-2.0 */
/* The seccomp allowlist of each child (DESIGN.md §1, CONVENTIONS.md 15): the last step of the
 * privilege drop, right after privdrop() and before child_ready(). One table per process in
 * common/seccomp.c; SECURITY.md lists them (tests/unit/check_seccomp.c keeps the two in step). */
#ifndef CW_COMMON_SECCOMP_H
#define CW_COMMON_SECCOMP_H

#include <stdio.h>

enum sandbox_proc {
	SANDBOX_DNSD,
	SANDBOX_AUDITD,
	SANDBOX_ENFORCER,
	SANDBOX_PROC_MAX,
};

/* Debugging a missing entry: with CW_SECCOMP_LOG=1 in the environment, a syscall outside the
 * allowlist is allowed and logged by the kernel (audit type 1326, dmesg) instead of killing the
 * process. Never the default; the child says so on stderr when it is on. */
#define SANDBOX_LOG_ENV "CW_SECCOMP_LOG"

/* Load proc's allowlist for every thread of the calling process. Anything outside it kills the
 * process (SIGSYS), as does a syscall of another architecture or ABI (i386, x32). Calls nothing
 * that needs the file system afterwards (time zone data is read first). 0, or -errno after
 * logging the reason; the caller must treat a failure as fatal (never run unconfined). */
int sandbox_apply(enum sandbox_proc proc);

/* "dnsd", "auditd", "enforcer"; NULL when out of range. */
const char *sandbox_proc_name(enum sandbox_proc proc);

/* The allowlist of proc as one Markdown line: `name`, `name` (condition), ... in table order.
 * What SECURITY.md shows. 0 or -errno. */
int sandbox_describe(enum sandbox_proc proc, FILE *f);

#endif
