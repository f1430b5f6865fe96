// SPDX-License-Identifier: Apache-2.0
/* The state directory: state.json, pid files; stop and status read them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/log.h"
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

bool pid_is_ours(int pid)
{
	char link[64], exe[PATH_MAX], *slash;
	ssize_t n;

	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0)
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return !strcmp(exe, self_dir()) && !strncmp(slash + 1, "cargowall", 9);
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

int pidfile_write(const char *state_dir, const char *name, int pid)
{
	char file[64], text[32];

	snprintf(file, sizeof(file), "%s.pid", name);
	snprintf(text, sizeof(text), "%d\n", pid);
	return write_file(state_dir, file, text);
}

int pidfile_read(const char *state_dir, const char *name)
{
	char path[PATH_MAX], buf[32];
	unsigned long v;
	char *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.pid", state_dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v == 0 || v > INT_MAX)
		return -EINVAL;
	return (int)v;
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

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait for a process that is not our child to go away. */
static bool wait_gone(int pid, long timeout_ms)
{
	long waited;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		sleep_ms(10);
	}
	return false;
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
	static const char *const files[] = { "state.json", "cargowall.pid", "enforcer.pid",
					     "dnsd.pid", "auditd.pid" };
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
	int pid, ret = 0;
	size_t i;

	if (!dir) {
		fprintf(stderr, "usage: cargowall stop [--state-dir DIR]\n");
		return 2;
	}
	if (state_read(dir, &st) < 0) {
		printf("cargowall: not running (no state in %s)\n", dir);
		return 0;
	}
	pid = pidfile_read(dir, "cargowall");
	if (pid > 0 && pid_is_ours(pid)) {
		kill(pid, SIGTERM);
		if (!wait_gone(pid, CW_STOP_TIMEOUT_MS)) {
			log_warnx("supervisor %d did not stop in time; killing it", pid);
			kill(pid, SIGKILL);
			wait_gone(pid, 1000);
		}
	}
	/* After a crash, or a supervisor that was killed, the children may be left. */
	for (i = 0; i < sizeof(child_names) / sizeof(child_names[0]); i++) {
		int cpid = pidfile_read(dir, child_names[i]);

		if (cpid > 0 && pid_is_ours(cpid)) {
			kill(cpid, SIGTERM);
			if (!wait_gone(cpid, CW_STOP_TIMEOUT_MS)) {
				kill(cpid, SIGKILL);
				wait_gone(cpid, 1000);
			}
		}
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

int cmd_status(int argc, char **argv)
{
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
	pid = pidfile_read(dir, "cargowall");
	procs = json_object();
	for (i = 0; i < sizeof(child_names) / sizeof(child_names[0]); i++) {
		int cpid = pidfile_read(dir, child_names[i]);
		bool alive = cpid > 0 && pid_is_ours(cpid);

		all_alive &= alive;
		json_object_set_new(
			procs, child_names[i],
			json_pack("{s:i,s:b}", "pid", cpid > 0 ? cpid : 0, "alive", alive));
	}
	all_alive &= pid > 0 && pid_is_ours(pid);
	o = json_pack("{s:b,s:i,s:s,s:s,s:s,s:s,s:o}", "running", all_alive, "pid",
		      pid > 0 ? pid : 0, "mode", st.mode, "bpffs", st.bpffs, "cgroup", st.cgroup,
		      "audit_log", st.audit_log, "processes", procs);
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
	}
	json_decref(o);
	return all_alive ? 0 : 1;
}
