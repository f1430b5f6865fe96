// SPDX-License-Identifier: Apache-2.0
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const inp = require('../../action/lib/inputs');

const ACTION_YML = path.join(__dirname, '..', '..', 'action.yml');

/* The inputs of action.yml with their defaults (the small subset of YAML that file uses). */
function ymlInputs(text) {
	const out = {};
	const lines = text.split('\n');
	let inInputs = false, name = null;

	for (let i = 0; i < lines.length; i++) {
		const l = lines[i];

		if (/^\S/.test(l)) {
			inInputs = l.startsWith('inputs:');
			continue;
		}
		if (!inInputs)
			continue;
		let m;
		if ((m = /^ {2}([a-z-]+):\s*$/.exec(l))) {
			name = m[1];
			out[name] = undefined;
		} else if ((m = /^ {4}default: \|\s*$/.exec(l))) {
			const block = [];

			while (i + 1 < lines.length && /^ {6}/.test(lines[i + 1]))
				block.push(lines[++i].slice(6));
			out[name] = block.join('\n');
		} else if ((m = /^ {4}default: '(.*)'\s*$/.exec(l))) {
			out[name] = m[1].replace(/''/g, "'");
		}
	}
	return out;
}

test('action.yml declares every input with the defaults main.js assumes', () => {
	const yml = ymlInputs(fs.readFileSync(ACTION_YML, 'utf8'));

	assert.deepEqual(Object.keys(yml).sort(), Object.keys(inp.DEFAULTS).sort());
	for (const [k, v] of Object.entries(inp.DEFAULTS))
		assert.equal(yml[k], v, `default of ${k}`);
});

test('action.yml: CargoWall-compatible inputs, outputs and node runtime', () => {
	const text = fs.readFileSync(ACTION_YML, 'utf8');

	for (const name of ['mode', 'allowed-hosts', 'allowed-cidrs', 'search-domains',
			    'config-file', 'sudo-lockdown', 'sudo-allow-commands', 'dns-upstream',
			    'allow-existing-connections', 'github-service-hosts', 'azure-infra-hosts',
			    'audit-summary', 'fail-on-unsupported', 'binary-path', 'debug'])
		assert.ok(name in inp.DEFAULTS, name);
	for (const out of ['supported', 'pid', 'audit-log'])
		assert.match(text, new RegExp(`^outputs:[\\s\\S]*^  ${out}:`, 'm'), out);
	assert.match(text, /using: 'node20'/);
	assert.match(text, /main: 'action\/main\.js'/);
	assert.match(text, /post: 'action\/post\.js'/);
	assert.match(text, /post-if: 'always\(\)'/);
});

test('getInput: runner variable names, trimming, defaults only when unset', () => {
	assert.equal(inp.inputEnvName('allowed-hosts'), 'INPUT_ALLOWED-HOSTS');
	assert.equal(inp.inputEnvName('a b'), 'INPUT_A_B');
	assert.equal(inp.getInput({ 'INPUT_MODE': '  audit\n' }, 'mode'), 'audit');
	assert.equal(inp.getInput({}, 'mode'), 'enforce');
	assert.equal(inp.getInput({ 'INPUT_MODE': '' }, 'mode'), '');
	assert.equal(inp.getInput({}, 'no-such-input'), '');
});

test('parseList: commas, newlines, CRLF, blanks, comments, empty values', () => {
	assert.deepEqual(inp.parseList(''), []);
	assert.deepEqual(inp.parseList('   \n\n , ,'), []);
	assert.deepEqual(inp.parseList('a.com,b.com\nc.com'), ['a.com', 'b.com', 'c.com']);
	assert.deepEqual(inp.parseList(' a.com ,\r\n b.com\r\n'), ['a.com', 'b.com']);
	assert.deepEqual(inp.parseList('# comment\na.com\n  # another, with a comma\nb.com'),
			 ['a.com', 'b.com']);
	assert.deepEqual(inp.parseList('a.com:443;80, b.com:8080'), ['a.com:443;80', 'b.com:8080']);
});

test('parseBool: YAML core booleans, errors name the input', () => {
	assert.equal(inp.parseBool('x', 'true'), true);
	assert.equal(inp.parseBool('x', 'FALSE'), false);
	assert.throws(() => inp.parseBool('sudo-lockdown', 'yes'),
		      /sudo-lockdown: "yes": must be true or false/);
	assert.throws(() => inp.parseBool('debug', ''), inp.InputError);
});

