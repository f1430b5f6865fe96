// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * sudo-lockdown: for the job's duration the runner user loses password-less sudo, except for the
 * commands in sudo-allow-commands and the action's gate (gate.js). A root workload could simply
 * detach the firewall; with the lockdown it cannot get root (through sudo: other ways to root,
 * the docker group for one, are outside what this closes).
 *
 * How: one drop-in, /etc/sudoers.d/zzzz-cargowall-action. sudoers applies the last matching
 * rule, and this file sorts after the others, so its "USER ALL=(ALL:ALL) !ALL" overrides any
 * earlier grant (GitHub's /etc/sudoers.d/runner NOPASSWD:ALL included) and the lines after it
 * allow exactly the listed commands. No other file is edited; whatever was at the drop-in's path
 * before is backed up and put back. The drop-in is written into the action's root-only
 * directory, checked with `visudo -cf`, then moved into place and the whole configuration
 * checked with `visudo -c` (rolled back at once if that fails); then the result is verified as
 * the user (`sudo -n true` must fail, the gate must be listed). Any failure restores and fails
 * the step.
 */
const { privWrite, lastLines } = require('./exec');
const { restoreSudoSh } = require('./gate');

class LockdownError extends Error {}

const DROPIN_DEFAULT = '/etc/sudoers.d/zzzz-cargowall-action';

/* /etc/passwd -> [{name, uid, gid, home}]. */
function parsePasswd(text) {
	const out = [];

	for (const line of (text || '').split('\n')) {
		const f = line.split(':');

		if (f.length >= 7 && /^[0-9]+$/.test(f[2]) && /^[0-9]+$/.test(f[3]))
			out.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] });
	}
	return out;
}

/* Portable user names (useradd's default rule), so that the name is safe in sudoers. */
function checkUserName(name) {
	if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name))
		throw new LockdownError(`sudo-lockdown-user: "${name}": not a valid user name`);
	if (name === 'root')
		throw new LockdownError('sudo-lockdown: refusing to lock down root');
	return name;
}

/*
 * Which user loses sudo, in this order: the sudo-lockdown-user input; the user running the
 * action when it is not root (a runner's user, GitHub-hosted or self-hosted); SUDO_USER when
 * the action was started through sudo; the owner of GITHUB_WORKSPACE (a runner running as root
 * for a job checked out by its user). h: {input, uid, username, env, workspaceUid, passwd}.
 * Returns {user, how}.
 */
function resolveLockdownUser(h) {
	if (h.input)
		return { user: checkUserName(h.input), how: 'the sudo-lockdown-user input' };
	if (h.uid !== 0 && h.username)
		return { user: checkUserName(h.username), how: 'the user running the action' };
	if (h.env.SUDO_USER && h.env.SUDO_USER !== 'root')
		return { user: checkUserName(h.env.SUDO_USER), how: 'SUDO_USER' };
	if (h.workspaceUid !== null && h.workspaceUid !== undefined && h.workspaceUid !== 0) {
		const e = parsePasswd(h.passwd).find((p) => p.uid === h.workspaceUid);

		if (e)
			return { user: checkUserName(e.name), how: 'the owner of GITHUB_WORKSPACE' };
	}
	throw new LockdownError('sudo-lockdown: cannot tell which user to lock down (running as ' +
				'root, no SUDO_USER, workspace owned by root): set sudo-lockdown-user');
}

/* Characters that are plain in a sudoers command (no escapes, no wildcards, no separators). */
const CMD_PATH_RE = /^\/[A-Za-z0-9_.+@/-]*[A-Za-z0-9_.+@-]$/;
const CMD_ARG_RE = /^[A-Za-z0-9_.+@/%-]+$/;

/*
 * sudo-allow-commands: one command a line (commas separate too), an absolute path optionally
 * followed by fixed arguments (sudoers then allows exactly those). Paths only of plain
 * characters; no directories (a trailing / allows a whole directory in sudoers), no wildcards.
 */
function parseAllowCommands(text) {
	const out = [];

	for (const raw of (text || '').split(/[\n,]/)) {
		const line = raw.trim();

		if (!line || line.startsWith('#'))
			continue;
		const [cmd, ...args] = line.split(/\s+/);
		if (!CMD_PATH_RE.test(cmd) || cmd.split('/').some((c) => c === '..' || c === '.'))
			throw new LockdownError(`sudo-allow-commands: "${line}": the command must be an ` +
						'absolute path of letters, digits and _ . + @ - /');
		if (/(^|\/)sudoedit$/.test(cmd))
			throw new LockdownError(`sudo-allow-commands: "${line}": sudoedit cannot be allowed`);
		for (const a of args) {
			if (!CMD_ARG_RE.test(a))
				throw new LockdownError(`sudo-allow-commands: "${line}": argument "${a}" ` +
							'has characters sudoers would interpret');
		}
		out.push([cmd, ...args].join(' '));
	}
	return [...new Set(out)];
}

