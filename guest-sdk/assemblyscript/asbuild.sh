#!/usr/bin/env bash
# asbuild.sh ENTRY.ts OUT.wasm [asc options...]
#
# Compiles an AssemblyScript bubblewasm handler with the SDK's flags, using
# the compiler pinned in package-lock.json (install.sh puts it into
# node_modules/ here with `npm ci` when it is missing or stale). Extra
# options go last, so they override the defaults (`--runtime incremental`,
# ...). --debug only adds the "name" section (about 1.7 KiB on the kit), so
# that a trap's stack trace names the functions. ENTRY.ts and OUT.wasm are relative to the caller's
# directory.
set -euo pipefail
if [ $# -lt 2 ]; then
	echo "usage: $0 ENTRY.ts OUT.wasm [asc options...]" >&2
	exit 2
fi
entry=$1 out=$2
shift 2
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
asc="$sdk/node_modules/.bin/asc"

bash "$sdk/install.sh"

mkdir -p "$(dirname "$out")"
# --runtime minimal: TLSF allocator + a collector that never runs by itself;
#   bubble_handle runs it after each exchange (see README, "Runtime").
# --exportStart _initialize: top-level code (handle(...)) runs when the host
#   calls _initialize, not from the start section during instantiation.
# --use abort=...: the host has no `env` module; the SDK's replacements log
#   through bubblewasm_v1 and trap.
exec "$asc" "$entry" -o "$out" \
	--optimize --debug --runtime minimal --exportStart _initialize \
	--use abort=bubble_abort --use trace=bubble_trace --use seed=bubble_seed \
	"$@"
