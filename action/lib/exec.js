// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * Running commands, and running them as root. On a GitHub-hosted runner the action runs as the
 * runner user with password-less sudo; on a self-hosted runner started as root, or in the lab
 * test, it is root already. Every privileged command goes through priv(), so both cases take
 * the same path; `sudo -n` never prompts (a missing sudo right is an error, not a hang).
 * The spawner is injectable: unit tests record the command lines instead of running them.
 */
const child_process = require('node:child_process');
const os = require('node:os');

/* Root's commands run with a fixed PATH, never the workflow's. */
const ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function privArgv(argv, isRoot) {
	return isRoot ? argv : ['sudo', '-n', ...argv];
}

/* A command line as one string for logs (quoted only where needed). */
function showArgv(argv) {
	return argv.map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/*
 * opts: {isRoot, spawnSync, log}. run(argv, {input, inherit, timeoutMs, env}) returns
 * {status, stdout, stderr}; status 127 when the program is missing, 128+n on a signal, -1 on a
 * timeout.
 */
function makeRunner(opts = {}) {
	const spawnSync = opts.spawnSync || child_process.spawnSync;
	const isRoot = opts.isRoot !== undefined ? opts.isRoot : process.getuid() === 0;
	const log = opts.log || (() => {});

	const run = (argv, o = {}) => {
		log(`+ ${showArgv(argv)}`);
		const r = spawnSync(argv[0], argv.slice(1), {
			input: o.input,
			encoding: 'utf8',
			stdio: o.inherit ? ['ignore', 'inherit', 'inherit'] : undefined,
			maxBuffer: 64 * 1024 * 1024,
			timeout: o.timeoutMs || 0,
			killSignal: 'SIGTERM',
			env: o.env || process.env,
		});
		let status = r.status;

		if (r.error && r.error.code === 'ENOENT')
			status = 127;
		else if (r.error && r.error.code === 'ETIMEDOUT')
			status = -1;
		else if (status === null)
			status = 128 + (os.constants.signals[r.signal] || 0);
		return { status, stdout: r.stdout || '', stderr: r.stderr || '' };
	};
	return {
		isRoot,
		run,
		priv: (argv, o) => run(privArgv(argv, isRoot), o),
	};
}

/* One line for an error message: the command's own last words. */
function lastLines(r, n = 5) {
	const text = `${r.stderr || ''}${r.stdout || ''}`.trim().split('\n');

	return text.slice(-n).join(' | ');
}

/* Write a file as root without it ever being a file the workload could change: the content
 * goes over a pipe, into a temporary name beside the target, then renamed over it. */
function privWrite(runner, file, content, mode) {
	return runner.priv(['sh', '-c',
			    'umask 077 && cat >"$1.cwtmp" && chmod "$2" "$1.cwtmp" && mv -f "$1.cwtmp" "$1"',
			    'sh', file, mode], { input: content });
}

module.exports = { ROOT_PATH, privArgv, showArgv, makeRunner, lastLines, privWrite };
