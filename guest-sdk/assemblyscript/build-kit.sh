#!/usr/bin/env bash
# build-kit.sh OUT.wasm: builds the conformance kit (kit/kit.ts) with the
# AssemblyScript SDK. Extra arguments are passed to asc.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUT.wasm [asc options...]" >&2; exit 2; }
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$1
shift
exec bash "$dir/asbuild.sh" "$dir/kit/kit.ts" "$out" "$@"
