#!/usr/bin/env bash
# install.sh: installs the AssemblyScript compiler pinned in package-lock.json
# into node_modules/ here (npm ci), unless that exact lock is installed
# already. Safe to run concurrently: one install at a time.
set -euo pipefail
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stamp="$sdk/node_modules/.bubblewasm-installed-lock"
current() { [ -x "$sdk/node_modules/.bin/asc" ] && cmp -s "$sdk/package-lock.json" "$stamp"; }
current && exit 0
command -v node >/dev/null || { echo "assemblyscript install: node (Node.js 20 or later) is not on PATH; run scripts/deps.sh" >&2; exit 1; }
command -v npm >/dev/null || { echo "assemblyscript install: npm is not on PATH; run scripts/deps.sh" >&2; exit 1; }
exec 9>"$sdk/.install.lock"
flock 9
current && exit 0
echo "assemblyscript install: npm ci in $sdk" >&2
npm ci --prefix "$sdk" --no-audit --no-fund --loglevel=error >&2
cp "$sdk/package-lock.json" "$stamp"
