/* SPDX-License-Identifier: Apache-2.0 */
/* cargowall: the CLI and supervisor (DESIGN.md §1, §6). */
#ifndef CW_LAUNCHER_H
#define CW_LAUNCHER_H

#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/policy.h"

#define CW_STATE_DIR_DEFAULT "/run/cargowall"
#define CW_AUDIT_LOG_DEFAULT "/var/log/cargowall/audit.ndjson"
#define CW_ENFORCER_USER_DEFAULT "cargowall-enforcer"
#define CW_DNSD_USER_DEFAULT "cargowall-dnsd"
#define CW_AUDITD_USER_DEFAULT "cargowall-auditd"
#define CW_IFACES_MAX 16
/* How long start waits for each child to report live. */
#define CW_CHILD_READY_TIMEOUT_MS 10000
/* How long stop waits for the supervisor, and the supervisor for each child. */
#define CW_STOP_TIMEOUT_MS 10000
/* Restarts of a child that died (supervise.c): the first after 50 ms, each next one after twice
 * the wait, at most 5 s; a child that stayed up 30 s starts over at 50 ms. After 10 restarts in a
 * row that each died within 30 s the supervisor stops trying (a crash loop only burns CPU): it
 * keeps running, the pinned programs keep enforcing (fail closed), `status` says degraded. */
#define CW_RESTART_BACKOFF_MIN_MS 50
#define CW_RESTART_BACKOFF_MAX_MS 5000
#define CW_RESTART_STABLE_MS 30000
#define CW_RESTART_RAPID_MAX 10
/* A lifecycle message the supervisor hands auditd (one line, one write(2), < PIPE_BUF). */
#define CW_LIFECYCLE_MSG_MAX 512

/* The runner process whose children are workflow steps (GitHub's actions/runner). */
#define CW_STEP_PARENT_COMM "Runner.Worker"

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
	const char *enforcer_user, *dnsd_user, *auditd_user;
	bool foreground;
	bool verbose;
	bool allow_private; /* --allow-private-answers */
	bool allow_raw;	    /* --allow-raw-sockets */
	bool scoped;	    /* cargowall run: a fresh cgroup, no TC on any interface */
	/* Step attribution: the process whose children each start a workflow step (--step-parent,
	 * else the Runner.Worker among start's ancestors); 0 = none. */
	pid_t step_parent;
	/* --container-dns ADDR|none: the host IPv4 address where containers' DNS is served (see
	 * start.c container_dns_pick); NULL: docker0's address when it exists at start */
	const char *container_dns;
};

/* Where a policy comes from (DESIGN.md §5): --config, the list options, the CARGOWALL_*
 * variables. start records its own; SIGHUP builds the policy again from them, `cargowall
 * reload` sends new ones. Strings owned (strdup). */
enum {
	SRC_LIST_ALLOW_HOSTS,
	SRC_LIST_ALLOW_CIDRS,
	SRC_LIST_DENY_HOSTS,
	SRC_LIST_DENY_CIDRS,
	SRC_LIST_MAX
};
enum {
	SRC_ENV_DEFAULT_ACTION,
	SRC_ENV_ALLOWED_HOSTS,
	SRC_ENV_ALLOWED_CIDRS,
	SRC_ENV_BLOCKED_HOSTS,
	SRC_ENV_BLOCKED_CIDRS,
	SRC_ENV_SEARCH_DOMAINS,
	SRC_ENV_MAX
};
extern const char *const src_env_names[SRC_ENV_MAX];
struct policy_src {
	char *config; /* an absolute path once recorded */
	char *list[SRC_LIST_MAX];
	char *env[SRC_ENV_MAX];
};
int src_from_opts(const struct launch_opts *o, struct policy_src *s);
void src_free(struct policy_src *s);
/* The policy of these sources; on error err says where and why (nothing printed). */
int src_build(const struct policy_src *s, struct policy *p, struct policy_error *err);

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

/* What the supervisor knows of one child (supervise.c). */
enum child_state {
	CHS_DOWN,     /* not started, stopped, or dead and not to be restarted (see gave_up) */
	CHS_STARTING, /* forked, waiting for its "R" on ready_fd */
	CHS_RUNNING,
	CHS_BACKOFF, /* dead; restarted at due_ms */
};

struct child_proc {
	enum child_state state;
	int pidfd;	   /* pidfd_open() right after fork: signals never reach a recycled pid */
	int ready_fd;	   /* CHS_STARTING: read end of its ready pipe */
	uint64_t start_ms; /* CLOCK_MONOTONIC when forked */
	uint64_t due_ms;   /* CHS_BACKOFF: when to restart; CHS_STARTING: ready deadline */
	unsigned int backoff_ms;
	unsigned int rapid;    /* restarts in a row that died within CW_RESTART_STABLE_MS */
	unsigned int restarts; /* since start */
	bool respawn_now;      /* exit was asked for (SIGHUP's auditd restart): no backoff */
	bool gave_up;
};

