// SPDX-License-Identifier: Apache-2.0
/* The state directory: state.json, pid files; stop and status read them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "../common/log.h"
#include "../proto/maps.h"
#include "launcher.h"

static const char *const child_names[] = { "enforcer", "dnsd", "auditd" };

int path_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

const char *self_dir(void)
{
	static char dir[PATH_MAX];
	ssize_t n;
	char *slash;

	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n < 0)
		fatal("readlink /proc/self/exe");
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	return dir;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t len = strlen(text);
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* From /proc/PID/stat, readable without ptrace rights (unlike /proc/PID/exe, which our
 * non-dumpable children hide): the command name and the start time in clock ticks since boot,
 * which together with the pid name one process for good. 0, or -errno (-ESRCH: no such pid). */
static int proc_stat(int pid, char *comm, size_t comm_len, unsigned long long *start)
{
	char path[64], buf[1024], *open_paren, *close_paren, *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the last ')' */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EINVAL;
	snprintf(comm, comm_len, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	/* fields after comm start at 3 (state); starttime is 22 */
	p = close_paren + 1;
	for (field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EINVAL;
	errno = 0;
	*start = strtoull(p + 1, NULL, 10);
	if (errno || !*start)
		return -EINVAL;
	return 0;
}

bool pid_is_ours(int pid)
{
	unsigned long long start;
	char comm[64];

	return pid > 0 && proc_stat(pid, comm, sizeof(comm), &start) == 0 &&
	       !strncmp(comm, "cargowall", 9);
}

static int write_file(const char *dir, const char *name, const char *text);

int pidfile_write(const char *state_dir, const char *name, int pid)
{
	char file[64], text[32], comm[64];
	unsigned long long start;
	int ret;

	/* the start time first: a pid file is only ever trusted together with it */
	ret = proc_stat(pid, comm, sizeof(comm), &start);
	if (ret)
		return ret;
	snprintf(file, sizeof(file), "%s.start", name);
	snprintf(text, sizeof(text), "%llu\n", start);
	ret = write_file(state_dir, file, text);
	if (ret)
		return ret;
	snprintf(file, sizeof(file), "%s.pid", name);
	snprintf(text, sizeof(text), "%d\n", pid);
	return write_file(state_dir, file, text);
}

void pidfile_remove(const char *state_dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.pid", state_dir, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.start", state_dir, name);
	unlink(path);
}

static int read_number(const char *state_dir, const char *file, unsigned long long max,
		       unsigned long long *out)
{
	char path[PATH_MAX], buf[32];
	unsigned long long v;
	char *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", state_dir, file);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v == 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int pidfile_read(const char *state_dir, const char *name)
{
	unsigned long long v;
	char file[64];
	int ret;

	snprintf(file, sizeof(file), "%s.pid", name);
	ret = read_number(state_dir, file, INT_MAX, &v);
	return ret ? ret : (int)v;
}

/* Is pid the process the state dir recorded as <name>? */
static bool same_process(int pid, unsigned long long want_start)
{
	unsigned long long start;
	char comm[64];

	return proc_stat(pid, comm, sizeof(comm), &start) == 0 && start == want_start &&
	       !strncmp(comm, "cargowall", 9);
}

int proc_open_ours(const char *state_dir, const char *name, int *pid_out)
{
	unsigned long long start;
	char file[64];
	int pid, fd, ret;

	*pid_out = 0;
	pid = pidfile_read(state_dir, name);
	if (pid < 0)
		return pid;
	*pid_out = pid;
	snprintf(file, sizeof(file), "%s.start", name);
	ret = read_number(state_dir, file, ULLONG_MAX, &start);
	if (ret)
		return ret == -ENOENT ? -ESRCH : ret;
	if (!same_process(pid, start))
		return -ESRCH;
	fd = pidfd_open(pid, 0);
	if (fd < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	/* The pid could have been recycled between the check and pidfd_open: check again; from
	 * now on the pidfd names that one process whatever happens to the number. */
	if (!same_process(pid, start)) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

int state_write(const char *state_dir, const struct launch_state *st)
{
	json_t *o, *ifs = json_array();
	char *text;
	size_t i;
	int ret;

	for (i = 0; i < st->n_ifaces; i++)
		json_array_append_new(ifs, json_string(st->ifaces[i]));
	o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:o,s:b}", "pid", st->pid, "mode", st->mode,
		      "bpffs", st->bpffs, "cgroup", st->cgroup, "cg_base", st->cg_base, "audit_log",
		      st->audit_log, "interfaces", ifs, "scoped", st->scoped);
	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (!text)
		return -ENOMEM;
	ret = write_file(state_dir, "state.json", text);
	free(text);
	return ret;
}

static int copy_str(json_t *o, const char *key, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (!v || strlen(v) >= len)
		return -EINVAL;
	strcpy(out, v);
	return 0;
}

int state_read(const char *state_dir, struct launch_state *st)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *o, *ifs, *v;
	size_t i;
	int ret = -EINVAL;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/state.json", state_dir);
	if (access(path, F_OK) < 0)
		return -ENOENT;
	o = json_load_file(path, 0, &jerr);
	if (!o)
		return -EINVAL;
	st->pid = (int)json_integer_value(json_object_get(o, "pid"));
	if (copy_str(o, "mode", st->mode, sizeof(st->mode)) ||
	    copy_str(o, "bpffs", st->bpffs, sizeof(st->bpffs)) ||
	    copy_str(o, "cgroup", st->cgroup, sizeof(st->cgroup)) ||
	    copy_str(o, "cg_base", st->cg_base, sizeof(st->cg_base)) ||
	    copy_str(o, "audit_log", st->audit_log, sizeof(st->audit_log)))
		goto out;
	st->scoped = json_is_true(json_object_get(o, "scoped"));
	ifs = json_object_get(o, "interfaces");
	json_array_foreach (ifs, i, v) {
		const char *s = json_string_value(v);

		if (!s || strlen(s) >= sizeof(st->ifaces[0]) || st->n_ifaces == CW_IFACES_MAX)
			goto out;
		strcpy(st->ifaces[st->n_ifaces++], s);
	}
	ret = 0;
out:
	json_decref(o);
	return ret;
}

int run_enforcer_cleanup(const struct launch_state *st)
{
	char prog[PATH_MAX];
	char *argv[8 + 2 * CW_IFACES_MAX];
	size_t i, n = 0;
	int status;
	pid_t pid;

	if (path_fmt(prog, sizeof(prog), "%s/cargowall-enforcer", self_dir()))
		return -ENAMETOOLONG;
	argv[n++] = prog;
	argv[n++] = "--cleanup";
	argv[n++] = "--bpffs";
	argv[n++] = (char *)st->bpffs;
	argv[n++] = "--cgroup";
	argv[n++] = (char *)st->cgroup;
	for (i = 0; i < st->n_ifaces; i++) {
		argv[n++] = "--interface";
		argv[n++] = (char *)st->ifaces[i];
	}
	if (st->scoped)
		argv[n++] = "--scoped";
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execv(prog, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Wait until the process behind pidfd has exited (it is not our child: nothing to reap). */
static bool wait_gone(int pidfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) > 0;
}

/* SIGTERM the process recorded as <name>, SIGKILL if it does not go; only through a pidfd of
 * the very process the state dir recorded. */
static void stop_recorded(const char *dir, const char *name)
{
	int pid, fd = proc_open_ours(dir, name, &pid);

	if (fd < 0) {
		if (pid > 0 && fd != -ESRCH)
			log_warnx("%s (pid %d): cannot tell whether it is ours: %s; not signalled",
				  name, pid, strerror(-fd));
		return;
	}
	if (pidfd_send_signal(fd, SIGTERM, NULL, 0) == 0 && !wait_gone(fd, CW_STOP_TIMEOUT_MS)) {
		log_warnx("%s %d did not stop in time; killing it", name, pid);
		pidfd_send_signal(fd, SIGKILL, NULL, 0);
		wait_gone(fd, 1000);
	}
	close(fd);
}

/* Is the process recorded as <name> alive and ours? Its pid in *pid (0 when none). */
static bool recorded_alive(const char *dir, const char *name, int *pid)
{
	int fd = proc_open_ours(dir, name, pid);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static const char *parse_state_dir(int argc, char **argv, bool *json)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = CW_STATE_DIR_DEFAULT;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			dir = optarg;
		else if (c == 'j' && json)
			*json = true;
		else
			return NULL;
	}
	if (optind != argc) {
		fprintf(stderr, "cargowall: unexpected argument \"%s\"\n", argv[optind]);
		return NULL;
	}
	return dir;
}

void state_remove_cgroups(const struct launch_state *st)
{
	char path[PATH_MAX + 32];
	size_t i;

	if (!st->cg_base[0])
		return;
	for (i = 0; i < sizeof(child_names) / sizeof(child_names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", st->cg_base, child_names[i]);
		if (rmdir(path) < 0 && errno != ENOENT)
			log_warn("rmdir %s", path);
	}
	if (rmdir(st->cg_base) < 0 && errno != ENOENT)
		log_warn("rmdir %s", st->cg_base);
}

void state_remove_files(const char *state_dir)
{
	static const char *const files[] = { "state.json",     "cargowall.pid", "enforcer.pid",
					     "dnsd.pid",       "auditd.pid",	"cargowall.start",
					     "enforcer.start", "dnsd.start",	"auditd.start",
					     "control.sock" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", state_dir, files[i]);
		unlink(path);
	}
}

int cmd_stop(int argc, char **argv)
{
	const char *dir = parse_state_dir(argc, argv, NULL);
	struct launch_state st;
	char path[PATH_MAX];
	int ret = 0;
	size_t i;

	if (!dir) {
		fprintf(stderr, "usage: cargowall stop [--state-dir DIR]\n");
		return 2;
	}
	if (state_read(dir, &st) < 0) {
		printf("cargowall: not running (no state in %s)\n", dir);
		return 0;
	}
	/* The supervisor stops its children itself. */
	stop_recorded(dir, "cargowall");
	/* After a crash, or a supervisor that was killed, the children may be left. */
	for (i = 0; i < sizeof(child_names) / sizeof(child_names[0]); i++)
		stop_recorded(dir, child_names[i]);
	/* A supervisor removes state.json only after its own complete cleanup. */
	snprintf(path, sizeof(path), "%s/state.json", dir);
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		printf("cargowall: stopped\n");
		return 0;
	}
	if (run_enforcer_cleanup(&st) < 0) {
		log_warnx("cleanup of programs and pins under %s failed", st.bpffs);
		ret = 1;
	}
	state_remove_cgroups(&st);
	if (!ret)
		state_remove_files(dir);
	printf(ret ? "cargowall: stop incomplete\n" : "cargowall: stopped\n");
	return ret;
}

/* Sums over every CPU of the pinned counters map: events lost (ring buffer full) and tamper
 * events undone. 0, or -errno (not pinned: not running, or another version's map). */
static int counters_read(const struct launch_state *st, uint64_t *lost, uint64_t *tamper)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = BPF_F_RDONLY);
	int ncpus = libbpf_num_possible_cpus(), fd, err = 0, i;
	char path[PATH_MAX + 16];
	__u64 *vals;
	__u32 key;

	*lost = *tamper = 0;
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	if (path_fmt(path, sizeof(path), "%s/%s", st->bpffs, CW_PIN_COUNTERS))
		return -ENAMETOOLONG;
	fd = bpf_obj_get_opts(path, &opts);
	if (fd < 0)
		return -errno;
	vals = calloc((size_t)ncpus, sizeof(*vals));
	if (!vals) {
		close(fd);
		return -ENOMEM;
	}
	for (key = CW_CNT_EVENTS_LOST; key <= CW_CNT_TAMPER_SETTINGS && !err; key++) {
		if (key != CW_CNT_EVENTS_LOST && key < CW_CNT_TAMPER_ATTACH)
			continue;
		if (bpf_map_lookup_elem(fd, &key, vals) < 0) {
			err = -errno;
			break;
		}
		for (i = 0; i < ncpus; i++)
			*(key == CW_CNT_EVENTS_LOST ? lost : tamper) += vals[i];
	}
	free(vals);
	close(fd);
	return err;
}

