#!/usr/bin/env bash
# build.sh OUT.wasm: builds modules/hello-as with the AssemblyScript SDK.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUT.wasm" >&2; exit 2; }
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec bash "$dir/../../guest-sdk/assemblyscript/asbuild.sh" "$dir/hello.ts" "$1"
