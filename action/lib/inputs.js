// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The action's inputs, read the way the runner hands them over (INPUT_<NAME> environment
 * variables, name upper-cased, spaces to underscores, dashes kept) and checked before anything
 * on the host changes. Every error names the input and the offending value.
 */
const net = require('node:net');
const path = require('node:path');

class InputError extends Error {}

/* Defaults: the same as action.yml (a unit test compares them), so that main.js run outside a
 * runner, where no INPUT_* variable is set, behaves as in a workflow. */
const GITHUB_SERVICE_HOSTS = [
	'github.com',
	'api.github.com',
	'githubapp.com',
	'actions.githubusercontent.com',
	'github.githubassets.com',
	'release-assets.githubusercontent.com',
	'avatars.githubusercontent.com',
];
const AZURE_INFRA_HOSTS = ['trafficmanager.net', 'blob.core.windows.net'];

const DEFAULTS = {
	'mode': 'enforce',
	'allowed-hosts': '',
	'allowed-cidrs': '',
	'search-domains': '',
	'config-file': '',
	'sudo-lockdown': 'false',
	'sudo-allow-commands': '',
	'sudo-lockdown-user': '',
	'dns-upstream': '',
	'allow-existing-connections': 'true',
	'github-service-hosts': GITHUB_SERVICE_HOSTS.join('\n'),
	'azure-infra-hosts': AZURE_INFRA_HOSTS.join('\n'),
	'audit-summary': 'true',
	'fail-on-unsupported': 'false',
	'binary-path': '',
	'debug': 'false',
	'audit-log': '',
	'extra-args': '',
};

function inputEnvName(name) {
	return 'INPUT_' + name.replace(/ /g, '_').toUpperCase();
}

/* The runner sets every input declared in action.yml, defaults included; an input missing from
 * the environment (main.js run by hand, or an older action.yml) takes the default. An input set
 * to the empty string stays empty: for github-service-hosts that is an error, as in CargoWall. */
function getInput(env, name) {
	const v = env[inputEnvName(name)];

	if (v === undefined)
		return DEFAULTS[name] !== undefined ? DEFAULTS[name] : '';
	return v.trim();
}

/* YAML 1.2 core-schema booleans, as @actions/core's getBooleanInput accepts them. */
function parseBool(name, value) {
	if (['true', 'True', 'TRUE'].includes(value))
		return true;
	if (['false', 'False', 'FALSE'].includes(value))
		return false;
	throw new InputError(`${name}: "${value}": must be true or false`);
}

/* Entries separated by commas or newlines; blanks dropped; a line starting with # is a comment
 * (hostnames and CIDRs never contain #). */
function parseList(text) {
	if (!text)
		return [];
	return text
		.split('\n')
		.filter((line) => !line.trim().startsWith('#'))
		.join(',')
		.split(',')
		.map((e) => e.trim())
		.filter((e) => e !== '');
}