struct start_ctx {
	struct launch_opts o;
	struct launch_state st;
	char upstream[64];
	char cg_prefix[2 * PATH_MAX]; /* the launcher's own cgroup directory */
	const char *state_dir;
	char run_state_dir[64];
	int policy_fd, dnsq_fd, dnsq_bell, evq_fd, evq_bell, log_fd, ring_fd;
	int ack_pipe[2]; /* enforcer -> dnsd: [0] CW_DNSD_FD_ACK_BELL, [1] CW_ENF_FD_ACK_BELL */
	/* dnsd's listeners (CW_DNSD_FD_UDP4..TCP6); the IPv6 pair is /dev/null when the host
	 * has no IPv6 (dns_no_ipv6) */
	int udp4_fd, tcp4_fd, udp6_fd, tcp6_fd;
	/* containers' DNS (CW_DNSD_FD_UDP_CTR, _TCP_CTR): the address ("" = none) and its
	 * listeners, bound only when there is one */
	char container_dns[16];
	int udpc_fd, tcpc_fd;
	bool dns_no_ipv6;
	pid_t pid[CH_MAX];
	char cg[CH_MAX][PATH_MAX + 16];
	int report_fd; /* daemon mode: the waiting `start` reads the outcome here */
	struct child_proc ch[CH_MAX];
	/* O_PATH fds of the daemons' cgroup dirs (cg_fd[k]), of cg_base and of its parent: a
	 * restart joins, and teardown removes, through them even when the path no longer leads
	 * there (another tool's mount of the hierarchy that start found went away) */
	int cg_fd[CH_MAX], cg_base_fd, cg_parent_fd;
	/* lifecycle messages to auditd (CW_AUD_FD_LIFECYCLE): a pipe the supervisor holds both
	 * ends of, so messages written while auditd is down wait for the next one */
	int lc_rd, lc_wr;
	/* reload (reload.c): the sources of the running policy, and the control socket
	 * <state-dir>/control.sock that `cargowall reload` talks to (-1: none) */
	struct policy_src src;
	int ctl_fd;
};

/* start.c: options, policy, checks and the shared resources, before anything runs. 0, or the
 * exit status to return (the reason is printed). */
int start_setup(struct start_ctx *c, int argc, char **argv, bool scoped);
/* daemon.c: fork the supervisor, which starts the trio; 0 once it reported live (*pid set), 1
 * after printing why it failed (it undid everything). */
int daemon_start(struct start_ctx *c, pid_t *pid);
/* The supervisor itself (--foreground runs it in place): start the trio, restart what dies,
 * reopen the audit log on SIGHUP, wait for SIGTERM or SIGINT, tear down. Its exit status. */
int supervise(struct start_ctx *c);
/* daemon.c, for supervise.c: fork+exec child k with its argv and fds, in its cgroup, with a
 * fresh ready pipe (ch[k]: CHS_STARTING, pidfd, ready_fd). 0 or -errno (nothing left then). */
int child_spawn(struct start_ctx *c, int k);
/* Stop child k (SIGTERM through its pidfd, SIGKILL after CW_STOP_TIMEOUT_MS) and reap it. */
void child_stop(struct start_ctx *c, int k);
/* Everything start made, in reverse (children, pins, cgroups, state files). */
void teardown(struct start_ctx *c);
/* supervise.c: restart what dies, SIGHUP; returns on SIGTERM or SIGINT (sfd: signalfd of
 * SIGTERM, SIGINT, SIGCHLD, SIGHUP, all blocked). */
void supervise_loop(struct start_ctx *c, int sfd);
/* CLOCK_MONOTONIC in ms. */
uint64_t now_ms(void);
/* supervise.c: a lifecycle record for the audit log, and the same line on stderr. */
void lifecycle_msg(struct start_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_start(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_reload(int argc, char **argv);

/* reload.c, in the supervisor. The control socket: 0 or -errno. */
int reload_listen(struct start_ctx *c);
void reload_unlisten(struct start_ctx *c);
/* A `cargowall reload` client connected on ctl_fd: serve it (applies or refuses). */
void reload_serve(struct start_ctx *c);
/* Apply the policy of src (NULL: the recorded sources, SIGHUP; else recorded in their place,
 * moved out of *src, when it applies). 0 applied (or unchanged), 1 refused; msg says what
 * happened, the lifecycle record is written. */
int reload_apply(struct start_ctx *c, struct policy_src *src, char *msg, size_t len);
int cmd_summary(int argc, char **argv);

/* Build the policy from --config, CARGOWALL_* and the list options. Prints the error. */
int launch_build_policy(const struct launch_opts *o, struct policy *p);

int state_write(const char *state_dir, const struct launch_state *st);
int state_read(const char *state_dir, struct launch_state *st);
/* <name>.pid, and <name>.start: the process's start time (/proc/PID/stat field 22), which
 * `stop` and `status` compare before they trust the pid. */
int pidfile_write(const char *state_dir, const char *name, int pid);
int pidfile_read(const char *state_dir, const char *name);
void pidfile_remove(const char *state_dir, const char *name);
/* Is pid alive and named like one of ours (/proc/PID/stat comm "cargowall*")? Only for
 * messages: before signalling, proc_open_ours(). */
bool pid_is_ours(int pid);
/* A pidfd for the process recorded as <name> in the state dir, if it is still that process
 * (same start time, comm "cargowall*"); *pid set. The pidfd, or -errno (-ESRCH: gone or not
 * ours). */
int proc_open_ours(const char *state_dir, const char *name, int *pid);
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
/* The (first) IPv4 address of interface ifname, dotted: 0, -ENODEV (no such interface) or
 * -EADDRNOTAVAIL (no IPv4 address). */
int sys_iface_ipv4(const char *ifname, char *out, size_t len);

#endif
