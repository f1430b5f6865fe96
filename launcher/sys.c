// SPDX-License-Identifier: Apache-2.0
/* Facts about the host that start needs: default-route interfaces, the cgroup2 mount, the
 * resolver in use, the daemons' users, bpffs. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include "../common/child.h"
#include "../common/log.h"
#include "launcher.h"

static int add_iface(char out[][32], size_t max, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp(out[i], name))
			return 0;
	if (*n == max || strlen(name) >= 32)
		return -E2BIG;
	strcpy(out[(*n)++], name);
	return 0;
}

int sys_default_route_ifaces(char out[][32], size_t max, size_t *n)
{
	char line[512], ifname[64], dst[64];
	FILE *f;

	*n = 0;
	f = fopen("/proc/net/route", "re");
	if (f) {
		/* Iface Destination Gateway ...: the default route has destination 00000000. */
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%63s %63s", ifname, dst) == 2 && !strcmp(dst, "00000000"))
				add_iface(out, max, n, ifname);
		fclose(f);
	}
	f = fopen("/proc/net/ipv6_route", "re");
	if (f) {
		char d[64], dl[16], s[64], sl[16], nh[64], m[16], r[16], u[16], fl[16];

		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%63s %15s %63s %15s %63s %15s %15s %15s %15s %63s", d, dl,
				   s, sl, nh, m, r, u, fl, ifname) == 10 &&
			    !strcmp(dl, "00") && strspn(d, "0") == 32 && strcmp(ifname, "lo"))
				add_iface(out, max, n, ifname);
		fclose(f);
	}
	return *n ? 0 : -ENOENT;
}

/* A cgroup2 mount of the whole hierarchy (mount root "/") from /proc/self/mountinfo: the usual
 * place under /sys/fs/cgroup when there is one, else the first. Another tool's (or a test lab's)
 * extra mount of the same hierarchy may go away while we run. */
int sys_cgroup2_mount(char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char root[1024], mnt[1024], *sep;
		bool usual;

		if (sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) != 2)
			continue;
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep, " - cgroup2 ", 11) || strcmp(root, "/"))
			continue;
		usual = !strncmp(mnt, "/sys/fs/cgroup", 14);
		if (ret == 0 && !usual)
			continue;
		if (strlen(mnt) >= len) {
			ret = -ENAMETOOLONG;
			continue;
		}
		strcpy(out, mnt);
		ret = 0;
		if (usual)
			break;
	}
	fclose(f);
	return ret;
}

int sys_self_cgroup(char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		if (strncmp(line, "0::", 3))
			continue;
		n = strcspn(line + 3, "\n");
		if (n >= len) {
			ret = -ENAMETOOLONG;
			break;
		}
		memcpy(out, line + 3, n);
		out[n] = '\0';
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static int first_nameserver(const char *path, char *out, size_t len)
{
	char line[512], addr[128];
	FILE *f = fopen(path, "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned char a[16];

		if (sscanf(line, " nameserver %127s", addr) != 1)
			continue;
		/* A loopback stub (systemd-resolved's 127.0.0.53, or dnsd itself) is not the
		 * upstream. */
		if (inet_pton(AF_INET, addr, a) != 1 || a[0] == 127)
			continue;
		if (strlen(addr) >= len) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(out, addr);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

int sys_default_upstream(char *out, size_t len)
{
	if (first_nameserver("/etc/resolv.conf", out, len) == 0)
		return 0;
	return first_nameserver("/run/systemd/resolve/resolv.conf", out, len);
}

int sys_ensure_user(const char *name)
{
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int status;

	if (child_lookup_user(name, &uid, &gid) == 0)
		return uid ? 0 : -EPERM;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("useradd", "useradd", "--system", "--no-create-home", "--home-dir",
		       "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group", name,
		       (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EIO;
	if (child_lookup_user(name, &uid, &gid) < 0)
		return -ENOENT;
	return uid ? 0 : -EPERM;
}

static bool on_bpffs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == BPF_FS_MAGIC;
}

/* The pin directory must sit on a bpffs. The default parent, /sys/fs/bpf, is mounted when it is
 * missing; a directory the user named is never mounted over. */
int sys_ensure_bpffs(const char *dir, bool is_default)
{
	char parent[4096], *slash;

	if (strlen(dir) >= sizeof(parent))
		return -ENAMETOOLONG;
	strcpy(parent, dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EINVAL;
	*slash = '\0';
	if (on_bpffs(parent))
		return 0;
	if (!is_default)
		return -ENOTSUP;
	if (mount("bpf", parent, "bpf", 0, "mode=0700") < 0)
		return -errno;
	return 0;
}

int sys_iface_ipv4(const char *ifname, char *out, size_t len)
{
	struct ifreq ifr;
	int fd, err = 0;

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	ifr.ifr_addr.sa_family = AF_INET;
	if (ioctl(fd, SIOCGIFADDR, &ifr) < 0)
		err = errno == ENODEV ? -ENODEV : -EADDRNOTAVAIL;
	close(fd);
	if (!err && !inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr, out,
			       (socklen_t)len))
		err = -ENOSPC;
	return err;
}
