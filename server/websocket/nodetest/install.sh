#!/usr/bin/env bash
# install.sh: installs the ws package pinned in package-lock.json into
# node_modules/ here (npm ci), unless that exact lock is installed already.
# Safe to run concurrently: one install at a time.
set -euo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stamp="$dir/node_modules/.bubblewasm-installed-lock"
current() { [ -f "$dir/node_modules/ws/package.json" ] && cmp -s "$dir/package-lock.json" "$stamp"; }
current && exit 0
command -v node >/dev/null || { echo "websocket nodetest install: node (Node.js 20 or later) is not on PATH; run scripts/deps.sh" >&2; exit 1; }
command -v npm >/dev/null || { echo "websocket nodetest install: npm is not on PATH; run scripts/deps.sh" >&2; exit 1; }
exec 9>"$dir/.install.lock"
flock 9
current && exit 0
echo "websocket nodetest install: npm ci in $dir" >&2
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
cp "$dir/package-lock.json" "$stamp"
