// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The action's post step (runs always, after every other step of the job): through the gate
 * (lib/gate.js), as root, stop the firewall (the launcher detaches everything and flushes the
 * log), lift the sudo lockdown, and print the Markdown summary, which goes into the job summary
 * when audit-summary is on. The audit log stays where main's audit-log output said.
 */
const { makeRunnerIO, truncateSummary } = require('./lib/files');
const { makeRunner, lastLines } = require('./lib/exec');

const POST_TIMEOUT_MS = 120 * 1000;

function summaryFooter(log) {
	return `\n_Audit log (NDJSON): \`${log}\`_\n`;
}

function run(env, deps = {}) {
	const io = makeRunnerIO(env, deps.out);
	const token = io.getState('token');
	const gate = io.getState('gate');
	const log = io.getState('audit-log');

	if (!token || !gate) {
		io.info('cargowall: nothing to undo (the main step did not get as far as installing)');
		return 0;
	}
	const runner = deps.runner || makeRunner({ log: (m) => io.info(m) });
	const r = runner.priv([gate, 'post'], { input: token, timeoutMs: POST_TIMEOUT_MS });

	if (r.stderr.trim())
		io.info(r.stderr.trim());
	if (io.getState('audit-summary') === 'true' && r.stdout.trim())
		io.appendSummary(truncateSummary(`${r.stdout.trim()}\n${summaryFooter(log)}`));
	if (r.status !== 0) {
		io.error(`cargowall post: the gate exited ${r.status} (${lastLines(r, 3)}): ` +
			 'the host may not be fully restored');
		return 1;
	}
	io.info(`cargowall: stopped, host restored; audit log ${log}`);
	return 0;
}

if (require.main === module) {
	try {
		process.exitCode = run(process.env);
	} catch (e) {
		process.stdout.write(`::error::cargowall post: ${String(e && e.stack || e).replace(/\n/g, '%0A')}\n`);
		process.exitCode = 1;
	}
}

module.exports = { run, summaryFooter };