test('host entries: case, trailing dot, ports, patterns', () => {
	const n = (e) => inp.normalizeHostEntry('allowed-hosts', e);

	assert.equal(n('GitHub.COM.'), 'github.com');
	assert.equal(n('api.github.com:443'), 'api.github.com:443');
	assert.equal(n('a.test:443;80'), 'a.test:443;80');
	assert.equal(n('*.example.com'), '*.example.com');
	assert.equal(n('**.example.com:443'), '**.example.com:443');
	assert.equal(n('_dmarc.example.com'), '_dmarc.example.com');
});

test('host entries: errors', () => {
	const n = (e) => () => inp.normalizeHostEntry('allowed-hosts', e);

	assert.throws(n('a.test:0'), /allowed-hosts: "a.test:0": port "0" must be a number 1-65535/);
	assert.throws(n('a.test:65536'), /port "65536"/);
	assert.throws(n('a.test:'), /port ""/);
	assert.throws(n('a.test:443;'), /port ""/);
	assert.throws(n('a.test:+80'), /port "\+80"/);
	assert.throws(n('a.test:https'), /port "https"/);
	assert.throws(n('a .test'), /blank inside an entry/);
	assert.throws(n('a.test:443; 80'), /blank inside an entry/);
	assert.throws(n('10.0.0.1'), /an IP address: put it in allowed-cidrs/);
	assert.throws(n('foo*.example.com'), /"foo\*" is not a valid label/);
	assert.throws(n('-a.test'), /not a valid label/);
	assert.throws(n('a..test'), /"" is not a valid label/);
	assert.throws(n(`${'a'.repeat(250)}.test`), /not a hostname/);
});

test('CIDR entries: IPv4, IPv6, prefixes, ports', () => {
	const n = (e) => inp.normalizeCidrEntry('allowed-cidrs', e);

	assert.equal(n('10.0.0.0/8'), '10.0.0.0/8');
	assert.equal(n('10.0.0.0/8:443'), '10.0.0.0/8:443');
	assert.equal(n('10.1.2.3:53;853'), '10.1.2.3:53;853');
	assert.equal(n('192.0.2.1'), '192.0.2.1');
	assert.equal(n('[2001:db8::1]:53'), '[2001:db8::1]:53');
	assert.equal(n('[2001:DB8::1]'), '2001:db8::1');
	assert.equal(n('2001:db8::1'), '2001:db8::1');
	assert.equal(n('2001:db8::/32'), '2001:db8::/32');
	assert.equal(n('2001:db8::/32:443'), '2001:db8::/32:443');
	assert.equal(n('[2001:db8::]/32:443'), '2001:db8::/32:443');
	assert.equal(n('::ffff:10.0.0.1'), '::ffff:10.0.0.1');
});

test('CIDR entries: errors', () => {
	const n = (e) => () => inp.normalizeCidrEntry('allowed-cidrs', e);

	assert.throws(n('10.0.0.0/33'), /prefix length "33" must be 0-32/);
	assert.throws(n('10.0.0.0/'), /prefix length ""/);
	assert.throws(n('300.1.1.1'), /"300.1.1.1" is not an IPv4 address/);
	assert.throws(n('10.0.0.1:0'), /port "0"/);
	assert.throws(n('[zz::q]:53'), /is not an IPv6 address/);
	assert.throws(n('2001:db8::/129'), /0-128/);
	assert.throws(n('example.com'), /"example.com" is not an IPv4 address/);
	assert.throws(n('fe80:zz'), /not an IP address or CIDR/);
	assert.throws(n('10.0.0.0 /8'), /blank inside an entry/);
});

test('search domains: two labels at least, leading dot kept', () => {
	assert.deepEqual(inp.parseSearchDomains('search-domains', '.compute.internal, Corp.Example'),
			 ['.compute.internal', 'corp.example']);
	assert.throws(() => inp.parseSearchDomains('search-domains', 'internal'),
		      /"internal": needs at least two labels/);
});

