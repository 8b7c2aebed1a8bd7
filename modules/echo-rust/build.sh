#!/usr/bin/env bash
# Builds modules/echo-rust to OUT.wasm with the Rust SDK (Debian's rustc and
# its wasm32-wasi standard library, no cargo):
#
#   modules/echo-rust/build.sh OUT.wasm
#
# which runs guest-sdk/rust/build.sh OUT.wasm modules/echo-rust/echo.rs (the
# exact rustc commands are in that script and in guest-sdk/rust/README.md).
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 OUT.wasm" >&2
	exit 2
fi
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$dir/../../guest-sdk/rust/build.sh" "$1" "$dir/echo.rs"
