// SPDX-License-Identifier: Apache-2.0
'use strict';
/* The `cargowall start` command line, the service hosts and the existing connections. */
const test = require('node:test');
const assert = require('node:assert/strict');

const { readConfig } = require('../../action/lib/inputs');
const hosts = require('../../action/lib/hosts');
const cmd = require('../../action/lib/command');
const conns = require('../../action/lib/conns');
const { ROOT_PATH } = require('../../action/lib/exec');

const cfgOf = (inputs) => readConfig({ GITHUB_WORKSPACE: '/w', ...inputs });

test('urlDestination: host and port of the runner URLs', () => {
	assert.deepEqual(hosts.urlDestination('https://pipelines.actions.githubusercontent.com/abc/'),
			 { host: 'pipelines.actions.githubusercontent.com:443' });
	assert.deepEqual(hosts.urlDestination('http://Cache.Example.COM:8080/x'),
			 { host: 'cache.example.com:8080' });
	assert.deepEqual(hosts.urlDestination('https://10.1.2.3/'), { cidr: '10.1.2.3/32:443' });
	assert.deepEqual(hosts.urlDestination('https://[2001:db8::5]:8443/'),
			 { cidr: '[2001:db8::5]:8443' });
	assert.equal(hosts.urlDestination('not a url'), null);
	assert.equal(hosts.urlDestination('ftp://example.com/'), null);
	assert.equal(hosts.urlDestination(''), null);
});

test('serviceDestinations: GitHub list on 443, ACTIONS_* hosts, Azure, deduplicated', () => {
	const env = {
		ACTIONS_RUNTIME_URL: 'https://pipelines.actions.githubusercontent.com/x/',
		ACTIONS_RESULTS_URL: 'https://results-receiver.actions.githubusercontent.com/',
		ACTIONS_CACHE_URL: 'https://pipelines.actions.githubusercontent.com/y/',
		ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions.githubusercontent.com/t',
		GITHUB_SERVER_URL: 'https://github.com',
		GITHUB_API_URL: 'https://api.github.com',
	};
	const d = hosts.serviceDestinations(cfgOf({}), env);

	assert.ok(d.hosts.includes('github.com:443'));
	assert.ok(d.hosts.includes('release-assets.githubusercontent.com:443'));
	assert.ok(d.hosts.includes('pipelines.actions.githubusercontent.com:443'));
	assert.ok(d.hosts.includes('results-receiver.actions.githubusercontent.com:443'));
	assert.ok(d.hosts.includes('token.actions.githubusercontent.com:443'));
	assert.ok(d.hosts.includes('trafficmanager.net:443'));
	assert.ok(d.hosts.includes('blob.core.windows.net:443'));
	assert.equal(d.hosts.length, new Set(d.hosts).size, 'no duplicates');
	assert.equal(d.hosts.filter((h) => h === 'github.com:443').length, 1);
	assert.deepEqual(d.cidrs, [hosts.AZURE_WIRESERVER]);
});

test('serviceDestinations: none, empty Azure, bad URL, explicit port kept', () => {
	const d = hosts.serviceDestinations(cfgOf({
		'INPUT_GITHUB-SERVICE-HOSTS': 'none', 'INPUT_AZURE-INFRA-HOSTS': '' }),
	{ ACTIONS_RUNTIME_URL: 'https://x.test/' });
	assert.deepEqual(d, { hosts: [], cidrs: [], notes: [] });

	const e = hosts.serviceDestinations(cfgOf({
		'INPUT_GITHUB-SERVICE-HOSTS': 'ghe.corp.example:8443', 'INPUT_AZURE-INFRA-HOSTS': '' }),
	{ ACTIONS_RUNTIME_URL: '::nonsense::', ACTIONS_RESULTS_URL: 'https://10.0.0.9:444/' });
	assert.deepEqual(e.hosts, ['ghe.corp.example:8443']);
	assert.deepEqual(e.cidrs, ['10.0.0.9/32:444']);
	assert.ok(e.notes.some((n) => /ACTIONS_RUNTIME_URL: not an http\(s\) URL/.test(n)));
});

