// SPDX-License-Identifier: Apache-2.0
'use strict';
/* The runner's files (outputs, environment, state, job summary) and workflow commands. */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const files = require('../../action/lib/files');

function tmpdir(t) {
	const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-action-'));

	t.after(() => fs.rmSync(d, { recursive: true, force: true }));
	return d;
}

/* The runner's parser for these files, reduced to what it accepts: name=value lines and
 * name<<DELIM ... DELIM blocks. */
function parseFileCommands(text) {
	const out = {};
	const lines = text.split('\n');

	for (let i = 0; i < lines.length; i++) {
		const l = lines[i];
		let m;

		if (l === '')
			continue;
		if ((m = /^([^=<]+)<<(.+)$/.exec(l))) {
			const val = [];

			while (++i < lines.length && lines[i] !== m[2])
				val.push(lines[i]);
			assert.ok(i < lines.length, `unterminated ${m[1]}`);
			out[m[1]] = val.join('\n');
		} else if ((m = /^([^=]+)=(.*)$/.exec(l))) {
			out[m[1]] = m[2];
		} else {
			assert.fail(`bad line "${l}"`);
		}
	}
	return out;
}

test('fileCommand: heredoc form, multi-line values, fixed delimiter', () => {
	assert.equal(files.fileCommand('pid', 42, 'EOF_X'), 'pid<<EOF_X\n42\nEOF_X\n');
	assert.equal(files.fileCommand('a', 'x\ny', 'D'), 'a<<D\nx\ny\nD\n');
	assert.match(files.fileCommand('a', 'v'), /^a<<ghadelimiter_[0-9a-f-]{36}\nv\nghadelimiter_/);
});

test('fileCommand: a value cannot end its entry early; bad names refused', () => {
	assert.throws(() => files.fileCommand('a', 'x\nD\nevil=1', 'D'), /contains the delimiter/);
	assert.throws(() => files.fileCommand('a\nb', 'v'), /bad name/);
	assert.throws(() => files.fileCommand('a=b', 'v'), /bad name/);
	assert.throws(() => files.fileCommand('', 'v'), /bad name/);
	/* With the random delimiter, an attacker's value is inert. */
	const text = files.fileCommand('audit-log', 'x\nghadelimiter_123\nsupported=false');
	assert.deepEqual(parseFileCommands(text), { 'audit-log': 'x\nghadelimiter_123\nsupported=false' });
});

test('makeRunnerIO: outputs, environment, state and summary files', (t) => {
	const d = tmpdir(t);
	const env = {};
	for (const v of ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY']) {
		env[v] = path.join(d, v.toLowerCase());
		fs.writeFileSync(env[v], '');
	}
	const printed = [];
	const io = files.makeRunnerIO(env, (s) => printed.push(s));

	io.setOutput('supported', 'true');
	io.setOutput('pid', 1234);
	io.setOutput('audit-log', '/var/log/cargowall/a b.ndjson');
	io.exportVariable('CARGOWALL_AUDIT_LOG', '/var/log/cargowall/a b.ndjson');
	io.saveState('token', 'abc');
	io.appendSummary('## one\n');
	io.appendSummary('## two\n');
	io.warning('50% done\nsecond line');
	io.group('g');
	io.endGroup();

	assert.deepEqual(parseFileCommands(fs.readFileSync(env.GITHUB_OUTPUT, 'utf8')),
			 { 'supported': 'true', 'pid': '1234', 'audit-log': '/var/log/cargowall/a b.ndjson' });
	assert.deepEqual(parseFileCommands(fs.readFileSync(env.GITHUB_ENV, 'utf8')),
			 { CARGOWALL_AUDIT_LOG: '/var/log/cargowall/a b.ndjson' });
	assert.deepEqual(parseFileCommands(fs.readFileSync(env.GITHUB_STATE, 'utf8')), { token: 'abc' });
	assert.equal(fs.readFileSync(env.GITHUB_STEP_SUMMARY, 'utf8'), '## one\n## two\n');
	assert.deepEqual(printed, ['::warning::50%25 done%0Asecond line\n', '::group::g\n',
				   '::endgroup::\n']);
});

test('makeRunnerIO: without runner files, values are printed, state comes from STATE_*', () => {
	const printed = [];
	const io = files.makeRunnerIO({ STATE_token: 't0k' }, (s) => printed.push(s));

	io.setOutput('pid', '7');
	io.saveState('x', 'y');
	io.appendSummary('# s\n');
	assert.equal(io.getState('token'), 't0k');
	assert.equal(io.getState('missing'), '');
	assert.deepEqual(printed, ['GITHUB_OUTPUT is not set: pid=7\n',
				   'GITHUB_STATE is not set: state x is lost\n', '# s\n']);
});

test('makeRunnerIO: an unwritable file is an error, not silence', (t) => {
	const d = tmpdir(t);
	const io = files.makeRunnerIO({ GITHUB_OUTPUT: path.join(d, 'no', 'such', 'dir') }, () => {});

	assert.throws(() => io.setOutput('a', 'b'), /ENOENT/);
});

test('truncateSummary: under the limit untouched, over it cut at a line with a note', () => {
	assert.equal(files.truncateSummary('short\n', 100), 'short\n');
	const md = Array.from({ length: 100 }, (_, i) => `| line ${i} | é |`).join('\n');
	const cut = files.truncateSummary(md, 500);

	assert.ok(Buffer.byteLength(cut) <= 500, `${Buffer.byteLength(cut)} bytes`);
	assert.match(cut, /\n\n_\(truncated: the full list is in the audit log\)_\n$/);
	assert.ok(!cut.includes('\ufffd'));
	assert.ok(cut.startsWith('| line 0 | é |\n'));
	assert.equal(files.SUMMARY_LIMIT < 1024 * 1024, true);
});

test('escapeData', () => {
	assert.equal(files.escapeData('a%b\r\nc'), 'a%25b%0D%0Ac');
});