/* "443" or "443;80" -> [443, 80]. Decimal, 1-65535, no sign, no blanks. */
function parsePorts(name, entry, text) {
	const ports = text.split(';').map((p) => p.trim());

	for (const p of ports) {
		if (!/^[0-9]{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535)
			throw new InputError(`${name}: "${entry}": port "${p}" must be a number 1-65535`);
	}
	return ports.map(Number);
}

const LABEL_RE = /^(\*\*?|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$/;

function checkHostname(name, entry, host) {
	const h = host.replace(/\.$/, '');

	if (h === '' || h.length > 253)
		throw new InputError(`${name}: "${entry}": not a hostname`);
	if (net.isIP(h) || /^[0-9.]+$/.test(h))
		throw new InputError(`${name}: "${entry}": an IP address: put it in allowed-cidrs`);
	for (const label of h.split('.')) {
		if (!LABEL_RE.test(label))
			throw new InputError(`${name}: "${entry}": "${label}" is not a valid label` +
					     ' (letters, digits, - and _, or a whole-label * or **)');
	}
	return h;
}

/* host, host:443, host:443;80 -> normalised (lower case, no trailing dot). */
function normalizeHostEntry(name, entry) {
	const e = entry.toLowerCase();
	const colon = e.indexOf(':');

	if (/\s/.test(e))
		throw new InputError(`${name}: "${entry}": blank inside an entry`);
	if (colon < 0)
		return checkHostname(name, entry, e);
	const host = checkHostname(name, entry, e.slice(0, colon));
	return `${host}:${parsePorts(name, entry, e.slice(colon + 1)).join(';')}`;
}

function checkPrefix(name, entry, text, max) {
	if (!/^[0-9]{1,3}$/.test(text) || Number(text) > max)
		throw new InputError(`${name}: "${entry}": prefix length "${text}" must be 0-${max}`);
}

/*
 * a.b.c.d, a.b.c.d/n, either with :ports; [v6] or [v6]/n with :ports; v6 or v6/n, the latter with
 * :ports after the prefix length. An unbracketed IPv6 address cannot carry a port (it would be
 * read as part of the address), as in CargoWall.
 */
function normalizeCidrEntry(name, entry) {
	const e = entry.toLowerCase();
	let addr, prefix, ports, m;

	if (/\s/.test(e))
		throw new InputError(`${name}: "${entry}": blank inside an entry`);
	if ((m = /^\[([^\]]*)\](?:\/([^:]*))?(?::(.*))?$/.exec(e))) {
		[, addr, prefix, ports] = m;
		if (!net.isIPv6(addr))
			throw new InputError(`${name}: "${entry}": "${addr}" is not an IPv6 address`);
	} else if (e.includes('.') && !e.includes('::') && e.split(':').length <= 2) {
		[addr, ports] = e.split(':');
		[addr, prefix] = addr.split('/');
		if (!net.isIPv4(addr))
			throw new InputError(`${name}: "${entry}": "${addr}" is not an IPv4 address`);
	} else {
		const slash = e.indexOf('/');

		addr = slash < 0 ? e : e.slice(0, slash);
		if (slash >= 0)
			[prefix, ports] = e.slice(slash + 1).split(/:(.*)/s);
		if (!net.isIPv6(addr))
			throw new InputError(`${name}: "${entry}": not an IP address or CIDR`);
	}
	const v6 = net.isIPv6(addr);
	if (prefix !== undefined)
		checkPrefix(name, entry, prefix, v6 ? 128 : 32);
	let out = v6 && ports !== undefined && prefix === undefined ? `[${addr}]` : addr;
	if (prefix !== undefined)
		out += `/${prefix}`;
	if (ports !== undefined)
		out += `:${parsePorts(name, entry, ports).join(';')}`;
	return out;
}

function uniq(list) {
	return [...new Set(list)];
}

/* Search domains: names of two labels or more, leading dot allowed (".compute.internal"). */
function parseSearchDomains(name, text) {
	return parseList(text).map((d) => {
		const bare = d.toLowerCase().replace(/^\./, '');

		checkHostname(name, d, bare);
		if (!bare.replace(/\.$/, '').includes('.'))
			throw new InputError(`${name}: "${d}": needs at least two labels`);
		return d.toLowerCase();
	});
}

/* Advanced / test-only: extra `cargowall start` arguments, split on blanks (no quoting: a value
 * cannot contain a blank). Options the action sets from its own inputs are refused, so that one
 * setting never silently replaces another. */
const RESERVED_ARGS = {
	'--config': 'config-file',
	'--mode': 'mode',
	'--allow-hosts': 'allowed-hosts',
	'--allow-cidrs': 'allowed-cidrs',
	'--dns-upstream': 'dns-upstream',
	'--audit-log': 'audit-log',
	'--verbose': 'debug',
	'--foreground': null,
};

/* `cargowall start` options that take a value (the others are flags). */
const VALUE_ARGS = ['--interface', '--cgroup', '--state-dir', '--bpffs', '--deny-hosts',
		    '--deny-cidrs', '--enforcer-user', '--dnsd-user', '--auditd-user'];

function parseExtraArgs(text) {
	const args = text ? text.split(/\s+/).filter((a) => a !== '') : [];
	const out = { args, stateDir: null, interfaces: [] };

	for (let i = 0; i < args.length; i++) {
		const a = args[i];
		const [opt, inline] = a.startsWith('--') ? a.split(/=(.*)/s) : [a, undefined];

		if (!opt.startsWith('--'))
			throw new InputError(`extra-args: "${a}": not an option`);
		if (Object.prototype.hasOwnProperty.call(RESERVED_ARGS, opt)) {
			const input = RESERVED_ARGS[opt];

			throw new InputError(`extra-args: ${opt} is set by the action` +
					     (input ? `: use the ${input} input` : ''));
		}
		if (!VALUE_ARGS.includes(opt))
			continue;
		let value = inline;
		if (value === undefined)
			value = args[++i];
		if (!value || value.startsWith('--'))
			throw new InputError(`extra-args: ${opt} needs a value`);
		if (opt === '--state-dir') {
			if (!path.isAbsolute(value))
				throw new InputError(`extra-args: --state-dir "${value}": not absolute`);
			out.stateDir = value;
		} else if (opt === '--interface') {
			out.interfaces.push(value);
		}
	}
	return out;
}

const STATE_DIR_DEFAULT = '/run/cargowall';

/* Everything main needs from its inputs, checked. env: process.env (or a test's). */
function readConfig(env) {
	const get = (n) => getInput(env, n);
	const mode = get('mode') || 'enforce';

	if (mode !== 'enforce' && mode !== 'audit')
		throw new InputError(`mode: "${mode}": must be enforce or audit`);
	const gshRaw = get('github-service-hosts');
	if (gshRaw === '' || parseList(gshRaw).length === 0)
		throw new InputError('github-service-hosts: empty: the runner cannot report results ' +
				     'without GitHub\'s hosts (write "none" to allow none)');
	const gsh = gshRaw === 'none' ? [] : parseList(gshRaw);
	const configFile = get('config-file');
	const auditLog = get('audit-log');
	const binaryPath = get('binary-path');
	if (auditLog && !path.isAbsolute(auditLog))
		throw new InputError(`audit-log: "${auditLog}": must be an absolute path`);
	const extra = parseExtraArgs(get('extra-args'));
	const workspace = env.GITHUB_WORKSPACE || process.cwd();

	return {
		mode,
		allowedHosts: uniq(parseList(get('allowed-hosts')).map(
			(e) => normalizeHostEntry('allowed-hosts', e))),
		allowedCidrs: uniq(parseList(get('allowed-cidrs')).map(
			(e) => normalizeCidrEntry('allowed-cidrs', e))),
		searchDomains: parseSearchDomains('search-domains', get('search-domains')),
		/* Relative to the workspace, as a workflow author expects of a path. */
		configFile: configFile ? path.resolve(workspace, configFile) : null,
		sudoLockdown: parseBool('sudo-lockdown', get('sudo-lockdown')),
		sudoAllowCommands: get('sudo-allow-commands'),
		sudoLockdownUser: get('sudo-lockdown-user'),
		dnsUpstream: get('dns-upstream') || null,
		allowExistingConnections: parseBool('allow-existing-connections',
						    get('allow-existing-connections')),
		githubServiceHosts: gsh.map((e) => normalizeHostEntry('github-service-hosts', e)),
		azureInfraHosts: parseList(get('azure-infra-hosts')).map(
			(e) => normalizeHostEntry('azure-infra-hosts', e)),
		auditSummary: parseBool('audit-summary', get('audit-summary')),
		failOnUnsupported: parseBool('fail-on-unsupported', get('fail-on-unsupported')),
		binaryPath: binaryPath ? path.resolve(workspace, binaryPath) : null,
		debug: parseBool('debug', get('debug')),
		auditLog: auditLog || null,
		extraArgs: extra.args,
		stateDir: extra.stateDir || STATE_DIR_DEFAULT,
		interfaces: extra.interfaces,
	};
}

module.exports = {
	InputError,
	DEFAULTS,
	GITHUB_SERVICE_HOSTS,
	AZURE_INFRA_HOSTS,
	STATE_DIR_DEFAULT,
	inputEnvName,
	getInput,
	parseBool,
	parseList,
	parsePorts,
	normalizeHostEntry,
	normalizeCidrEntry,
	parseSearchDomains,
	parseExtraArgs,
	readConfig,
};
