// SPDX-License-Identifier: Apache-2.0
'use strict';
/* sudo lockdown and the gate. The lockdown runs against a fake runner (it records the command
 * lines); the gate runs for real, as root, on files in a temporary directory only. */
const test = require('node:test');
const assert = require('node:assert/strict');
const child_process = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const sudo = require('../../action/lib/sudo');
const gate = require('../../action/lib/gate');

const PASSWD = [
	'root:x:0:0:root:/root:/bin/bash',
	'runner:x:1001:118::/home/runner:/bin/bash',
	'cwtest-sudo:x:998:997::/nonexistent:/bin/sh',
	'broken line',
].join('\n');

test('parsePasswd', () => {
	assert.deepEqual(sudo.parsePasswd(PASSWD)[1],
			 { name: 'runner', uid: 1001, gid: 118, home: '/home/runner' });
	assert.equal(sudo.parsePasswd(PASSWD).length, 3);
	assert.deepEqual(sudo.parsePasswd(''), []);
});

test('resolveLockdownUser: input, current user, SUDO_USER, workspace owner, in that order', () => {
	const r = (h) => sudo.resolveLockdownUser({ input: '', uid: 0, username: 'root', env: {},
						    workspaceUid: null, passwd: PASSWD, ...h });

	assert.deepEqual(r({ input: 'cwtest-sudo', uid: 1001, username: 'runner' }),
			 { user: 'cwtest-sudo', how: 'the sudo-lockdown-user input' });
	assert.deepEqual(r({ uid: 1001, username: 'runner', env: { SUDO_USER: 'x' } }),
			 { user: 'runner', how: 'the user running the action' });
	assert.deepEqual(r({ env: { SUDO_USER: 'runner' }, workspaceUid: 998 }),
			 { user: 'runner', how: 'SUDO_USER' });
	assert.deepEqual(r({ env: { SUDO_USER: 'root' }, workspaceUid: 998 }),
			 { user: 'cwtest-sudo', how: 'the owner of GITHUB_WORKSPACE' });
	assert.throws(() => r({ workspaceUid: 0 }), /cannot tell which user.*set sudo-lockdown-user/);
	assert.throws(() => r({ workspaceUid: 4242 }), /cannot tell which user/);
	assert.throws(() => r({}), sudo.LockdownError);
	assert.throws(() => r({ input: 'root' }), /refusing to lock down root/);
	assert.throws(() => r({ input: 'ALL' }), /"ALL": not a valid user name/);
	assert.throws(() => r({ input: 'a b' }), /not a valid user name/);
	assert.throws(() => r({ input: '%sudo' }), /not a valid user name/);
});

test('parseAllowCommands: paths, fixed arguments, blanks and comments', () => {
	assert.deepEqual(sudo.parseAllowCommands(''), []);
	assert.deepEqual(sudo.parseAllowCommands(
		'/usr/bin/apt-get\n\n# the package manager\n /usr/bin/systemctl restart docker ,/usr/bin/id\n/usr/bin/id'),
	['/usr/bin/apt-get', '/usr/bin/systemctl restart docker', '/usr/bin/id']);
});

test('parseAllowCommands: refuses what sudoers would read differently', () => {
	const bad = (s, re) => assert.throws(() => sudo.parseAllowCommands(s), re);

	bad('apt-get', /"apt-get": the command must be an absolute path/);
	bad('ALL', /absolute path/);
	bad('/usr/bin/', /absolute path/);
	bad('/usr/bin/*', /absolute path/);
	bad('/usr/bin/../bin/sh', /absolute path/);
	bad('/usr/bin/sudoedit', /sudoedit cannot be allowed/);
	bad('/usr/bin/env FOO=1', /argument "FOO=1"/);
	bad('/bin/sh -c id;id', /argument "-c"|argument "id;id"/);
	bad('/usr/bin/x a:b', /argument "a:b"/);
	bad('/usr/bin/x !y', /argument "!y"/);
	bad('/usr/bin/x "q"', /argument/);
});

test('renderDropIn: deny everything, then the gate and the listed commands', () => {
	const text = sudo.renderDropIn('runner', '/var/lib/cargowall-action/gate',
				       ['/usr/bin/apt-get', '/usr/bin/systemctl restart docker']);
	const rules = text.split('\n').filter((l) => l && !l.startsWith('#'));

	assert.deepEqual(rules, [
		'runner ALL=(ALL:ALL) !ALL',
		'runner ALL=(root) NOPASSWD: /var/lib/cargowall-action/gate',
		'runner ALL=(root) NOPASSWD: /usr/bin/apt-get',
		'runner ALL=(root) NOPASSWD: /usr/bin/systemctl restart docker',
	]);
	assert.ok(text.endsWith('\n'));
	assert.throws(() => sudo.renderDropIn('runner', '/tmp/x y/gate', []), /not sudoers-safe/);
	assert.throws(() => sudo.renderDropIn('ru ner', '/g', []), /not a valid user name/);
	assert.ok(path.basename(sudo.DROPIN_DEFAULT) > 'runner', 'sorts after GitHub\'s file');
	assert.ok(!path.basename(sudo.DROPIN_DEFAULT).includes('.'), 'sudo skips names with dots');
});

