// SPDX-License-Identifier: Apache-2.0
'use strict';
/* The kernel support check. The TC trial is always a fake here: unit tests never run tc. */
const test = require('node:test');
const assert = require('node:assert/strict');

const sup = require('../../action/lib/support');

const MOUNTINFO_HYBRID = [
	'24 29 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw',
	'30 24 0:26 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro,mode=755',
	'31 30 0:27 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw,nsdelegate',
	'32 30 0:28 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,name=systemd',
].join('\n');

const ROUTE = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	0100000A	0003	0	0	100	00000000	0	0	0
eth0	0000000A	00000000	0001	0	0	0	00FFFFFF	0	0	0
wg0	00000000	00000000	0001	0	0	200	00000000	0	0	0
`;
const ROUTE6 = [
	'00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth1',
	'00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo',
	'20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
].join('\n');

test('kernel version', () => {
	assert.deepEqual(sup.kernelVersion('6.18.0-cloud-amd64'), [6, 18]);
	assert.equal(sup.kernelOk('6.18.0'), true);
	assert.equal(sup.kernelOk('5.8.0-1'), true);
	assert.equal(sup.kernelOk('5.4.0-150-generic'), false);
	assert.equal(sup.kernelOk('4.19.0'), false);
	assert.equal(sup.kernelOk('garbage'), false);
	assert.equal(sup.kernelOk(''), false);
});

test('cgroup2 mount from mountinfo (hybrid layout, lab mount, none)', () => {
	assert.equal(sup.cgroup2Mount(MOUNTINFO_HYBRID), '/sys/fs/cgroup/unified');
	assert.equal(sup.cgroup2Mount('40 1 0:30 / /run/cwlab-1/cg rw - cgroup2 none rw'),
		     '/run/cwlab-1/cg');
	/* A bind of a sub-cgroup is not the whole hierarchy. */
	assert.equal(sup.cgroup2Mount('40 1 0:30 /sub /mnt rw - cgroup2 none rw'), null);
	assert.equal(sup.cgroup2Mount(MOUNTINFO_HYBRID.split('\n').slice(0, 2).join('\n')), null);
	assert.equal(sup.cgroup2Mount(null), null);
});

test('default-route interfaces, IPv4 then IPv6, lo never', () => {
	assert.deepEqual(sup.defaultRouteIfaces(ROUTE, ROUTE6), ['eth0', 'wg0', 'eth1']);
	assert.deepEqual(sup.defaultRouteIfaces('', ''), []);
	assert.deepEqual(sup.defaultRouteIfaces(null, null), []);
});

function fakeRunner(results) {
	const calls = [];

	return {
		calls,
		priv: (argv) => {
			calls.push(argv.join(' '));
			const r = results.shift();

			return { status: r[0], stdout: r[1] || '', stderr: r[2] || '' };
		},
	};
}

test('tcProbe: added and removed', () => {
	const r = fakeRunner([[0], [0]]);

	assert.deepEqual(sup.tcProbe(r, 'cw0'), { ok: true, detail: 'clsact added and removed' });
	assert.deepEqual(r.calls, ['tc qdisc add dev cw0 clsact', 'tc qdisc del dev cw0 clsact']);
});

test('tcProbe: already there (never deleted), refused, odd names', () => {
	let r = fakeRunner([[2, '', 'Error: Exclusivity flag on, cannot modify.'],
			    [0, 'qdisc clsact ffff: parent ffff:fff1\n']]);
	assert.deepEqual(sup.tcProbe(r, 'eth0'), { ok: true, detail: 'clsact already present' });
	assert.deepEqual(r.calls, ['tc qdisc add dev eth0 clsact', 'tc qdisc show dev eth0']);

	r = fakeRunner([[2, '', 'RTNETLINK answers: Operation not permitted\n'],
			[0, 'qdisc noqueue 0: root refcnt 2\n']]);
	assert.deepEqual(sup.tcProbe(r, 'eth0'),
			 { ok: false, detail: 'RTNETLINK answers: Operation not permitted' });

	r = fakeRunner([[0], [2, '', 'no']]);
	assert.equal(sup.tcProbe(r, 'eth0').ok, false);

	r = fakeRunner([]);
	assert.equal(sup.tcProbe(r, 'eth0 x').ok, false);
	assert.equal(sup.tcProbe(r, 'a/b').ok, false);
	assert.equal(sup.tcProbe(r, 'x'.repeat(16)).ok, false);
	assert.deepEqual(r.calls, []);
});

function host(over) {
	return {
		release: '6.18.0',
		exists: (p) => p === '/proc/sys/kernel/unprivileged_bpf_disabled',
		readFile: () => MOUNTINFO_HYBRID,
		ifaces: ['cw0'],
		probeTc: () => ({ ok: true, detail: 'fake' }),
		...over,
	};
}

test('checkSupport: everything there', () => {
	const probed = [];
	const r = sup.checkSupport(host({ ifaces: ['a', 'b'],
					  probeTc: (i) => (probed.push(i), { ok: true, detail: 'fake' }) }));

	assert.equal(r.ok, true);
	assert.deepEqual(probed, ['a', 'b']);
	assert.deepEqual(r.checks.map((c) => c.what),
			 ['kernel >= 5.8', 'bpf() system call', 'cgroup v2 mounted', 'TC clsact on a',
			  'TC clsact on b']);
});

test('checkSupport: without root, no TC trial', () => {
	const r = sup.checkSupport(host({ privileged: false, probeTc: () => assert.fail('probed') }));

	assert.equal(r.ok, false);
	assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => c.what),
			 ['root (directly or sudo -n)', 'TC clsact']);
	assert.equal(sup.checkSupport(host({ privileged: true })).checks[0].ok, true);
});

test('checkSupport: each failure reported, all checks run', () => {
	const r = sup.checkSupport(host({ release: '5.4.0', exists: () => false,
					  readFile: () => null, ifaces: [] }));

	assert.equal(r.ok, false);
	assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => c.what),
			 ['kernel >= 5.8', 'bpf() system call', 'cgroup v2 mounted', 'TC clsact']);
	const t = sup.checkSupport(host({ probeTc: () => ({ ok: false, detail: 'EPERM' }) }));
	assert.equal(t.ok, false);
	assert.deepEqual(t.checks.at(-1), { what: 'TC clsact on cw0', ok: false, detail: 'EPERM' });
});
