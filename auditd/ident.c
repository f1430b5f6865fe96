// SPDX-License-Identifier: Apache-2.0
/* Who did it: the cmdline cache keyed by (pid, start time) and the socket-cookie identity cache
 * (ident.h says why each exists). */
#include "ident.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct ident_proc {
	uint32_t pid; /* 0: empty slot */
	uint64_t start_ns;
	char *cmdline; /* NULL: unknown (remembered: that process will never come back) */
	size_t len;
};

struct ident_sock {
	uint64_t cookie; /* 0: empty slot */
	uint64_t start_ns;
	uint32_t pid, tid, ppid, uid, step;
	uint8_t exe_parts;
	uint8_t exe_trunc;
	char comm[CW_COMM_LEN];
	char exe[CW_EXE_PARTS][CW_EXE_PART_LEN];
};

/* The tables straight from mmap: a page is resident only once a slot on it is written, where
 * calloc() may carve them from freed heap memory and clear every page (issue 6). */
static void *table_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int ident_init(struct ident *id, const char *proc_root, long clk_tck)
{
	memset(id, 0, sizeof(*id));
	id->proc_dirfd = -1;
	if (clk_tck <= 0 || clk_tck > 1000000000L || 1000000000L % clk_tck)
		return -EINVAL;
	id->ns_per_tick = 1000000000ULL / (uint64_t)clk_tck;
	id->proc = table_map(IDENT_PROC_SLOTS * sizeof(*id->proc));
	id->sock = table_map(IDENT_SOCK_SLOTS * sizeof(*id->sock));
	if (!id->proc || !id->sock) {
		ident_free(id);
		return -ENOMEM;
	}
	id->proc_dirfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (id->proc_dirfd < 0) {
		int err = -errno;

		ident_free(id);
		return err;
	}
	return 0;
}

void ident_free(struct ident *id)
{
	size_t i;

	if (id->proc)
		for (i = 0; i < IDENT_PROC_SLOTS; i++)
			free(id->proc[i].cmdline);
	if (id->proc)
		munmap(id->proc, IDENT_PROC_SLOTS * sizeof(*id->proc));
	if (id->sock)
		munmap(id->sock, IDENT_SOCK_SLOTS * sizeof(*id->sock));
	if (id->proc_dirfd >= 0)
		close(id->proc_dirfd);
	id->proc = NULL;
	id->sock = NULL;
	id->proc_dirfd = -1;
}

