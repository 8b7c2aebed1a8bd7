#!/usr/bin/env bash
# build-kit.sh OUT.wasm: builds the Go SDK's conformance kit (guest-sdk/go/kit)
# with TinyGo instead of the Go toolchain. OUT.wasm is relative to the
# caller's directory.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT.wasm" >&2; exit 2; }
exec bash "$(dirname "${BASH_SOURCE[0]}")/build.sh" ./guest-sdk/go/kit "$1"
