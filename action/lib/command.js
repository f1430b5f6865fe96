// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The `cargowall start` command line (README "Command line"; DESIGN.md §6) from the checked
 * inputs. Policy sources merge in the launcher: --config, then the CARGOWALL_* variables of the
 * step's environment (forwarded explicitly: sudo and `env -i` would drop them), then the list
 * options. Nothing here runs anything.
 */
const path = require('node:path');
const { ROOT_PATH } = require('./exec');

/* CargoWall's environment variables, which a workflow may set instead of inputs. */
const FORWARDED_ENV = [
	'CARGOWALL_DEFAULT_ACTION',
	'CARGOWALL_ALLOWED_HOSTS',
	'CARGOWALL_ALLOWED_CIDRS',
	'CARGOWALL_BLOCKED_HOSTS',
	'CARGOWALL_BLOCKED_CIDRS',
	'CARGOWALL_SEARCH_DOMAINS',
];

const AUDIT_LOG_DIR = '/var/log/cargowall';

/* One log per job, so that a self-hosted runner's summary never mixes in an earlier job. */
function defaultAuditLog(env, nowMs) {
	const digits = (v, d) => (/^[0-9]+$/.test(v || '') ? v : d);

	return path.join(AUDIT_LOG_DIR, `action-${digits(env.GITHUB_RUN_ID, 'local')}-` +
			 `${digits(env.GITHUB_RUN_ATTEMPT, '1')}-${nowMs}.ndjson`);
}

/* The environment of `cargowall start`: a fixed PATH and the forwarded CARGOWALL_* variables,
 * the search-domains input joined to CARGOWALL_SEARCH_DOMAINS. Returns [[name, value]...]. */
function startEnv(cfg, env) {
	const out = [['PATH', ROOT_PATH]];

	for (const name of FORWARDED_ENV) {
		let v = env[name] !== undefined ? env[name].trim() : '';

		if (name === 'CARGOWALL_SEARCH_DOMAINS' && cfg.searchDomains.length)
			v = [v, ...cfg.searchDomains].filter((x) => x).join(',');
		if (v)
			out.push([name, v]);
	}
	return out;
}

/*
 * cfg: readConfig(); bin: the installed launcher; extra: {hosts, cidrs} the action adds (service
 * hosts, pre-existing connections); auditLog: the log path; env: the step's environment.
 * Returns the argv to run as root: env -i NAME=VALUE... BIN start OPTIONS...
 */
function startArgv(cfg, bin, extra, auditLog, env) {
	const hosts = [...new Set([...cfg.allowedHosts, ...extra.hosts])];
	const cidrs = [...new Set([...cfg.allowedCidrs, ...extra.cidrs])];
	const argv = ['env', '-i', ...startEnv(cfg, env).map(([k, v]) => `${k}=${v}`), bin, 'start',
		      '--mode', cfg.mode];

	if (cfg.configFile)
		argv.push('--config', cfg.configFile);
	if (hosts.length)
		argv.push('--allow-hosts', hosts.join(','));
	if (cidrs.length)
		argv.push('--allow-cidrs', cidrs.join(','));
	if (cfg.dnsUpstream)
		argv.push('--dns-upstream', cfg.dnsUpstream);
	argv.push('--audit-log', auditLog, '--state-dir', cfg.stateDir);
	if (cfg.debug)
		argv.push('--verbose');
	argv.push(...cfg.extraArgs);
	return argv;
}

/* "cargowall: enforcement live (mode enforce, pid 1234, audit log /x)" -> {mode, pid, log}. */
function parseStartOutput(stdout) {
	const m = /enforcement live \(mode (\w+), pid ([0-9]+), audit log (.*)\)\s*$/m.exec(stdout);

	return m ? { mode: m[1], pid: Number(m[2]), auditLog: m[3] } : null;
}

/* The other launcher commands the action runs. */
function stopArgv(bin, stateDir) {
	return [bin, 'stop', '--state-dir', stateDir];
}

function summaryArgv(bin, auditLog) {
	return [bin, 'summary', '--audit-log', auditLog, '--format', 'markdown'];
}

module.exports = {
	FORWARDED_ENV,
	AUDIT_LOG_DIR,
	defaultAuditLog,
	startEnv,
	startArgv,
	parseStartOutput,
	stopArgv,
	summaryArgv,
};