/* Read up to len - 1 bytes of PID/name under the /proc root; the byte count, or -errno. */
static ssize_t read_proc_file(const struct ident *id, uint32_t pid, const char *name, char *buf,
			      size_t len)
{
	char path[48];
	size_t off = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%u/%s", pid, name);
	fd = openat(id->proc_dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (off < len - 1) {
		n = read(fd, buf + off, len - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	return (ssize_t)off;
}

/* Field 22 of /proc/PID/stat, starttime in clock ticks since boot. The comm (field 2) may hold
 * spaces and parentheses: fields are counted after its last ')'. 0 or -errno. */
static int proc_start_ticks(const struct ident *id, uint32_t pid, uint64_t *ticks)
{
	char buf[1024], *p, *end;
	unsigned long long v;
	ssize_t n;
	int field;

	n = read_proc_file(id, pid, "stat", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* p is at the end of field 2; skip the space before each of fields 3..22 */
	for (field = 2; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	*ticks = v;
	return 0;
}

static bool same_process(const struct ident *id, uint32_t pid, uint64_t start_ns)
{
	uint64_t ticks;

	return !proc_start_ticks(id, pid, &ticks) && ticks == start_ns / id->ns_per_tick;
}

/* The cmdline of pid if it is still the process that started at start_ns: malloc()ed,
 * arguments joined by spaces, or NULL. */
static char *read_cmdline(const struct ident *id, uint32_t pid, uint64_t start_ns, size_t *len)
{
	static const char cut[] = "...";
	char *buf, *shrunk;
	ssize_t n;
	size_t i;

	if (!same_process(id, pid, start_ns))
		return NULL;
	buf = malloc(IDENT_CMDLINE_MAX + 1);
	if (!buf)
		return NULL;
	n = read_proc_file(id, pid, "cmdline", buf, IDENT_CMDLINE_MAX + 1);
	/* Checked again after the read: had the pid been reused in between, the start time
	 * differs now (it cannot come back to the old one). */
	if (n <= 0 || !same_process(id, pid, start_ns)) {
		free(buf);
		return NULL;
	}
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	if (n == 0) { /* a zombie, or a kernel thread: nothing to show */
		free(buf);
		return NULL;
	}
	for (i = 0; i < (size_t)n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	if ((size_t)n == IDENT_CMDLINE_MAX) {
		memcpy(buf + n - (sizeof(cut) - 1), cut, sizeof(cut) - 1);
		buf[n] = '\0';
	}
	/* The cache holds IDENT_PROC_SLOTS of these: a full-size buffer each was ~4 MiB of
	 * auditd's memory for cmdlines of a few dozen bytes (issue 6). */
	shrunk = realloc(buf, (size_t)n + 1);
	if (shrunk)
		buf = shrunk;
	*len = (size_t)n;
	return buf;
}

static size_t slot_of(uint64_t key, size_t slots)
{
	/* Fibonacci hashing: pids and cookies are sequential, the top bits spread them */
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 40) & (slots - 1);
}

const char *ident_cmdline(struct ident *id, uint32_t pid, uint64_t start_ns, size_t *len)
{
	struct ident_proc *p;

	if (!pid || !start_ns)
		return NULL;
	p = &id->proc[slot_of(((uint64_t)pid << 32) ^ start_ns, IDENT_PROC_SLOTS)];
	if (p->pid == pid && p->start_ns == start_ns) {
		id->proc_hits++;
	} else {
		id->proc_misses++;
		free(p->cmdline);
		p->pid = pid;
		p->start_ns = start_ns;
		p->len = 0;
		p->cmdline = read_cmdline(id, pid, start_ns, &p->len);
	}
	if (!p->cmdline) {
		id->proc_unknown++;
		return NULL;
	}
	*len = p->len;
	return p->cmdline;
}

void ident_sock_remember(struct ident *id, const struct cw_conn_event *e)
{
	struct ident_sock *s;

	if (!e->cookie || !e->pid)
		return;
	s = &id->sock[slot_of(e->cookie, IDENT_SOCK_SLOTS)];
	s->cookie = e->cookie;
	s->start_ns = e->start_ns;
	s->pid = e->pid;
	s->tid = e->tid;
	s->ppid = e->ppid;
	s->uid = e->uid;
	s->step = e->step;
	s->exe_parts = e->exe_parts;
	s->exe_trunc = !!(e->flags & CW_EVF_EXE_TRUNC);
	memcpy(s->comm, e->comm, sizeof(s->comm));
	memcpy(s->exe, e->exe, sizeof(s->exe));
}

bool ident_sock_fill(struct ident *id, struct cw_conn_event *e)
{
	const struct ident_sock *s;

	if (!e->cookie || e->pid)
		return false;
	s = &id->sock[slot_of(e->cookie, IDENT_SOCK_SLOTS)];
	if (s->cookie != e->cookie) {
		id->sock_missed++;
		return false;
	}
	id->sock_joined++;
	e->start_ns = s->start_ns;
	e->pid = s->pid;
	e->tid = s->tid;
	e->ppid = s->ppid;
	e->uid = s->uid;
	e->step = s->step;
	e->exe_parts = s->exe_parts;
	if (s->exe_trunc)
		e->flags |= CW_EVF_EXE_TRUNC;
	memcpy(e->comm, s->comm, sizeof(e->comm));
	memcpy(e->exe, s->exe, sizeof(e->exe));
	return true;
}