test('extra-args: passed through, state dir and interfaces found, reserved refused', () => {
	const e = inp.parseExtraArgs('--interface cw0\n --cgroup /run/x/cg  --state-dir=/run/x/state ' +
				     '--allow-private-answers --interface=cw1');

	assert.deepEqual(e.args, ['--interface', 'cw0', '--cgroup', '/run/x/cg',
				  '--state-dir=/run/x/state', '--allow-private-answers',
				  '--interface=cw1']);
	assert.equal(e.stateDir, '/run/x/state');
	assert.deepEqual(e.interfaces, ['cw0', 'cw1']);
	assert.deepEqual(inp.parseExtraArgs('').args, []);
	assert.throws(() => inp.parseExtraArgs('--mode audit'), /--mode is set by the action: use the mode input/);
	assert.throws(() => inp.parseExtraArgs('--allow-hosts=x.test'), /use the allowed-hosts input/);
	assert.throws(() => inp.parseExtraArgs('--foreground'), /--foreground is set by the action$/);
	assert.throws(() => inp.parseExtraArgs('--state-dir'), /--state-dir needs a value/);
	assert.throws(() => inp.parseExtraArgs('--state-dir rel/dir'), /not absolute/);
	assert.throws(() => inp.parseExtraArgs('cw0'), /"cw0": not an option/);
});

test('readConfig: defaults', () => {
	const c = inp.readConfig({ GITHUB_WORKSPACE: '/w' });

	assert.equal(c.mode, 'enforce');
	assert.deepEqual(c.allowedHosts, []);
	assert.deepEqual(c.githubServiceHosts, inp.GITHUB_SERVICE_HOSTS);
	assert.deepEqual(c.azureInfraHosts, inp.AZURE_INFRA_HOSTS);
	assert.equal(c.sudoLockdown, false);
	assert.equal(c.allowExistingConnections, true);
	assert.equal(c.auditSummary, true);
	assert.equal(c.failOnUnsupported, false);
	assert.equal(c.debug, false);
	assert.equal(c.configFile, null);
	assert.equal(c.dnsUpstream, null);
	assert.equal(c.stateDir, inp.STATE_DIR_DEFAULT);
});

test('readConfig: values, relative paths against the workspace, duplicates dropped', () => {
	const c = inp.readConfig({
		'GITHUB_WORKSPACE': '/home/runner/work/r/r',
		'INPUT_MODE': 'audit',
		'INPUT_ALLOWED-HOSTS': 'a.test\nA.test\nb.test:443',
		'INPUT_ALLOWED-CIDRS': '10.0.0.0/8,\n',
		'INPUT_CONFIG-FILE': '.github/cargowall.json',
		'INPUT_BINARY-PATH': 'out/cargowall',
		'INPUT_GITHUB-SERVICE-HOSTS': 'none',
		'INPUT_AZURE-INFRA-HOSTS': '',
		'INPUT_DNS-UPSTREAM': '10.0.0.2',
		'INPUT_EXTRA-ARGS': '--state-dir /run/t',
	});

	assert.equal(c.mode, 'audit');
	assert.deepEqual(c.allowedHosts, ['a.test', 'b.test:443']);
	assert.deepEqual(c.allowedCidrs, ['10.0.0.0/8']);
	assert.equal(c.configFile, '/home/runner/work/r/r/.github/cargowall.json');
	assert.equal(c.binaryPath, '/home/runner/work/r/r/out/cargowall');
	assert.deepEqual(c.githubServiceHosts, []);
	assert.deepEqual(c.azureInfraHosts, []);
	assert.equal(c.dnsUpstream, '10.0.0.2');
	assert.equal(c.stateDir, '/run/t');
});

test('readConfig: errors name the input', () => {
	const rc = (env) => () => inp.readConfig({ GITHUB_WORKSPACE: '/w', ...env });

	assert.throws(rc({ 'INPUT_MODE': 'block' }), /mode: "block": must be enforce or audit/);
	assert.throws(rc({ 'INPUT_GITHUB-SERVICE-HOSTS': '' }), /github-service-hosts: empty/);
	assert.throws(rc({ 'INPUT_GITHUB-SERVICE-HOSTS': ' ,\n' }), /github-service-hosts: empty/);
	assert.throws(rc({ 'INPUT_ALLOWED-HOSTS': 'ok.test,bad host' }), /allowed-hosts: "bad host"/);
	assert.throws(rc({ 'INPUT_ALLOWED-CIDRS': '10.0.0.0/40' }), /allowed-cidrs: "10.0.0.0\/40"/);
	assert.throws(rc({ 'INPUT_SUDO-LOCKDOWN': 'on' }), /sudo-lockdown: "on"/);
	assert.throws(rc({ 'INPUT_AUDIT-LOG': 'rel.ndjson' }), /audit-log: "rel.ndjson": must be an absolute path/);
	assert.throws(rc({ 'INPUT_EXTRA-ARGS': '--config /x' }), /use the config-file input/);
	assert.throws(rc({ 'INPUT_AZURE-INFRA-HOSTS': 'x.test:99999' }), /azure-infra-hosts: "x.test:99999"/);
});