/* The drop-in. commands: parseAllowCommands()'s result; gate: the gate's path. */
function renderDropIn(user, gate, commands) {
	checkUserName(user);
	if (!CMD_PATH_RE.test(gate))
		throw new LockdownError(`gate path "${gate}" is not sudoers-safe`);
	const lines = [
		'# Written by the cargowall-c action: sudo lockdown for one job; its post step removes',
		'# this file. sudoers applies the last matching rule and this file sorts last, so the',
		'# first line overrides every earlier grant, and the lines after it allow what is listed.',
		`${user} ALL=(ALL:ALL) !ALL`,
		`${user} ALL=(root) NOPASSWD: ${gate}`,
	];
	for (const c of commands)
		lines.push(`${user} ALL=(root) NOPASSWD: ${c}`);
	return lines.join('\n') + '\n';
}

/*
 * Run argv as `user`: directly when that is who we are, else through setpriv (as root; works
 * while we still have sudo, that is when the locked user is not us).
 */
function asUser(runner, h, argv) {
	if (h.user === h.currentUser)
		return runner.run(argv);
	const e = parsePasswd(h.passwd).find((p) => p.name === h.user);

	if (!e)
		throw new LockdownError(`sudo-lockdown: no user "${h.user}" in /etc/passwd`);
	return runner.priv(['setpriv', `--reuid=${e.uid}`, `--regid=${e.gid}`, '--init-groups',
			    ...argv]);
}

/*
 * h: {user, currentUser, passwd, commands, dir, gate, dropIn, token, log}. Runs as root through
 * runner.priv until the drop-in is in place; after that only the verification (as the user) and,
 * on failure, the gate. Throws LockdownError after undoing what it did.
 */
function lockdown(runner, h) {
	const stage = `${h.dir}/sudo/dropin`;
	const undo = () => {
		const r = runner.priv([h.gate, 'restore-sudo'], { input: h.token });

		if (r.status !== 0)
			h.log(`sudo-lockdown: undo failed: ${lastLines(r)}`);
	};
	const must = (r, what) => {
		if (r.status !== 0)
			throw new LockdownError(`sudo-lockdown: ${what}: ${lastLines(r)}`);
	};

	must(runner.priv(['visudo', '-V']), 'visudo is not installed (install the sudo package)');
	if (!h.passwd.split('\n').some((l) => l.startsWith(`${h.user}:`)))
		throw new LockdownError(`sudo-lockdown: no user "${h.user}" in /etc/passwd`);
	/* The backup first: from here on, restore_sudo puts back exactly what was there. */
	must(runner.priv(['sh', '-c',
			  'rm -rf "$2" && mkdir -m 0700 "$2" && ' +
			  'if [ -e "$1" ] || [ -L "$1" ]; then cp -pP "$1" "$2/backup"; fi',
			  'sh', h.dropIn, `${h.dir}/sudo`]), 'cannot back up the drop-in path');
	try {
		must(privWrite(runner, stage, renderDropIn(h.user, h.gate, h.commands), '0440'),
		     'cannot write the drop-in');
		must(runner.priv(['visudo', '-cf', stage]), 'visudo rejects the drop-in');
		/* One root shell for the move and the check of the whole configuration: once the
		 * drop-in is in place we may have no sudo left, and a configuration sudo cannot
		 * parse would leave nobody any, so a failed check is rolled back right there. */
		must(runner.priv(['sh', '-c', [
			restoreSudoSh(h.dir, h.dropIn),
			'cp "$1" "$2.cwtmp" && chown root:root "$2.cwtmp" && chmod 0440 "$2.cwtmp" &&',
			'	mv -f "$2.cwtmp" "$2" || { rm -f "$2.cwtmp"; exit 1; }',
			'if ! visudo -c >&2; then',
			'	echo "visudo -c rejects the configuration with the drop-in" >&2',
			'	restore_sudo',
			'	exit 1',
			'fi',
		].join('\n'), 'sh', stage, h.dropIn]), 'cannot install the drop-in');
	} catch (e) {
		undo();
		throw e;
	}
	/* From here on we may have lost sudo ourselves: only the gate can undo. A command the
	 * workflow allowed but that sudo does not list (not installed yet) is only a warning. */
	const checks = [];
	const r = asUser(runner, h, ['sudo', '-n', 'true']);
	checks.push({ what: `sudo -n true as ${h.user} fails`, ok: r.status !== 0 && r.status !== 127,
		      hard: true });
	for (const c of [h.gate, ...h.commands]) {
		const l = asUser(runner, h, ['sudo', '-n', '-l', ...c.split(' ')]);

		checks.push({ what: `sudo -n ${c} allowed for ${h.user}`, ok: l.status === 0,
			      hard: c === h.gate });
	}
	const bad = checks.filter((c) => !c.ok && c.hard);
	if (bad.length) {
		undo();
		throw new LockdownError('sudo-lockdown: not in effect (' +
					bad.map((c) => `${c.what}: no`).join('; ') +
					'): a sudoers rule after ours, or no @includedir /etc/sudoers.d?');
	}
	return checks;
}

module.exports = {
	LockdownError,
	DROPIN_DEFAULT,
	parsePasswd,
	checkUserName,
	resolveLockdownUser,
	parseAllowCommands,
	renderDropIn,
	lockdown,
};
