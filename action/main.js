// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The action's main step: check the inputs and the kernel, build (or take) the binaries, install
 * them where the workload cannot change them, start the firewall and return only once
 * `cargowall start` said enforcement is live; then, when asked, lock sudo down. Everything the
 * post step needs travels in the runner's saved state. See README "GitHub Action".
 *
 * Advanced and test-only settings (documented in action.yml): the inputs extra-args, audit-log
 * and sudo-lockdown-user; the environment variable CARGOWALL_ACTION_DIR (where the binaries,
 * the gate and the token's hash live; default /var/lib/cargowall-action).
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { readConfig, InputError } = require('./lib/inputs');
const { serviceDestinations, userDenyCidrs, dropDenied } = require('./lib/hosts');
const { establishedPeers } = require('./lib/conns');
const { makeRunnerIO } = require('./lib/files');
const { makeRunner, lastLines, privWrite, showArgv } = require('./lib/exec');
const { defaultRouteIfaces, checkSupport, tcProbe } = require('./lib/support');
const { defaultAuditLog, startArgv, parseStartOutput } = require('./lib/command');
const { renderGate, restoreSudoSh, shq } = require('./lib/gate');
const sudo = require('./lib/sudo');

const ACTION_DIR_DEFAULT = '/var/lib/cargowall-action';
const PROGRAMS = ['cargowall', 'cargowall-enforcer', 'cargowall-dnsd', 'cargowall-auditd'];
const BUILD_TIMEOUT_MS = 30 * 60 * 1000;
const START_TIMEOUT_MS = 120 * 1000;

class StepError extends Error {}

function readOrNull(p) {
	try {
		return fs.readFileSync(p, 'utf8');
	} catch {
		return null;
	}
}

/* The action's root-owned directory. Test-only override; it ends up in sudoers, so plain
 * characters only. */
function actionDir(env) {
	const d = env.CARGOWALL_ACTION_DIR || ACTION_DIR_DEFAULT;

	if (!/^\/[A-Za-z0-9_.+@/-]+$/.test(d) || d.split('/').includes('..'))
		throw new InputError(`CARGOWALL_ACTION_DIR: "${d}": an absolute path of plain characters`);
	return d.replace(/\/+$/, '');
}

/* The sudo inputs are checked before anything changes, like every other input. */
function lockdownPlan(cfg, env, h) {
	if (!cfg.sudoLockdown)
		return null;
	const me = h.userInfo();
	let workspaceUid = null;

	try {
		workspaceUid = env.GITHUB_WORKSPACE ? fs.statSync(env.GITHUB_WORKSPACE).uid : null;
	} catch {
		/* no workspace: the other sources decide */
	}
	const passwd = h.readFile('/etc/passwd') || '';
	const who = sudo.resolveLockdownUser({ input: cfg.sudoLockdownUser, uid: me.uid,
					       username: me.username, env, workspaceUid, passwd });
	return { ...who, currentUser: me.username, passwd,
		 commands: sudo.parseAllowCommands(cfg.sudoAllowCommands) };
}

/* A job on this machine whose post step never ran (a self-hosted runner killed mid-job) may
 * have left its firewall running and its lockdown in place: undo both before starting. */
function cleanupStale(runner, io, dir, dropIn) {
	const script = [
		'set -u',
		restoreSudoSh(dir, dropIn),
		`if [ -f ${shq(dir + '/started')} ]; then`,
		`	${shq(dir + '/bin/cargowall')} stop --state-dir "$(cat ${shq(dir + '/started')})" >&2 &&`,
		`		rm -f ${shq(dir + '/started')}`,
		'fi',
		'restore_sudo',
	].join('\n');
	const r = runner.priv(['sh', '-c', script]);

	if (r.status !== 0) {
		const hint = fs.existsSync(dropIn)
			? ` (${dropIn} from an earlier job may have locked sudo: as root, remove it)` : '';
		throw new StepError(`cannot clean up after an earlier job: ${lastLines(r)}${hint}`);
	}
}

function build(runner, io, root) {
	const b = path.join(root, 'build');
	const steps = [
		[runner.priv, [path.join(root, 'scripts', 'install-deps.sh')]],
		[runner.run, ['cmake', '-S', root, '-B', b, '-DCMAKE_BUILD_TYPE=Release']],
		[runner.run, ['cmake', '--build', b, '-j', String(os.cpus().length || 2), '--target',
			      ...PROGRAMS]],
	];

	io.group('cargowall: build from source');
	try {
		for (const [fn, argv] of steps) {
			const r = fn(argv, { inherit: true, timeoutMs: BUILD_TIMEOUT_MS });

			if (r.status !== 0)
				throw new StepError(`build failed: ${showArgv(argv)} exited ${r.status}`);
		}
	} finally {
		io.endGroup();
	}
	return path.join(b, 'bin', 'cargowall');
}

/* Copy the four programs into DIR/bin, root's: the workload cannot swap the binary that post
 * runs as root, and the launcher finds its children beside itself. */
function install(runner, src, dir) {
	const srcDir = path.dirname(src);
	const files = PROGRAMS.map((p) => path.join(srcDir, p));
	const missing = files.filter((f) => !fs.existsSync(f));

	if (path.basename(src) !== 'cargowall' || missing.length)
		throw new StepError(`binary-path: ${src}: needs cargowall and its siblings ` +
				    `cargowall-enforcer, -dnsd, -auditd (missing: ${missing.join(', ')})`);
	for (const argv of [['install', '-d', '-m', '0755', '-o', 'root', '-g', 'root', dir,
			     `${dir}/bin`],
			    ['install', '-m', '0755', '-o', 'root', '-g', 'root', ...files,
			     `${dir}/bin/`]]) {
		const r = runner.priv(argv);

		if (r.status !== 0)
			throw new StepError(`cannot install the programs into ${dir}: ${lastLines(r)}`);
	}
}

/* The log exists before the launcher opens it (append, O_NOFOLLOW), mode 0644, so that the
 * workflow's later steps (upload-artifact) can read it; it is never created through a link. */
function prepareLog(runner, log) {
	const r = runner.priv(['sh', '-c',
			       'mkdir -p -m 0755 "$(dirname "$1")" && umask 022 && set -C && ' +
			       '{ : >"$1"; } 2>/dev/null; [ -f "$1" ] && [ ! -L "$1" ]', 'sh', log]);

	if (r.status !== 0)
		throw new StepError(`audit-log: ${log}: cannot create it (or it is not a plain file)`);
}

function supportCheck(runner, io, cfg, h, privileged) {
	const ifaces = cfg.interfaces.length ? cfg.interfaces
		: defaultRouteIfaces(h.readFile('/proc/net/route'), h.readFile('/proc/net/ipv6_route'));
	const sup = checkSupport({ release: h.release, exists: h.exists, readFile: h.readFile, ifaces,
				   privileged, probeTc: (ifc) => tcProbe(runner, ifc) });

	io.group('cargowall: kernel support');
	for (const c of sup.checks)
		io.info(`${c.ok ? 'ok  ' : 'FAIL'} ${c.what}: ${c.detail}`);
	io.endGroup();
	return sup;
}

/* The host as main sees it; tests hand in their own (and a runner that records commands). */
function hostFacts(over = {}) {
	return { release: os.release(), exists: fs.existsSync, readFile: readOrNull,
		 userInfo: () => os.userInfo(), now: () => Date.now(),
		 out: (s) => process.stdout.write(s), runner: null, ...over };
}

function run(env, deps) {
	const h = hostFacts(deps);
	const io = makeRunnerIO(env, h.out);
	let cfg, plan, dir;

	try {
		cfg = readConfig(env);
		plan = lockdownPlan(cfg, env, h);
		dir = actionDir(env);
	} catch (e) {
		if (!(e instanceof InputError || e instanceof sudo.LockdownError))
			throw e;
		io.setOutput('supported', 'false');
		io.error(e.message);
		return 1;
	}
	const runner = h.runner || makeRunner({ log: (m) => io.info(m) });
	const bin = `${dir}/bin/cargowall`;
	const gate = `${dir}/gate`;
	const dropIn = sudo.DROPIN_DEFAULT;
	const log = cfg.auditLog || defaultAuditLog(env, h.now());
	let live = null;

	try {
		/* Without root (no password-less sudo) the runner is unsupported, not broken. */
		const privileged = runner.priv(['true']).status === 0;
		if (privileged)
			cleanupStale(runner, io, dir, dropIn);
		const sup = supportCheck(runner, io, cfg, h, privileged);
		if (!sup.ok) {
			io.setOutput('supported', 'false');
			const why = sup.checks.filter((c) => !c.ok).map((c) => c.what).join(', ');
			if (cfg.failOnUnsupported) {
				io.error(`cargowall: this runner cannot enforce (${why})`);
				return 1;
			}
			io.warning(`cargowall: this runner cannot enforce (${why}): ` +
				   'continuing WITHOUT a firewall (fail-on-unsupported: false)');
			return 0;
		}

		install(runner, cfg.binaryPath || build(runner, io, path.resolve(__dirname, '..')), dir);
		/* The gate and the token before anything that post must undo. */
		const token = crypto.randomBytes(32).toString('hex');
		const hash = crypto.createHash('sha256').update(token).digest('hex');
		for (const [file, text, mode] of [
			[gate, renderGate({ dir, bin, stateDir: cfg.stateDir, auditLog: log,
					    summary: cfg.auditSummary, dropIn }), '0755'],
			[`${dir}/token.sha256`, `${hash}\n`, '0600'],
			[`${dir}/started`, `${cfg.stateDir}\n`, '0600']]) {
			const r = privWrite(runner, file, text, mode);

			if (r.status !== 0)
				throw new StepError(`cannot write ${file}: ${lastLines(r)}`);
		}
		io.saveState('token', token);
		io.saveState('gate', gate);
		io.saveState('audit-log', log);
		io.saveState('audit-summary', String(cfg.auditSummary));
		prepareLog(runner, log);

		const extra = serviceDestinations(cfg, env);
		if (cfg.allowExistingConnections) {
			const peers = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap(
				(f) => establishedPeers(h.readFile(f) || ''));

			extra.cidrs.push(...peers);
			extra.notes.push(`existing connections: ${peers.join(', ') || 'none'}`);
		}
		dropDenied(extra, userDenyCidrs(cfg, env, h.readFile));
		io.group('cargowall: start');
		extra.notes.forEach((n) => io.info(n));
		const r = runner.priv(startArgv(cfg, bin, extra, log, env),
				      { timeoutMs: START_TIMEOUT_MS });
		io.info(`${r.stdout}${r.stderr}`.trim());
		io.endGroup();
		if (r.status !== 0)
			throw new StepError(`cargowall start failed (${r.status}): ${lastLines(r, 3)}`);
		live = parseStartOutput(r.stdout) || { pid: '' };
		io.setOutput('supported', 'true');
		io.setOutput('pid', String(live.pid));
		io.setOutput('audit-log', log);
		io.exportVariable('CARGOWALL_AUDIT_LOG', log);

		if (plan) {
			io.group(`cargowall: sudo lockdown of ${plan.user} (${plan.how})`);
			try {
				const checks = sudo.lockdown(runner, {
					...plan, dir, gate, dropIn, token, log: (m) => io.warning(m) });
				for (const c of checks) {
					io.info(`${c.ok ? 'ok  ' : 'WARN'} ${c.what}`);
					if (!c.ok)
						io.warning(`sudo-lockdown: ${c.what}: no (not installed?)`);
				}
			} finally {
				io.endGroup();
			}
		}
		io.notice(`cargowall: enforcement live (mode ${cfg.mode}, pid ${live.pid}` +
			  `${plan ? `, sudo locked for ${plan.user}` : ''}); audit log ${log}`);
		return 0;
	} catch (e) {
		if (!(e instanceof StepError || e instanceof sudo.LockdownError ||
		      e instanceof InputError))
			throw e;
		/* Once live, the firewall stays up (post stops it): supported stays true. */
		if (!live)
			io.setOutput('supported', 'false');
		io.error(e.message);
		return 1;
	}
}

if (require.main === module) {
	try {
		process.exitCode = run(process.env);
	} catch (e) {
		process.stdout.write(`::error::cargowall: ${String(e && e.stack || e).replace(/\n/g, '%0A')}\n`);
		process.exitCode = 1;
	}
}

module.exports = { run, actionDir, lockdownPlan, ACTION_DIR_DEFAULT };
