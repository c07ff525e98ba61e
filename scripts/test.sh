#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what the tests need (the Debian packages
# of the real peers, when missing, and the npm packages), builds, lints, type-checks, tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. Debian peers (ipmitool, fence-agents, snmp, cluster-glue, pacemaker, socat, ...)
mapfile -t wanted < <(grep -vE '^\s*(#|$)' scripts/apt-packages.txt)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts a system etcd on install (port 2379): the replica tests run their own etcd
  # processes on their own ports, so the system one is only in the way — stop and disable it
  if printf '%s\n' "${missing[@]}" | grep -qx etcd-server; then
    $sudo systemctl disable --now etcd >/dev/null 2>&1 || $sudo service etcd stop >/dev/null 2>&1 || true
  fi
fi

# 2. npm packages, as locked. Not `npm ci`: npm 11 writes locks without the other platforms'
#    optional binaries of @biomejs/biome and then `npm ci` calls its own lock out of sync;
#    `npm install` installs the locked versions and leaves the lock as it is.
if [ -n "${CI:-}" ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi

# 3. build (the bins run from dist/); lint and format check and type-check (tests included)
#    are reported but do not stop the tests from running
npm run build
checks=0
npx biome check --error-on-warnings . || { checks=1; echo "lint/format: FAILED (see above)"; }
npx tsc -p tsconfig.json --noEmit || { checks=1; echo "type-check: FAILED (see above)"; }

# 4. tests; the last line is the plain count CI reads
report=$(mktemp)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
[ $checks = 0 ] || echo "lint or type-check failed: see above"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
  const skipped = r.numPendingTests + r.numTodoTests
  console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""))
' "$report" || echo "Tests: 0 passed, 1 failed"
rm -f "$report"
[ $status = 0 ] || exit $status
exit $checks
