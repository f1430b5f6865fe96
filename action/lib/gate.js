// SPDX-License-Identifier: Apache-2.0
'use strict';
/*
 * The gate: a small root-owned shell script that main writes into the action's root-only
 * directory, and the only privileged thing the post step runs. With sudo-lockdown on, the
 * runner user can no longer run anything as root except the commands the workflow allowed and
 * this file, and the file acts only for whoever holds the job's token. The token reaches the
 * post step through the runner's saved state (GITHUB_STATE, handed to post as STATE_token);
 * the workflow's own steps never see it, so they can neither stop the firewall nor lift the
 * lockdown early. Root keeps only the token's SHA-256.
 *
 * Shell, not JavaScript: sudo runs it with /bin/sh, root's; a node binary in the runner's tool
 * cache belongs to the runner user, so allowing it in sudoers would hand out root.
 */

/* Single-quote for sh. */
function shq(s) {
	return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/* Undo the lockdown (sudo.js): put back what was at the drop-in's path, or remove it. Also
 * used by main to clean up after a job whose post step never ran. Idempotent. */
function restoreSudoSh(dir, dropIn) {
	return [
		`restore_sudo() {`,
		`	[ -d ${shq(dir + '/sudo')} ] || return 0`,
		`	if [ -f ${shq(dir + '/sudo/backup')} ]; then`,
		`		cp -p ${shq(dir + '/sudo/backup')} ${shq(dropIn + '.cwtmp')} &&`,
		`			mv -f ${shq(dropIn + '.cwtmp')} ${shq(dropIn)} || return 1`,
		`	else`,
		`		rm -f ${shq(dropIn)} || return 1`,
		`	fi`,
		`	rm -rf ${shq(dir + '/sudo')}`,
		`}`,
	].join('\n');
}

/*
 * g: {dir, bin, stateDir, auditLog, summary, dropIn}. Operations: `post` (stop the firewall,
 * lift the lockdown, print the Markdown summary on stdout, forget the token) and `restore-sudo`.
 */
function renderGate(g) {
	return `#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Written by the cargowall-c action (action/lib/gate.js) for one job; root's, mode 0755.
# Runs as root; acts only for the holder of the job's token (on stdin). See gate.js.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 077
DIR=${shq(g.dir)}
BIN=${shq(g.bin)}
STATE_DIR=${shq(g.stateDir)}
AUDIT_LOG=${shq(g.auditLog)}
SUMMARY=${g.summary ? 1 : 0}
DROPIN=${shq(g.dropIn)}

fail() {
	echo "cargowall-gate: $*" >&2
	exit 2
}
[ "$(id -u)" = 0 ] || fail "must run as root"
[ $# -eq 1 ] || fail "usage: gate post|restore-sudo (token on stdin)"
case "$1" in
post | restore-sudo) ;;
*) fail "unknown operation" ;;
esac
[ -f "$DIR/token.sha256" ] || fail "no token on record: nothing to do"
token=$(head -c 128)
want=$(cat "$DIR/token.sha256")
got=$(printf '%s' "$token" | sha256sum | cut -d ' ' -f 1)
if [ -z "$token" ] || [ "$got" != "$want" ]; then
	fail "wrong token"
fi

${restoreSudoSh(g.dir, g.dropIn)}

rc=0
case "$1" in
restore-sudo)
	restore_sudo || { echo "cargowall-gate: cannot restore $DROPIN" >&2; rc=1; }
	;;
post)
	# Stop first (the firewall covers the job to its last step), then give sudo back.
	# A failed stop keeps the "started" mark: the next job's main stops it again.
	if "$BIN" stop --state-dir "$STATE_DIR" >&2; then
		rm -f "$DIR/started"
	else
		echo "cargowall-gate: cargowall stop failed" >&2
		rc=1
	fi
	restore_sudo || { echo "cargowall-gate: cannot restore $DROPIN" >&2; rc=1; }
	if [ "$SUMMARY" = 1 ]; then
		if [ -f "$AUDIT_LOG" ]; then
			"$BIN" summary --audit-log "$AUDIT_LOG" --format markdown || rc=1
		else
			echo "cargowall-gate: no audit log at $AUDIT_LOG" >&2
		fi
	fi
	rm -f "$DIR/token.sha256"
	;;
esac
exit $rc
`;
}

module.exports = { shq, restoreSudoSh, renderGate };