int cmd_status(int argc, char **argv)
{
	uint64_t lost = 0, tamper = 0;
	bool have_counters;
	bool json = false, all_alive = true;
	const char *dir = parse_state_dir(argc, argv, &json);
	struct launch_state st;
	json_t *o, *procs;
	size_t i;
	int pid;

	if (!dir) {
		fprintf(stderr, "usage: cargowall status [--state-dir DIR] [--json]\n");
		return 2;
	}
	if (state_read(dir, &st) < 0) {
		if (json)
			printf("{\"running\":false}\n");
		else
			printf("cargowall: not running\n");
		return 1;
	}
	procs = json_object();
	for (i = 0; i < sizeof(child_names) / sizeof(child_names[0]); i++) {
		int cpid;
		bool alive = recorded_alive(dir, child_names[i], &cpid);

		all_alive &= alive;
		json_object_set_new(
			procs, child_names[i],
			json_pack("{s:i,s:b}", "pid", cpid > 0 ? cpid : 0, "alive", alive));
	}
	all_alive &= recorded_alive(dir, "cargowall", &pid);
	have_counters = counters_read(&st, &lost, &tamper) == 0;
	o = json_pack("{s:b,s:i,s:s,s:s,s:s,s:s,s:o}", "running", all_alive, "pid",
		      pid > 0 ? pid : 0, "mode", st.mode, "bpffs", st.bpffs, "cgroup", st.cgroup,
		      "audit_log", st.audit_log, "processes", procs);
	/* null when the pinned counters cannot be read */
	json_object_set_new(o, "events_lost",
			    have_counters ? json_integer((json_int_t)lost) : json_null());
	json_object_set_new(o, "tamper_events",
			    have_counters ? json_integer((json_int_t)tamper) : json_null());
	if (json) {
		char *s = json_dumps(o, JSON_COMPACT);

		printf("%s\n", s ? s : "{}");
		free(s);
	} else {
		printf("cargowall: %s, mode %s, supervisor pid %d\n",
		       all_alive ? "running" : "degraded", st.mode, pid > 0 ? pid : 0);
		for (i = 0; i < sizeof(child_names) / sizeof(child_names[0]); i++) {
			json_t *p = json_object_get(procs, child_names[i]);

			printf("  %-8s pid %-8lld %s\n", child_names[i],
			       (long long)json_integer_value(json_object_get(p, "pid")),
			       json_is_true(json_object_get(p, "alive")) ? "alive" : "NOT RUNNING");
		}
		printf("  audit log %s\n", st.audit_log);
		if (have_counters)
			printf("  events lost %llu (ring buffer full), tamper events undone %llu\n",
			       (unsigned long long)lost, (unsigned long long)tamper);
		else
			printf("  counters: cannot read %s/%s\n", st.bpffs, CW_PIN_COUNTERS);
	}
	json_decref(o);
	return all_alive ? 0 : 1;
}
