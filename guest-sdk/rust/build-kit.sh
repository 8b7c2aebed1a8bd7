#!/usr/bin/env bash
# Builds the Rust SDK's conformance kit module (guest-sdk/rust/kit) to
# OUT.wasm, or runs the SDK's native tests:
#
#   guest-sdk/rust/build-kit.sh OUT.wasm
#   guest-sdk/rust/build-kit.sh --test      (same as guest-sdk/rust/test.sh)
#
# Runnable from any directory; OUT.wasm is taken relative to the caller's.
# Exits non-zero naming the missing tool (rustc, its wasm32-wasi standard
# library, lld) when one is missing.
set -euo pipefail
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -ne 1 ]; then
	echo "usage: $0 OUT.wasm | --test" >&2
	exit 2
fi
if [ "$1" = --test ]; then
	exec "$sdk/test.sh"
fi
exec "$sdk/build.sh" "$1" "$sdk/kit/kit.rs"
