// SPDX-License-Identifier: Apache-2.0
'use strict';
/* main.js and post.js as the runner runs them, with a fake runner for every command: what they
 * run, in which order, what they write to the runner's files, and their error paths. */
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const main = require('../../action/main');
const post = require('../../action/post');

const MOUNTINFO = '31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw';
const ROUTE = 'Iface\tDestination\tGateway\nethX\t00000000\t0100000A\n';

function setup(t, inputs = {}, over = {}) {
	const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-steps-'));
	t.after(() => fs.rmSync(d, { recursive: true, force: true }));
	const bin = path.join(d, 'bin');
	fs.mkdirSync(bin);
	for (const p of ['cargowall', 'cargowall-enforcer', 'cargowall-dnsd', 'cargowall-auditd'])
		fs.writeFileSync(path.join(bin, p), '');
	const env = { GITHUB_WORKSPACE: d, CARGOWALL_ACTION_DIR: '/opt/cwa' };
	for (const v of ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY']) {
		env[v] = path.join(d, v);
		fs.writeFileSync(env[v], '');
	}
	for (const [k, v] of Object.entries({ 'binary-path': path.join(bin, 'cargowall'),
					      'audit-log': '/var/log/cw/job.ndjson', ...inputs }))
		env[`INPUT_${k.toUpperCase()}`] = v;
	const calls = [], printed = [];
	const answers = over.answers || [];
	const runner = {
		isRoot: false,
		run: (argv, o) => answer('run', argv, o),
		priv: (argv, o) => answer('priv', argv, o),
	};
	function answer(kind, argv, o) {
		const line = argv.join(' ');

		calls.push({ kind, line, input: o && o.input });
		for (const [re, r] of answers) {
			if (re.test(line))
				return { stdout: '', stderr: '', ...r };
		}
		if (/ start /.test(line))
			return { status: 0, stderr: '', stdout:
				'cargowall: enforcement live (mode enforce, pid 4242, audit log /var/log/cw/job.ndjson)\n' };
		return { status: 0, stdout: '', stderr: '' };
	}
	const files = {
		'/proc/self/mountinfo': MOUNTINFO,
		'/proc/net/route': ROUTE,
		'/proc/net/tcp': '  sl local rem st\n 1: 0100000A:C350 0A0A0A0A:01BB 01 x\n',
		'/etc/passwd': 'runner:x:1001:118::/home/runner:/bin/bash\n',
	};
	const deps = {
		runner,
		release: '6.18.0',
		exists: (p) => p === '/proc/sys/kernel/unprivileged_bpf_disabled' || fs.existsSync(p),
		readFile: (p) => (p in files ? files[p] : null),
		userInfo: () => ({ uid: 1001, username: 'runner' }),
		now: () => 1700000000000,
		out: (s) => printed.push(s),
		...over.deps,
	};
	const read = (v) => fs.readFileSync(env[v], 'utf8');
	return { d, env, deps, calls, printed, read };
}

/* GITHUB_OUTPUT and friends, parsed (heredoc form). */
function kv(text) {
	const out = {};
	const re = /^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2\n/gm;
	let m;

	while ((m = re.exec(text)))
		out[m[1]] = m[3];
	return out;
}

