// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * Can this runner enforce at all? The kernel (5.8 or later: ring buffers, CAP_BPF, the sock_addr
 * hooks the enforcer attaches), the bpf() system call, a mounted cgroup v2 hierarchy, and TC
 * clsact on the uplinks. The TC trial adds a clsact qdisc and removes it again, as CargoWall's
 * action does; it is a function handed in (probeTc), so that the unit tests never run tc and the
 * lab test runs it on a lab interface only.
 */
const MIN_KERNEL = [5, 8];

function kernelVersion(release) {
	const m = /^([0-9]+)\.([0-9]+)/.exec(release || '');

	return m ? [Number(m[1]), Number(m[2])] : null;
}

function kernelOk(release) {
	const v = kernelVersion(release);

	return !!v && (v[0] > MIN_KERNEL[0] || (v[0] === MIN_KERNEL[0] && v[1] >= MIN_KERNEL[1]));
}

/* A cgroup2 mount of the whole hierarchy in /proc/self/mountinfo (as the launcher looks). */
function cgroup2Mount(mountinfo) {
	for (const line of (mountinfo || '').split('\n')) {
		const sep = line.indexOf(' - ');

		if (sep < 0 || !line.slice(sep + 3).startsWith('cgroup2 '))
			continue;
		const f = line.slice(0, sep).split(' ');
		if (f[3] === '/')
			return f[4];
	}
	return null;
}

/* The interfaces of the default routes, IPv4 (/proc/net/route) and IPv6 (/proc/net/ipv6_route),
 * the launcher's own default for --interface. */
function defaultRouteIfaces(route, ipv6Route) {
	const out = [];
	const add = (n) => n && n !== 'lo' && !out.includes(n) && out.push(n);

	for (const line of (route || '').split('\n').slice(1)) {
		const f = line.trim().split(/\s+/);

		if (f.length > 1 && f[1] === '00000000')
			add(f[0]);
	}
	for (const line of (ipv6Route || '').split('\n')) {
		const f = line.trim().split(/\s+/);

		if (f.length === 10 && /^0{32}$/.test(f[0]) && f[1] === '00')
			add(f[9]);
	}
	return out;
}

const IFNAME_RE = /^[^\s/]{1,15}$/;

/* The TC trial on one interface, through runner.priv. Never run by the unit tests. */
function tcProbe(runner, iface) {
	if (!IFNAME_RE.test(iface))
		return { ok: false, detail: `"${iface}" is not an interface name` };
	const add = runner.priv(['tc', 'qdisc', 'add', 'dev', iface, 'clsact']);

	if (add.status === 0) {
		const del = runner.priv(['tc', 'qdisc', 'del', 'dev', iface, 'clsact']);

		return del.status === 0 ? { ok: true, detail: 'clsact added and removed' }
					: { ok: false, detail: `clsact added but not removed: ${del.stderr.trim()}` };
	}
	const show = runner.priv(['tc', 'qdisc', 'show', 'dev', iface]);
	if (show.status === 0 && /\bclsact\b/.test(show.stdout))
		return { ok: true, detail: 'clsact already present' };
	return { ok: false, detail: (add.stderr || add.stdout).trim() || `tc exited ${add.status}` };
}

/*
 * h: {release, exists(path), readFile(path) (null when unreadable), ifaces, probeTc(iface),
 * privileged (optional: whether root commands can run at all; when false, no trial)}.
 * Returns {ok, checks: [{what, ok, detail}]}: every check runs, so the log names all problems.
 */
function checkSupport(h) {
	const checks = [];
	const add = (what, ok, detail) => checks.push({ what, ok, detail });

	if (h.privileged !== undefined)
		add('root (directly or sudo -n)', h.privileged,
		    h.privileged ? 'yes' : 'neither root nor password-less sudo');
	add('kernel >= 5.8', kernelOk(h.release), h.release || 'unknown');
	add('bpf() system call', h.exists('/proc/sys/kernel/unprivileged_bpf_disabled'),
	    'CONFIG_BPF_SYSCALL (/proc/sys/kernel/unprivileged_bpf_disabled)');
	const cg = cgroup2Mount(h.readFile('/proc/self/mountinfo'));
	add('cgroup v2 mounted', !!cg, cg || 'no cgroup2 mount in /proc/self/mountinfo');
	if (!h.ifaces.length) {
		add('TC clsact', false, 'no default route: no uplink to attach to');
	} else if (h.privileged === false) {
		add('TC clsact', false, 'not tried without root');
	} else {
		for (const ifc of h.ifaces) {
			const r = h.probeTc(ifc);

			add(`TC clsact on ${ifc}`, r.ok, r.detail);
		}
	}
	return { ok: checks.every((c) => c.ok), checks };
}

module.exports = {
	kernelVersion,
	kernelOk,
	cgroup2Mount,
	defaultRouteIfaces,
	tcProbe,
	checkSupport,
};
