// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The runner's file commands (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STATE, GITHUB_STEP_SUMMARY) and
 * workflow commands on stdout (::warning::, ::group::), without @actions/core: the action has no
 * npm dependencies.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');

/* The runner keeps at most 1 MiB of one step's summary; leave room for the footer. */
const SUMMARY_LIMIT = 1000 * 1024;

/*
 * One entry of a file command, in the heredoc form the runner accepts for any value:
 *   name<<DELIM\nvalue\nDELIM\n
 * The delimiter is random and checked against the value, so that a value can never end the
 * entry early and inject another (a hostname from an attacker's DNS answer, for instance).
 */
function fileCommand(name, value, delimiter) {
	const v = String(value);
	const d = delimiter || `ghadelimiter_${crypto.randomUUID()}`;

	if (!name || /[\r\n]/.test(name) || name.includes('<<') || name.includes('='))
		throw new Error(`file command: bad name "${name}"`);
	if (v.includes(d) || name.includes(d))
		throw new Error(`file command: the value of ${name} contains the delimiter`);
	return `${name}<<${d}\n${v}\n${d}\n`;
}

function appendFileCommand(file, name, value, fsx = fs) {
	fsx.appendFileSync(file, fileCommand(name, value), { encoding: 'utf8' });
}

/* Workflow-command escaping (the runner's own rules for the message part). */
function escapeData(s) {
	return String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/*
 * What a step writes: env is the step's environment, out a write(string) function (stdout).
 * When a file variable is missing (main.js run outside a runner), outputs and state are printed
 * instead, so that a person running it by hand still sees them.
 */
function makeRunnerIO(env, out = (s) => process.stdout.write(s), fsx = fs) {
	const put = (varName, name, value) => {
		if (env[varName])
			appendFileCommand(env[varName], name, value, fsx);
		else
			out(`${varName} is not set: ${name}=${value}\n`);
	};

	return {
		setOutput: (name, value) => put('GITHUB_OUTPUT', name, value),
		exportVariable: (name, value) => put('GITHUB_ENV', name, value),
		/* Passed back to the post step as STATE_<name> by the runner. */
		saveState: (name, value) => {
			if (env.GITHUB_STATE)
				appendFileCommand(env.GITHUB_STATE, name, value, fsx);
			else
				out(`GITHUB_STATE is not set: state ${name} is lost\n`);
		},
		getState: (name) => env[`STATE_${name}`] || '',
		appendSummary: (markdown) => {
			if (!env.GITHUB_STEP_SUMMARY) {
				out(markdown);
				return;
			}
			fsx.appendFileSync(env.GITHUB_STEP_SUMMARY, markdown, { encoding: 'utf8' });
		},
		info: (msg) => out(`${msg}\n`),
		debug: (msg) => out(`::debug::${escapeData(msg)}\n`),
		notice: (msg) => out(`::notice::${escapeData(msg)}\n`),
		warning: (msg) => out(`::warning::${escapeData(msg)}\n`),
		error: (msg) => out(`::error::${escapeData(msg)}\n`),
		group: (title) => out(`::group::${escapeData(title)}\n`),
		endGroup: () => out('::endgroup::\n'),
	};
}

/* Cut a Markdown summary to the runner's limit, at a line boundary, saying so. */
function truncateSummary(markdown, limit = SUMMARY_LIMIT) {
	if (Buffer.byteLength(markdown, 'utf8') <= limit)
		return markdown;
	const note = '\n\n_(truncated: the full list is in the audit log)_\n';
	let cut = Buffer.from(markdown, 'utf8')
		.subarray(0, limit - Buffer.byteLength(note))
		.toString('utf8');
	/* A multi-byte character cut in half decodes to U+FFFD: drop the partial line. */
	cut = cut.slice(0, Math.max(0, cut.lastIndexOf('\n')));
	return cut + note;
}

module.exports = {
	SUMMARY_LIMIT,
	fileCommand,
	appendFileCommand,
	escapeData,
	makeRunnerIO,
	truncateSummary,
};