test('startEnv: fixed PATH, CARGOWALL_* forwarded, search domains merged', () => {
	const cfg = cfgOf({ 'INPUT_SEARCH-DOMAINS': '.corp.example' });
	const env = cmd.startEnv(cfg, {
		PATH: '/home/runner/evil:/usr/bin',
		CARGOWALL_ALLOWED_HOSTS: ' env.test ',
		CARGOWALL_SEARCH_DOMAINS: '.compute.internal',
		CARGOWALL_DEFAULT_ACTION: 'deny',
		CARGOWALL_BLOCKED_CIDRS: '',
		LD_PRELOAD: '/tmp/x.so',
	});

	assert.deepEqual(env, [
		['PATH', ROOT_PATH],
		['CARGOWALL_DEFAULT_ACTION', 'deny'],
		['CARGOWALL_ALLOWED_HOSTS', 'env.test'],
		['CARGOWALL_SEARCH_DOMAINS', '.compute.internal,.corp.example'],
	]);
});

test('startArgv: the whole command line', () => {
	const cfg = cfgOf({
		'INPUT_MODE': 'audit',
		'INPUT_ALLOWED-HOSTS': 'a.test:80\nb.test',
		'INPUT_ALLOWED-CIDRS': '10.9.0.0/16',
		'INPUT_CONFIG-FILE': 'cw.json',
		'INPUT_DNS-UPSTREAM': '10.0.0.2:5353',
		'INPUT_DEBUG': 'true',
		'INPUT_EXTRA-ARGS': '--interface cw0 --state-dir /run/s --allow-private-answers',
	});
	const argv = cmd.startArgv(cfg, '/opt/cw/bin/cargowall',
				   { hosts: ['github.com:443', 'b.test'], cidrs: ['1.2.3.4/32:443'] },
				   '/var/log/cargowall/a.ndjson', { CARGOWALL_BLOCKED_HOSTS: 'x.test' });

	assert.deepEqual(argv, [
		'env', '-i', `PATH=${ROOT_PATH}`, 'CARGOWALL_BLOCKED_HOSTS=x.test',
		'/opt/cw/bin/cargowall', 'start', '--mode', 'audit',
		'--config', '/w/cw.json',
		'--allow-hosts', 'a.test:80,b.test,github.com:443',
		'--allow-cidrs', '10.9.0.0/16,1.2.3.4/32:443',
		'--dns-upstream', '10.0.0.2:5353',
		'--audit-log', '/var/log/cargowall/a.ndjson', '--state-dir', '/run/s',
		'--verbose',
		'--interface', 'cw0', '--state-dir', '/run/s', '--allow-private-answers',
	]);
});

test('startArgv: nothing optional when nothing is given', () => {
	const cfg = cfgOf({ 'INPUT_GITHUB-SERVICE-HOSTS': 'none', 'INPUT_AZURE-INFRA-HOSTS': '' });
	const argv = cmd.startArgv(cfg, '/b/cargowall', { hosts: [], cidrs: [] }, '/l', {});

	assert.deepEqual(argv, ['env', '-i', `PATH=${ROOT_PATH}`, '/b/cargowall', 'start', '--mode',
				'enforce', '--audit-log', '/l', '--state-dir', '/run/cargowall']);
});

test('parseStartOutput and the other command lines', () => {
	assert.deepEqual(cmd.parseStartOutput(
		'cargowall: enforcement live (mode enforce, pid 4242, audit log /var/log/x y.ndjson)\n'),
	{ mode: 'enforce', pid: 4242, auditLog: '/var/log/x y.ndjson' });
	assert.equal(cmd.parseStartOutput('cargowall: start failed: no default route\n'), null);
	assert.equal(cmd.parseStartOutput(''), null);
	assert.deepEqual(cmd.stopArgv('/b/cargowall', '/run/s'),
			 ['/b/cargowall', 'stop', '--state-dir', '/run/s']);
	assert.deepEqual(cmd.summaryArgv('/b/cargowall', '/l'),
			 ['/b/cargowall', 'summary', '--audit-log', '/l', '--format', 'markdown']);
});

test('defaultAuditLog: one file per job, only digits from the environment', () => {
	assert.equal(cmd.defaultAuditLog({ GITHUB_RUN_ID: '123', GITHUB_RUN_ATTEMPT: '2' }, 99),
		     '/var/log/cargowall/action-123-2-99.ndjson');
	assert.equal(cmd.defaultAuditLog({ GITHUB_RUN_ID: '../../etc' }, 5),
		     '/var/log/cargowall/action-local-1-5.ndjson');
});

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100000A:C350 0A01C70A:01BB 01 00000000:00000000 00:00000000 00000000  1001        0 2 1
   2: 0100000A:C351 0A01C70A:01BB 01 00000000:00000000 00:00000000 00000000  1001        0 3 1
   3: 0100000A:C352 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1001        0 4 1
   4: 0100000A:C353 4201C70A:0050 06 00000000:00000000 00:00000000 00000000  1001        0 5 1
   5: 0100000A:C354 3501C70A:0035 01 00000000:00000000 00:00000000 00000000  1001        0 6 1