/* A runner whose answers come from a table of [pattern, status] (first match; default 0). */
function fakeRunner(table, isRoot = false) {
	const calls = [];
	const answer = (kind, argv, o) => {
		const line = argv.join(' ');

		calls.push({ kind, line, input: o && o.input });
		for (const [re, status] of table) {
			if (re.test(line))
				return { status, stdout: '', stderr: `fake: ${line}` };
		}
		return { status: 0, stdout: '', stderr: '' };
	};
	return {
		calls,
		isRoot,
		run: (argv, o) => answer('run', argv, o),
		priv: (argv, o) => answer('priv', argv, o),
	};
}

const H = {
	user: 'runner', currentUser: 'runner', passwd: PASSWD, commands: ['/usr/bin/id'],
	dir: '/var/lib/cargowall-action', gate: '/var/lib/cargowall-action/gate',
	dropIn: '/etc/sudoers.d/zzzz-cargowall-action', token: 'T0KEN', log: () => {},
};

test('lockdown: backup, stage, visudo -cf, install, visudo -c, verify as the user', () => {
	const r = fakeRunner([[/^sudo -n true$/, 1]]);
	const checks = sudo.lockdown(r, H);

	assert.deepEqual(r.calls.map((c) => `${c.kind}: ${c.line.split(' ').slice(0, 3).join(' ')}`), [
		'priv: visudo -V',
		'priv: sh -c rm',
		'priv: sh -c umask',
		'priv: visudo -cf /var/lib/cargowall-action/sudo/dropin',
		'priv: sh -c restore_sudo()',
		'run: sudo -n true',
		'run: sudo -n -l',
		'run: sudo -n -l',
	]);
	assert.match(r.calls[2].input, /^runner ALL=\(ALL:ALL\) !ALL$/m);
	assert.match(r.calls[4].line, /visudo -c >&2.*restore_sudo.* sh \S+\/sudo\/dropin \/etc\/sudoers.d\/zzzz-cargowall-action$/s);
	assert.deepEqual(checks.map((c) => c.ok), [true, true, true]);
	assert.ok(!r.calls.some((c) => c.line.includes('restore-sudo')));
});

test('lockdown: another user is checked through setpriv with its ids', () => {
	const r = fakeRunner([[/setpriv .* sudo -n true$/, 1]], true);

	sudo.lockdown(r, { ...H, user: 'cwtest-sudo', currentUser: 'root' });
	assert.ok(r.calls.some((c) => c.kind === 'priv' &&
		  c.line === 'setpriv --reuid=998 --regid=997 --init-groups sudo -n true'));
});

test('lockdown: nothing changes when visudo is missing or the user unknown', () => {
	let r = fakeRunner([[/^visudo -V$/, 127]]);
	assert.throws(() => sudo.lockdown(r, H), /visudo is not installed/);
	assert.equal(r.calls.length, 1);

	r = fakeRunner([]);
	assert.throws(() => sudo.lockdown(r, { ...H, user: 'nobody-here' }), /no user "nobody-here"/);
	assert.equal(r.calls.length, 1);
});

test('lockdown: a rejected drop-in is undone through the gate', () => {
	const r = fakeRunner([[/^visudo -cf /, 1]]);

	assert.throws(() => sudo.lockdown(r, H), /visudo rejects the drop-in: fake: visudo -cf/);
	const undo = r.calls.at(-1);
	assert.equal(undo.line, '/var/lib/cargowall-action/gate restore-sudo');
	assert.equal(undo.input, 'T0KEN');
	assert.ok(!r.calls.some((c) => /visudo -c >&2/.test(c.line)), 'never installed');
});

test('lockdown: a configuration visudo -c rejects is rolled back by the same root shell', () => {
	const r = fakeRunner([[/visudo -c >&2/, 1]]);

	assert.throws(() => sudo.lockdown(r, H), /cannot install the drop-in/);
	assert.match(r.calls[4].line, /if ! visudo -c >&2; then\n.*\n\trestore_sudo\n\texit 1/);
});

test('lockdown: not in effect (sudo -n true still works) is undone and fails', () => {
	const r = fakeRunner([]);

	assert.throws(() => sudo.lockdown(r, H), /not in effect \(sudo -n true as runner fails: no\)/);
	assert.equal(r.calls.at(-1).line, '/var/lib/cargowall-action/gate restore-sudo');
});

test('lockdown: an allowed command sudo does not list is a warning, the gate is not', () => {
	let r = fakeRunner([[/^sudo -n true$/, 1], [/-l \/usr\/bin\/id$/, 1]]);
	const checks = sudo.lockdown(r, H);
	assert.deepEqual(checks.filter((c) => !c.ok).map((c) => c.what),
			 ['sudo -n /usr/bin/id allowed for runner']);

	r = fakeRunner([[/^sudo -n true$/, 1], [/-l \/var\/lib\/cargowall-action\/gate$/, 1]]);
	assert.throws(() => sudo.lockdown(r, H), /gate allowed for runner: no/);
});

