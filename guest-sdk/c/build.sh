#!/usr/bin/env bash
# Builds a C handler module with the bubblewasm C SDK:
#
#   guest-sdk/c/build.sh OUT.wasm SOURCE.c [MORE.c ...] [-- EXTRA CLANG FLAGS]
#
# Runnable from any directory; paths are taken relative to the caller's.
# It runs (see README.md), for each SOURCE.c, guest-sdk/c/bubble.c and
# guest-sdk/c/bubble_ext.c (the extensions; the linker drops what is unused):
#
#   clang --target=wasm32-wasi -O2 -Wall -Wextra -I guest-sdk/c -c -o X.o X.c
#
# then links them and, when wasm-opt (Debian: binaryen) is there, optimizes
# the module keeping its function names:
#
#   clang --target=wasm32-wasi -mexec-model=reactor \
#     -Wl,-z,stack-size=65536 -Wl,--strip-debug -o OUT.wasm *.o
#   wasm-opt -O2 --debuginfo OUT.wasm -o OUT.wasm
#
# Environment: CC (default clang), WASI_SYSROOT (a wasi-sdk or wasi-libc
# sysroot; default: the one clang finds, /usr/{include,lib}/wasm32-wasi on
# Debian), CFLAGS (added before the sources).
set -euo pipefail
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
me=guest-sdk/c/build.sh
if [ $# -lt 2 ]; then
	echo "usage: $me OUT.wasm SOURCE.c [MORE.c ...] [-- CLANG FLAGS]" >&2
	exit 2
fi
out=$1
shift
srcs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	srcs+=("$1")
	shift
done
[ $# -gt 0 ] && shift # the --

cc=${CC:-clang}
target=(--target=wasm32-wasi)
[ -n "${WASI_SYSROOT:-}" ] && target+=("--sysroot=$WASI_SYSROOT")

# Name what is missing instead of failing deep inside clang.
command -v "$cc" >/dev/null || { echo "$me: $cc not found (Debian: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32)" >&2; exit 1; }
command -v wasm-ld >/dev/null || [ -x "$(dirname "$(command -v "$cc")")/wasm-ld" ] ||
	{ echo "$me: wasm-ld not found (Debian: apt-get install lld)" >&2; exit 1; }
libc=$("$cc" "${target[@]}" -print-file-name=libc.a)
[ -f "$libc" ] || { echo "$me: wasi-libc not found for $cc --target=wasm32-wasi (Debian: apt-get install wasi-libc; or set WASI_SYSROOT)" >&2; exit 1; }
rt=$("$cc" "${target[@]}" -print-libgcc-file-name)
[ -f "$rt" ] || { echo "$me: $rt not found (Debian: apt-get install libclang-rt-dev-wasm32)" >&2; exit 1; }

# Compiled with -O2, linked without: given -O, clang 14 runs wasm-opt on
# the output, which drops the "name" section. Traps name their functions
# only with it (about 5% of a small module), so this script runs wasm-opt
# itself, with --debuginfo, which keeps it.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
objs=()
for src in "${srcs[@]}" "$sdk/bubble.c" "$sdk/bubble_ext.c"; do
	obj="$tmp/${#objs[@]}.o"
	# shellcheck disable=SC2086
	"$cc" "${target[@]}" -O2 -Wall -Wextra -Qunused-arguments -I "$sdk" ${CFLAGS:-} "$@" -c -o "$obj" "$src"
	objs+=("$obj")
done
# A 64 KiB stack instead of the default 1 MiB: every fresh instance zeroes
# less memory (0.4-0.9 ms less per instance on wazero). --strip-debug drops
# wasi-libc's DWARF (about 95 KiB; the host drops debug sections anyway
# when it adds its stack guard) and keeps the function names.
# shellcheck disable=SC2086
"$cc" "${target[@]}" -mexec-model=reactor -Qunused-arguments \
	-Wl,-z,stack-size=65536 -Wl,--strip-debug ${CFLAGS:-} "$@" -o "$out" "${objs[@]}"
if command -v wasm-opt >/dev/null; then
	wasm-opt -O2 --debuginfo "$out" -o "$out"
fi