`;
const TCP6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A
   1: B80D0120000000000000000001000000:C000 B80D0120000000000000000005000000:01BB 01
   2: 0000000000000000FFFF00000100000A:C001 0000000000000000FFFF00000A01C70A:0050 01
   3: 00000000000000000000000001000000:C002 00000000000000000000000001000000:0016 01
`;

test('established peers: IPv4 and IPv6, loopback and other states skipped', () => {
	assert.deepEqual(conns.establishedPeers(TCP, true),
			 ['10.199.1.10/32:443', '10.199.1.53/32:53']);
	assert.deepEqual(conns.establishedPeers(TCP6, true),
			 ['[2001:db8::5]:443', '10.199.1.10/32:80']);
	assert.deepEqual(conns.establishedPeers('', true), []);
	assert.deepEqual(conns.establishedPeers('header\n garbage line\n 1: zz:zz yy:yy 01\n', true), []);
});

test('established peers: big-endian hosts print addresses in network order', () => {
	const be = TCP.replace('0A01C70A:01BB 01', '0AC7010A:01BB 01');

	assert.ok(conns.establishedPeers(be, false).includes('10.199.1.10/32:443'));
});

test('formatV6: zero compression', () => {
	const b = (s) => s.match(/../g).map((x) => parseInt(x, 16));

	assert.equal(conns.formatV6(b('20010db8000000000000000000000001')), '2001:db8::1');
	assert.equal(conns.formatV6(b('00000000000000000000000000000000')), '::');
	assert.equal(conns.formatV6(b('20010db8000100000001000000000001')), '2001:db8:1:0:1::1');
	assert.equal(conns.formatV6(b('fe800000000000000000000000000000')), 'fe80::');
});

test('presets never override a user deny: the wireserver and existing peers under a deny CIDR', () => {
	const conf = '/ws/cargowall.json';
	const files = {
		[conf]: JSON.stringify({ defaultAction: 'deny', rules: [
			{ type: 'cidr', value: '168.63.0.0/16', action: 'deny' },
			{ type: 'cidr', value: '10.0.0.0/8', action: 'allow' }] }),
	};
	const cfg = cfgOf({ 'INPUT_EXTRA-ARGS': '--deny-cidrs 192.0.2.0/24:443,2001:db8::/32' });

	cfg.configFile = conf;
	const denies = hosts.userDenyCidrs(cfg, { CARGOWALL_BLOCKED_CIDRS: '198.51.100.7\n' },
					  (p) => files[p]);
	assert.deepEqual(denies.sort(), ['168.63.0.0/16', '192.0.2.0/24:443', '198.51.100.7',
					 '2001:db8::/32'].sort());
	const extra = { hosts: ['github.com:443'], notes: [],
			cidrs: [hosts.AZURE_WIRESERVER, '192.0.2.9/32:443', '203.0.113.4/32:443',
				'[2001:db8::9]:443', '198.51.100.7/32:22', '10.1.2.3/32:443'] };
	hosts.dropDenied(extra, denies);
	assert.deepEqual(extra.cidrs, ['203.0.113.4/32:443', '10.1.2.3/32:443']);
	assert.equal(extra.notes.length, 4);
	assert.match(extra.notes[0],
		     /^168\.63\.129\.16\/32:53;80;32526: not added, your deny 168\.63\.0\.0\/16/);
	assert.deepEqual(extra.hosts, ['github.com:443'], 'names are left to dnsd and the policy');

	/* a broken config file (start refuses it itself), nothing to drop, bad entries */
	cfg.configFile = '/ws/broken.json';
	assert.deepEqual(hosts.userDenyCidrs(cfg, {}, () => '{not json'),
			 ['192.0.2.0/24:443', '2001:db8::/32']);
	const none = { hosts: [], notes: [], cidrs: [hosts.AZURE_WIRESERVER] };
	hosts.dropDenied(none, []);
	assert.deepEqual(none.cidrs, [hosts.AZURE_WIRESERVER]);
	assert.equal(hosts.parseCidr('not-a-cidr'), null);
	assert.equal(hosts.parseCidr('10.0.0.0/33'), null);
});
