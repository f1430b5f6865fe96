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

/* "10.0.0.0/8", "10.1.2.3/32:443", "[2001:db8::1]:53", "2001:db8::/32" -> {bits: BigInt,
 * len, v6} for the address part, or null. */
function parseCidr(entry) {
	let text = entry.trim(), v6 = false;
	const br = text.match(/^\[([^\]]+)\](?:\/(\d+))?/);

	if (br) {
		text = br[1] + (br[2] ? `/${br[2]}` : '');
		v6 = true;
	} else if (/^\d+\.\d+\.\d+\.\d+(\/\d+)?(:|$)/.test(text)) {
		text = text.split(':')[0];
	} else {
		v6 = true; /* bare IPv6 CIDR: no port syntax without brackets */
	}
	const [addr, lenText] = text.split('/');
	const max = v6 ? 128 : 32;
	const len = lenText === undefined ? max : Number(lenText);

	if (!Number.isInteger(len) || len < 0 || len > max ||
	    !(v6 ? net.isIPv6(addr) : net.isIPv4(addr)))
		return null;
	let bits = 0n;
	if (!v6) {
		for (const o of addr.split('.'))
			bits = (bits << 8n) | BigInt(Number(o));
	} else {
		const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, null];
		const hs = head ? head.split(':') : [];
		const ts = tail ? tail.split(':') : [];
		const fill = Array(8 - hs.length - ts.length).fill('0');
		const groups = tail === null ? hs : [...hs, ...fill, ...ts];
		for (const g of groups)
			bits = (bits << 16n) | BigInt(parseInt(g || '0', 16));
	}
	return { bits, len, v6 };
}

function covers(outer, inner) {
	if (outer.v6 !== inner.v6 || outer.len > inner.len)
		return false;
	const shift = BigInt((outer.v6 ? 128 : 32) - outer.len);
	return outer.bits >> shift === inner.bits >> shift;
}

/* The deny CIDRs the user gave, from every source the launcher merges: the config file's cidr
 * rules with action deny, --deny-cidrs in extra-args, CARGOWALL_BLOCKED_CIDRS. */
function userDenyCidrs(cfg, env, readFile) {
	const out = [];
	const list = (text) => (text || '').split(/[,\n]/).map((e) => e.trim()).filter((e) => e);

	for (let i = 0; i + 1 < cfg.extraArgs.length; i++)
		if (cfg.extraArgs[i] === '--deny-cidrs')
			out.push(...list(cfg.extraArgs[i + 1]));
	out.push(...list(env.CARGOWALL_BLOCKED_CIDRS));
	if (cfg.configFile) {
		try {
			const conf = JSON.parse(readFile(cfg.configFile) || '{}');

			for (const r of Array.isArray(conf.rules) ? conf.rules : [])
				if (r && r.type === 'cidr' && r.action === 'deny' && typeof r.value === 'string')
					out.push(r.value);
		} catch {
			/* a broken file is refused by `cargowall start` with its own error */
		}
	}
	return out;
}

/*
 * What the action adds on its own (service hosts' addresses, the wireserver, existing
 * connections) never overrides a deny the user wrote: the launcher lets the most specific prefix
 * win, so an added /32 allow would beat a user's broader deny. Drops those entries of
 * extra.cidrs that a deny covers and says so in extra.notes.
 */
function dropDenied(extra, denies) {
	const parsed = denies.map((d) => ({ text: d, c: parseCidr(d) })).filter((d) => d.c);

	extra.cidrs = extra.cidrs.filter((e) => {
		const c = parseCidr(e);
		const by = c && parsed.find((d) => covers(d.c, c));

		if (by)
			extra.notes.push(`${e}: not added, your deny ${by.text} covers it`);
		return !by;
	});
	return extra;
}

module.exports = { ACTIONS_URL_VARS, AZURE_WIRESERVER, urlDestination, serviceDestinations,
		   parseCidr, covers, userDenyCidrs, dropDenied };
