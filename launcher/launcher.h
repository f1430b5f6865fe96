/* SPDX-License-Identifier: Apache-2.0 */
/* cargowall: the CLI and supervisor (DESIGN.md §1, §6). */
#ifndef CW_LAUNCHER_H
#define CW_LAUNCHER_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/policy.h"

#define CW_STATE_DIR_DEFAULT "/run/cargowall"
#define CW_AUDIT_LOG_DEFAULT "/var/log/cargowall/audit.ndjson"
#define CW_DNSD_USER_DEFAULT "cargowall-dnsd"
#define CW_AUDITD_USER_DEFAULT "cargowall-auditd"
#define CW_IFACES_MAX 16
/* How long start waits for each child to report live. */
#define CW_CHILD_READY_TIMEOUT_MS 10000
/* How long stop waits for the supervisor, and the supervisor for each child. */
#define CW_STOP_TIMEOUT_MS 10000

struct launch_opts {
	const char *config;
	const char *mode; /* "enforce" | "audit" */
	const char *allow_hosts, *allow_cidrs, *deny_hosts, *deny_cidrs;
	const char *ifaces[CW_IFACES_MAX];
	size_t n_ifaces;
	const char *cgroup;
	const char *dns_upstream;
	const char *audit_log;
	const char *state_dir;
	const char *bpffs;
	const char *dnsd_user, *auditd_user;
	bool foreground;
	bool verbose;
	bool allow_private; /* --allow-private-answers */
};

/* What start recorded in <state-dir>/state.json, so that stop and status need no options. */
struct launch_state {
	int pid;
	char mode[16];
	char bpffs[4096];
	char cgroup[4096];
	char cg_base[4096]; /* directory holding the daemons' own cgroups */
	char audit_log[4096];
	char ifaces[CW_IFACES_MAX][32];
	size_t n_ifaces;
};

int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_summary(int argc, char **argv);

/* Build the policy from --config, CARGOWALL_* and the list options. Prints the error. */
int launch_build_policy(const struct launch_opts *o, struct policy *p);

int state_write(const char *state_dir, const struct launch_state *st);
int state_read(const char *state_dir, struct launch_state *st);
int pidfile_write(const char *state_dir, const char *name, int pid);
int pidfile_read(const char *state_dir, const char *name);
/* Is pid alive and one of ours (its exe in our own directory)? */
bool pid_is_ours(int pid);
/* Run `cargowall-enforcer --cleanup` for the recorded state. 0 when nothing is left. */
int run_enforcer_cleanup(const struct launch_state *st);
void state_remove_cgroups(const struct launch_state *st);
void state_remove_files(const char *state_dir);
/* Directory holding our executables (that of /proc/self/exe). */
const char *self_dir(void);

/* snprintf that reports truncation: 0, or -ENAMETOOLONG. */
int path_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* System facts (sys.c). */
int sys_default_route_ifaces(char out[][32], size_t max, size_t *n);
int sys_cgroup2_mount(char *out, size_t len);
int sys_self_cgroup(char *out, size_t len);
int sys_default_upstream(char *out, size_t len);
int sys_ensure_user(const char *name);
int sys_ensure_bpffs(const char *dir, bool is_default);

#endif
