/* SPDX-License-Identifier: Apache-2.0 */
/* Diagnostic logging to stderr (never the NDJSON audit log). */
#ifndef CW_COMMON_LOG_H
#define CW_COMMON_LOG_H

#include <stdbool.h>

/* Set once per process: the prefix of every line ("dnsd", "enforcer", ...). */
void log_procinit(const char *name);
void log_setverbose(bool verbose);

void log_warn(const char *fmt, ...)
	__attribute__((format(printf, 1, 2))); /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Broken invariants only (failed privilege drop, malformed IPC): log and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Route libbpf's messages through log_* (warnings always, debug when verbose). */
void log_libbpf_init(void);

#endif