test('main: support check, install, gate and token, start, outputs', (t) => {
	const s = setup(t, { 'allowed-hosts': 'allowed.test:80', 'github-service-hosts': 'none',
			     'azure-infra-hosts': '', 'extra-args': '--interface cw0 --state-dir /run/s' });

	assert.equal(main.run(s.env, s.deps), 0, s.printed.join(''));
	const lines = s.calls.map((c) => c.line);
	const idx = (re) => lines.findIndex((l) => re.test(l));
	assert.equal(lines[0], 'true', 'can we be root at all');
	assert.equal(idx(/^sh -c set -u/), 1, 'then the stale cleanup');
	assert.ok(idx(/^tc qdisc add dev cw0 clsact$/) > 0, 'TC trial on the lab interface only');
	assert.ok(!lines.some((l) => /dev ethX/.test(l)), 'never the default-route interface');
	assert.ok(idx(/^install -m 0755 -o root -g root .*\/cargowall-auditd \/opt\/cwa\/bin\/$/) > 0);
	const start = s.calls.find((c) => / start /.test(c.line));
	assert.match(start.line, /^env -i PATH=\S+ \/opt\/cwa\/bin\/cargowall start --mode enforce /);
	assert.match(start.line, / --allow-hosts allowed\.test:80 /);
	assert.match(start.line, / --allow-cidrs 10\.10\.10\.10\/32:443 /, 'existing connection');
	assert.match(start.line, / --audit-log \/var\/log\/cw\/job\.ndjson --state-dir \/run\/s /);
	assert.ok(idx(/\/opt\/cwa\/gate/) < idx(/ start /), 'gate written before start');

	/* The token's hash went to root; the token itself only into the state file. */
	const state = kv(s.read('GITHUB_STATE'));
	assert.match(state.token, /^[0-9a-f]{64}$/);
	const hashWrite = s.calls.find((c) => c.line.includes('/opt/cwa/token.sha256'));
	assert.equal(hashWrite.input,
		     crypto.createHash('sha256').update(state.token).digest('hex') + '\n');
	assert.ok(!s.calls.some((c) => c.line.includes(state.token) ||
				(c.input || '').includes(state.token)), 'token never on a command line');
	assert.ok(!s.printed.join('').includes(state.token), 'token never printed');
	assert.equal(state.gate, '/opt/cwa/gate');
	assert.equal(state['audit-log'], '/var/log/cw/job.ndjson');
	const gate = s.calls.find((c) => c.line.includes('/opt/cwa/gate.cwtmp') || c.line.endsWith('/opt/cwa/gate 0755'));
	assert.match(gate.input, /^STATE_DIR='\/run\/s'$/m);

	assert.deepEqual(kv(s.read('GITHUB_OUTPUT')),
			 { 'supported': 'true', 'pid': '4242', 'audit-log': '/var/log/cw/job.ndjson' });
	assert.deepEqual(kv(s.read('GITHUB_ENV')), { CARGOWALL_AUDIT_LOG: '/var/log/cw/job.ndjson' });
	assert.match(s.printed.join(''), /::notice::cargowall: enforcement live \(mode enforce, pid 4242\)/);
});

test('main: input errors change nothing and say which input', (t) => {
	for (const [inputs, re] of [[{ mode: 'block' }, /mode: "block"/],
				    [{ 'allowed-hosts': 'a.test:0' }, /allowed-hosts: "a.test:0"/],
				    [{ 'sudo-lockdown': 'true', 'sudo-allow-commands': 'apt-get' },
				     /sudo-allow-commands: "apt-get"/],
				    [{ 'sudo-lockdown': 'true', 'sudo-lockdown-user': 'root' },
				     /sudo-lockdown: refusing to lock down root/]]) {
		const s = setup(t, inputs);

		assert.equal(main.run(s.env, s.deps), 1);
		assert.deepEqual(s.calls, [], 'no command run');
		assert.match(s.printed.join(''), new RegExp(`::error::${re.source}`));
		assert.deepEqual(kv(s.read('GITHUB_OUTPUT')), { supported: 'false' });
	}
	const s = setup(t);
	s.env.CARGOWALL_ACTION_DIR = '/tmp/a b';
	assert.equal(main.run(s.env, s.deps), 1);
	assert.match(s.printed.join(''), /CARGOWALL_ACTION_DIR/);
});

test('main: unsupported runner warns and continues, or fails when asked', (t) => {
	const answers = [[/^tc qdisc add/, { status: 2, stderr: 'RTNETLINK answers: Operation not permitted' }],
			 [/^tc qdisc show/, { status: 0, stdout: 'qdisc noqueue 0: root' }]];
	let s = setup(t, {}, { answers, deps: { release: '5.4.0' } });

	assert.equal(main.run(s.env, s.deps), 0);
	assert.match(s.printed.join(''), /::warning::cargowall: this runner cannot enforce \(kernel >= 5.8, TC clsact on ethX\): continuing WITHOUT a firewall/);
	assert.deepEqual(kv(s.read('GITHUB_OUTPUT')), { supported: 'false' });
	assert.ok(!s.calls.some((c) => / start /.test(c.line)));

	s = setup(t, { 'fail-on-unsupported': 'true' }, { answers });
	assert.equal(main.run(s.env, s.deps), 1);
	assert.match(s.printed.join(''), /::error::cargowall: this runner cannot enforce/);
});

test('main: no password-less sudo is an unsupported runner, nothing else tried', (t) => {
	let s = setup(t, {}, { answers: [[/^true$/, { status: 1, stderr: 'sudo: a password is required' }]] });

	assert.equal(main.run(s.env, s.deps), 0);
	assert.deepEqual(s.calls.map((c) => c.line), ['true']);
	assert.match(s.printed.join(''), /FAIL root \(directly or sudo -n\): neither root nor password-less sudo/);
	assert.match(s.printed.join(''), /::warning::cargowall: this runner cannot enforce \(root \(directly or sudo -n\), TC clsact\)/);

	s = setup(t, { 'fail-on-unsupported': 'true' },
		  { answers: [[/^true$/, { status: 1 }]] });
	assert.equal(main.run(s.env, s.deps), 1);
});

