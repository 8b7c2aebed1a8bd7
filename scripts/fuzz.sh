#!/usr/bin/env bash
# Runs every fuzz target listed in scripts/fuzz-targets.txt for FUZZTIME
# each (default 30s), one after the other; stops at the first failure. The
# failing input is saved under the package's testdata/fuzz/ by go test:
# commit it, and it becomes a regression case of the normal test run.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
while read -r pkg target; do
	case "$pkg" in '' | '#'*) continue ;; esac
	echo "== $pkg $target ($FUZZTIME)"
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s "$pkg"
done < scripts/fuzz-targets.txt
