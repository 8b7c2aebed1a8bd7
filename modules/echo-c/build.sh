#!/usr/bin/env bash
# Builds modules/echo-c to OUT.wasm with the C SDK (clang, wasi-libc):
#
#   modules/echo-c/build.sh OUT.wasm
#
# which runs guest-sdk/c/build.sh OUT.wasm modules/echo-c/echo.c, that is
#   clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -I guest-sdk/c \
#     -Wl,-z,stack-size=65536 -Wl,--strip-all -o OUT.wasm modules/echo-c/echo.c guest-sdk/c/bubble.c
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 OUT.wasm" >&2
	exit 2
fi
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$dir/../../guest-sdk/c/build.sh" "$1" "$dir/echo.c"
