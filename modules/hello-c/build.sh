#!/usr/bin/env bash
# Builds modules/hello-c to OUT.wasm with the C SDK (clang, wasi-libc):
#
#   modules/hello-c/build.sh OUT.wasm
#
# which runs guest-sdk/c/build.sh OUT.wasm modules/hello-c/hello.c (see there:
# clang -O2, linked with -Wl,--strip-debug, wasm-opt --debuginfo: the
# function names stay for trap stack traces).
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 OUT.wasm" >&2
	exit 2
fi
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$dir/../../guest-sdk/c/build.sh" "$1" "$dir/hello.c"
