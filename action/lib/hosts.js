// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * What the runner itself must reach while the firewall is up: GitHub's service hosts (the
 * github-service-hosts input, plus the hosts of the URLs the runner hands every step), and
 * Azure's infrastructure (azure-infra-hosts, plus the wireserver that the VM agent talks to).
 */
const net = require('node:net');

/* URLs the runner sets for the job (results upload, artifacts, cache, OIDC tokens), and the
 * server and API URLs, which name the GitHub Enterprise Server host when there is one. */
const ACTIONS_URL_VARS = [
	'ACTIONS_RUNTIME_URL',
	'ACTIONS_RESULTS_URL',
	'ACTIONS_CACHE_URL',
	'ACTIONS_ID_TOKEN_REQUEST_URL',
	'GITHUB_SERVER_URL',
	'GITHUB_API_URL',
];

/* Azure's wireserver (DHCP, health reports and the VM agent on Azure VMs, which GitHub-hosted
 * runners are): DNS, HTTP and the agent's port, on one fixed address. */
const AZURE_WIRESERVER = '168.63.129.16/32:53;80;32526';

/* The destination of one URL: {host: 'name:port'} or {cidr: 'ip/32:port'}; null when the URL
 * is not http(s) or does not parse. */
function urlDestination(text) {
	let u;

	try {
		u = new URL(text);
	} catch {
		return null;
	}
	if (u.protocol !== 'https:' && u.protocol !== 'http:')
		return null;
	const port = u.port || (u.protocol === 'https:' ? '443' : '80');
	const host = u.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '');

	if (net.isIPv4(host))
		return { cidr: `${host}/32:${port}` };
	if (net.isIPv6(host))
		return { cidr: `[${host}]:${port}` };
	if (!host)
		return null;
	return { host: `${host}:${port}` };
}

/* Entries without a port get :443, as CargoWall allows them. */
function withPort(entries, port) {
	return entries.map((e) => (e.includes(':') ? e : `${e}:${port}`));
}

/*
 * cfg: readConfig()'s result. env: the step's environment (for the ACTIONS_* URLs).
 * Returns {hosts, cidrs, notes}: what the action adds to --allow-hosts and --allow-cidrs, and
 * one line per source for the log.
 */
function serviceDestinations(cfg, env) {
	const hosts = [], cidrs = [], notes = [];

	if (cfg.githubServiceHosts.length) {
		hosts.push(...withPort(cfg.githubServiceHosts, 443));
		notes.push(`GitHub service hosts (tcp/udp 443): ${cfg.githubServiceHosts.join(', ')}`);
		for (const v of ACTIONS_URL_VARS) {
			if (!env[v])
				continue;
			const d = urlDestination(env[v]);

			if (!d) {
				notes.push(`${v}: not an http(s) URL, ignored`);
				continue;
			}
			if (d.host)
				hosts.push(d.host);
			else
				cidrs.push(d.cidr);
			notes.push(`${v}: ${d.host || d.cidr}`);
		}
	}
	if (cfg.azureInfraHosts.length) {
		hosts.push(...withPort(cfg.azureInfraHosts, 443));
		cidrs.push(AZURE_WIRESERVER);
		notes.push(`Azure infrastructure (tcp/udp 443): ${cfg.azureInfraHosts.join(', ')}; ` +
			   `wireserver ${AZURE_WIRESERVER}`);
	}
	return { hosts: [...new Set(hosts)], cidrs: [...new Set(cidrs)], notes };
}

module.exports = { ACTIONS_URL_VARS, AZURE_WIRESERVER, urlDestination, serviceDestinations };
