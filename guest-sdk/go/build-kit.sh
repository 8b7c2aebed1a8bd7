#!/usr/bin/env bash
# Builds the Go SDK's conformance kit module (guest-sdk/go/kit) to OUT.wasm:
#
#   guest-sdk/go/build-kit.sh OUT.wasm
#
# Runnable from any directory; OUT.wasm is taken relative to the caller's.
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 OUT.wasm" >&2
	exit 2
fi
command -v go >/dev/null || { echo "build-kit.sh: go not found on PATH (https://go.dev/doc/install)" >&2; exit 1; }
out=$1
case $out in /*) ;; *) out="$PWD/$out" ;; esac
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o "$out" ./guest-sdk/go/kit
