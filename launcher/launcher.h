/* SPDX-License-Identifier: Apache-2.0 */
/* cargowall: the CLI and supervisor (DESIGN.md §1, §6). */
#ifndef CW_LAUNCHER_H
#define CW_LAUNCHER_H

#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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
	bool allow_raw;	    /* --allow-raw-sockets */
	bool scoped;	    /* cargowall run: a fresh cgroup, no TC on any interface */
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
	bool scoped; /* cargowall run: cgroup_skb on the job's cgroup instead of TC */
};

/* The children, in the order start runs them. */
enum { CH_ENFORCER, CH_AUDITD, CH_DNSD, CH_MAX };
extern const char *const ch_name[CH_MAX];

struct start_ctx {
	struct launch_opts o;
	struct launch_state st;
	char upstream[64];
	char cg_prefix[2 * PATH_MAX]; /* the launcher's own cgroup directory */
	const char *state_dir;
	char run_state_dir[64];
	int policy_fd, dnsq_fd, dnsq_bell, evq_fd, evq_bell, log_fd, ring_fd;
	/* dnsd's listeners (CW_DNSD_FD_UDP4..TCP6); the IPv6 pair is /dev/null when the host
	 * has no IPv6 (dns_no_ipv6) */
	int udp4_fd, tcp4_fd, udp6_fd, tcp6_fd;
	bool dns_no_ipv6;
	pid_t pid[CH_MAX];
	char cg[CH_MAX][PATH_MAX + 16];
	int report_fd; /* daemon mode: the waiting `start` reads the outcome here */
};

/* start.c: options, policy, checks and the shared resources, before anything runs. 0, or the
 * exit status to return (the reason is printed). */
int start_setup(struct start_ctx *c, int argc, char **argv, bool scoped);
/* daemon.c: fork the supervisor, which starts the trio; 0 once it reported live (*pid set), 1
 * after printing why it failed (it undid everything). */
int daemon_start(struct start_ctx *c, pid_t *pid);
/* The supervisor itself (--foreground runs it in place): start the trio, wait for SIGTERM or
 * SIGINT, tear down. Its exit status. */
int supervise(struct start_ctx *c);

int cmd_start(int argc, char **argv);
int cmd_run(int argc, char **argv);
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

/* summary.c: the summary of an audit log from byte `offset` on, to `out`. 0, or 1 with the
 * reason printed. */
int summary_write(FILE *out, const char *path, long offset, const char *format);

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
