#!/usr/bin/env bash
# build.sh PACKAGE OUT.wasm [tinygo build flags...]: compiles a Go
# bubblewasm handler (the Go SDK, guest-sdk/go) with TinyGo into a WASI
# reactor, using wasip1-bubble.json (Debian's wasi-libc and compiler-rt, the
# "none" scheduler). PACKAGE is a Go package path or a ./dir relative to the
# repository root; OUT.wasm is relative to the caller's directory.
set -euo pipefail
if [ $# -lt 2 ]; then
	echo "usage: $0 PACKAGE OUT.wasm [tinygo build flags...]" >&2
	exit 2
fi
pkg=$1 out=$2
shift 2
case $out in /*) ;; *) out="$PWD/$out" ;; esac
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=0.41.0
home=${BUBBLEWASM_TINYGO:-$HOME/.cache/bubblewasm/tinygo-$version}

missing() { echo "tinygo build: $1; run scripts/deps.sh (see guest-sdk/tinygo/README.md)" >&2; exit 1; }
[ -x "$home/bin/tinygo" ] || missing "TinyGo $version is not installed in $home"
command -v go >/dev/null || missing "go is not on PATH (TinyGo uses its standard library)"
wasmopt=$(command -v wasm-opt) || missing "wasm-opt is not on PATH (Debian package binaryen)"
[ -f /usr/lib/wasm32-wasi/libc.a ] || missing "/usr/lib/wasm32-wasi/libc.a is missing (Debian package wasi-libc)"
[ -f /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a ] ||
	missing "libclang_rt.builtins-wasm32.a for LLVM 19 is missing (Debian package libclang-rt-19-dev-wasm32)"

cd "$dir/../.."
mkdir -p "$(dirname "$out")"
TINYGOROOT="$home/root" WASMOPT="$wasmopt" exec "$home/bin/tinygo" build \
	-target="$dir/wasip1-bubble.json" -buildmode=c-shared -no-debug \
	-o "$out" "$@" "$pkg"