test('main: without binary-path, builds from the action checkout', (t) => {
	const s = setup(t, { 'binary-path': '' }, { answers: [[/^cmake --build/, { status: 2 }]] });
	const root = require('node:path').resolve(__dirname, '..', '..');

	assert.equal(main.run(s.env, s.deps), 1);
	const build = s.calls.filter((c) => /install-deps|cmake/.test(c.line));
	assert.deepEqual(build.map((c) => `${c.kind} ${c.line}`), [
		`priv ${root}/scripts/install-deps.sh`,
		`run cmake -S ${root} -B ${root}/build -DCMAKE_BUILD_TYPE=Release`,
		`run cmake --build ${root}/build -j ${os.cpus().length || 2} --target cargowall ` +
			'cargowall-enforcer cargowall-dnsd cargowall-auditd',
	]);
	assert.match(s.printed.join(''), /::error::build failed: cmake --build .* exited 2/);
	assert.ok(!s.calls.some((c) => / start /.test(c.line)));
});

test('main: a failed start fails the step with the launcher\'s reason', (t) => {
	const s = setup(t, {}, { answers: [[/ start /, { status: 1, stderr:
		'cargowall: bad policy: /w/cw.json: rules[0].value: "": empty\n' }]] });

	assert.equal(main.run(s.env, s.deps), 1);
	assert.match(s.printed.join(''), /::error::cargowall start failed \(1\): cargowall: bad policy/);
	assert.deepEqual(kv(s.read('GITHUB_OUTPUT')), { supported: 'false' });
	assert.ok(kv(s.read('GITHUB_STATE')).token, 'post can still clean up');
});

test('main: missing programs beside binary-path', (t) => {
	const s = setup(t);
	fs.rmSync(path.join(s.d, 'bin', 'cargowall-dnsd'));

	assert.equal(main.run(s.env, s.deps), 1);
	assert.match(s.printed.join(''), /binary-path: .*missing: .*cargowall-dnsd/);
});

test('main: sudo lockdown of the runner user after start', (t) => {
	const s = setup(t, { 'sudo-lockdown': 'true', 'sudo-allow-commands': '/usr/bin/id' },
			{ answers: [[/^sudo -n true$/, { status: 1 }]] });

	assert.equal(main.run(s.env, s.deps), 0, s.printed.join(''));
	const lines = s.calls.map((c) => c.line);
	assert.ok(lines.findIndex((l) => / start /.test(l)) < lines.indexOf('visudo -V'));
	assert.ok(lines.includes('visudo -cf /opt/cwa/sudo/dropin'));
	assert.match(s.printed.join(''), /sudo locked for runner/);

	const f = setup(t, { 'sudo-lockdown': 'true' });   /* sudo -n true keeps working */
	assert.equal(main.run(f.env, f.deps), 1);
	assert.match(f.printed.join(''), /::error::sudo-lockdown: not in effect/);
	assert.equal(kv(f.read('GITHUB_OUTPUT')).supported, 'true', 'the firewall is up all the same');
});

test('post: gate with the token, summary into the job summary', (t) => {
	const s = setup(t, {}, { answers: [[/gate post$/, { status: 0,
		stdout: '## CargoWall — Enforce Mode\n| x |\n', stderr: 'cargowall: stopped\n' }]] });
	Object.assign(s.env, { STATE_token: 'ab12', STATE_gate: '/opt/cwa/gate',
			       'STATE_audit-log': '/var/log/cw/job.ndjson', 'STATE_audit-summary': 'true' });

	assert.equal(post.run(s.env, s.deps), 0);
	assert.deepEqual(s.calls, [{ kind: 'priv', line: '/opt/cwa/gate post', input: 'ab12' }]);
	assert.equal(s.read('GITHUB_STEP_SUMMARY'),
		     '## CargoWall — Enforce Mode\n| x |\n\n_Audit log (NDJSON): `/var/log/cw/job.ndjson`_\n');
	assert.match(s.printed.join(''), /cargowall: stopped/);
});

test('post: no summary when audit-summary is off; gate failure fails the step', (t) => {
	const s = setup(t, {}, { answers: [[/gate post$/, { status: 1, stdout: '## S\n',
		stderr: 'cargowall-gate: cargowall stop failed\n' }]] });
	Object.assign(s.env, { STATE_token: 'ab12', STATE_gate: '/opt/cwa/gate',
			       'STATE_audit-summary': 'false' });

	assert.equal(post.run(s.env, s.deps), 1);
	assert.equal(s.read('GITHUB_STEP_SUMMARY'), '');
	assert.match(s.printed.join(''), /::error::cargowall post: the gate exited 1 .*stop failed/);
});

test('post: nothing to undo when main stopped early', (t) => {
	const s = setup(t);

	assert.equal(post.run(s.env, s.deps), 0);
	assert.deepEqual(s.calls, []);
	assert.match(s.printed.join(''), /nothing to undo/);
});