test('gate: quoting and shell syntax', () => {
	assert.equal(gate.shq("it's"), `'it'\\''s'`);
	const text = gate.renderGate({ dir: "/x/it's", bin: '/x/bin/cargowall', stateDir: '/run/s',
				       auditLog: '/l $(id)', summary: true, dropIn: '/etc/sudoers.d/z' });
	assert.match(text, /^DIR='\/x\/it'\\''s'$/m);
	assert.match(text, /^AUDIT_LOG='\/l \$\(id\)'$/m);
	assert.match(text, /^SUMMARY=1$/m);
	const r = child_process.spawnSync('sh', ['-n'], { input: text });
	assert.equal(r.status, 0, String(r.stderr));
});

/* The gate for real, on a temporary directory: root only (it checks its uid). */
test('gate: token, post and restore-sudo', { skip: process.getuid() !== 0 && 'needs root' }, (t) => {
	const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-gate-'));
	t.after(() => fs.rmSync(d, { recursive: true, force: true }));
	const dir = path.join(d, 'action'), dropIn = path.join(d, 'sudoers.d', 'zzzz-test');
	fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
	fs.mkdirSync(path.dirname(dropIn));
	const calls = path.join(d, 'calls');
	fs.writeFileSync(path.join(dir, 'bin', 'cargowall'),
			 `#!/bin/sh\necho "$*" >>'${calls}'\n` +
			 '[ "$1" = summary ] && echo "## CargoWall — Enforce Mode"\nexit 0\n', { mode: 0o755 });
	const log = path.join(d, 'audit.ndjson');
	fs.writeFileSync(log, '');
	const g = path.join(dir, 'gate');
	fs.writeFileSync(g, gate.renderGate({ dir, bin: path.join(dir, 'bin', 'cargowall'),
					      stateDir: '/run/s', auditLog: log, summary: true,
					      dropIn }), { mode: 0o755 });
	const token = crypto.randomBytes(32).toString('hex');
	const arm = () => {
		fs.writeFileSync(path.join(dir, 'token.sha256'),
				 crypto.createHash('sha256').update(token).digest('hex') + '\n');
		fs.writeFileSync(path.join(dir, 'started'), '/run/s\n');
	};
	const runGate = (op, input) => child_process.spawnSync(g, op ? [op] : [],
							      { input, encoding: 'utf8' });

	/* No token on record: refuses. */
	assert.equal(runGate('post', token).status, 2);
	arm();
	/* Wrong, empty or no token, unknown operation: refuses, nothing run. */
	for (const [op, input, re] of [['post', 'x'.repeat(64), /wrong token/],
				       ['post', '', /wrong token/],
				       ['post', token + 'x', /wrong token/],
				       ['stop', token, /unknown operation/],
				       [null, token, /usage/]]) {
		const r = runGate(op, input);

		assert.equal(r.status, 2, `${op} ${input}`);
		assert.match(r.stderr, re);
	}
	assert.ok(!fs.existsSync(calls));

	/* A lockdown in place with a backup of an earlier file: restore-sudo puts it back. */
	fs.mkdirSync(path.join(dir, 'sudo'));
	fs.writeFileSync(path.join(dir, 'sudo', 'backup'), 'earlier\n', { mode: 0o440 });
	fs.writeFileSync(dropIn, 'lockdown\n');
	let r = runGate('restore-sudo', token);
	assert.equal(r.status, 0, r.stderr);
	assert.equal(fs.readFileSync(dropIn, 'utf8'), 'earlier\n');
	assert.equal(fs.statSync(dropIn).mode & 0o777, 0o440);
	assert.ok(!fs.existsSync(path.join(dir, 'sudo')));

	/* post: stop, restore (no backup: the drop-in goes), summary on stdout, token forgotten. */
	fs.mkdirSync(path.join(dir, 'sudo'));
	fs.writeFileSync(dropIn, 'lockdown\n');
	r = runGate('post', token);
	assert.equal(r.status, 0, r.stderr);
	assert.equal(r.stdout, '## CargoWall — Enforce Mode\n');
	assert.equal(fs.readFileSync(calls, 'utf8'),
		     `stop --state-dir /run/s\nsummary --audit-log ${log} --format markdown\n`);
	assert.ok(!fs.existsSync(dropIn));
	assert.ok(!fs.existsSync(path.join(dir, 'token.sha256')), 'one use only');
	assert.ok(!fs.existsSync(path.join(dir, 'started')));
	assert.equal(runGate('post', token).status, 2, 'the token does not work twice');

	/* A failing stop: post says so, keeps the "started" mark for the next job. */
	arm();
	fs.writeFileSync(path.join(dir, 'bin', 'cargowall'), '#!/bin/sh\nexit 1\n');
	r = runGate('post', token);
	assert.equal(r.status, 1);
	assert.match(r.stderr, /cargowall stop failed/);
	assert.ok(fs.existsSync(path.join(dir, 'started')));
});
