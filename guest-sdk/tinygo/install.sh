#!/usr/bin/env bash
# install.sh [PREFIX]: builds TinyGo from the Go module proxy against
# Debian's LLVM 19 and installs it into PREFIX (default
# $BUBBLEWASM_TINYGO, else ~/.cache/bubblewasm/tinygo-VERSION):
#
#   PREFIX/bin/tinygo   the compiler
#   PREFIX/root         its TINYGOROOT (the module's source tree)
#
# It does nothing when PREFIX/bin/tinygo is there already. The Debian
# packages come first (scripts/deps.d/tinygo.sh lists them):
#   llvm-19-dev libclang-19-dev liblld-19-dev clang-19
#   libclang-rt-19-dev-wasm32 wasi-libc binaryen g++
# Cold, on 2 cores, the build takes about a minute.
set -euo pipefail
version=0.41.0
prefix=${1:-${BUBBLEWASM_TINYGO:-$HOME/.cache/bubblewasm/tinygo-$version}}
if [ -x "$prefix/bin/tinygo" ] && [ -d "$prefix/root/src/runtime" ]; then
	exit 0
fi
command -v go >/dev/null || { echo "tinygo install: go is required and not on PATH" >&2; exit 1; }
[ -x /usr/lib/llvm-19/bin/llvm-config ] || {
	echo "tinygo install: LLVM 19 is missing; apt-get install llvm-19-dev libclang-19-dev liblld-19-dev clang-19 (or run scripts/deps.sh)" >&2
	exit 1
}

echo "tinygo install: building TinyGo $version into $prefix" >&2
mkdir -p "$(dirname "$prefix")"
tmp=$(mktemp -d "$(dirname "$prefix")/.tinygo-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Outside any module, so the repository's go.mod is left alone.
dir=$(cd "$tmp" && GOFLAGS=-mod=mod GOWORK=off go mod download -json "github.com/tinygo-org/tinygo@v$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir/src/runtime" ] || { echo "tinygo install: go mod download gave no source tree (dir '$dir')" >&2; exit 1; }
cp -r "$dir" "$tmp/root"
chmod -R u+w "$tmp/root"
# TinyGo's git submodules are not in the module zip: lib/ (wasi-libc,
# compiler-rt, ...) is replaced by Debian's libraries in wasip1-bubble.json,
# and src/net (TinyGo's fork of package net) is left empty, so a program
# that imports net does not build. TinyGo only needs the directory to exist.
mkdir -p "$tmp/root/src/net"
(
	cd "$tmp/root"
	env -u GOOS -u GOARCH GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=1 \
		go build -tags llvm19 -trimpath -o "$tmp/bin/tinygo" .
)
"$tmp/bin/tinygo" version >&2
trap - EXIT
rm -rf "$prefix"
mv "$tmp" "$prefix"
