#!/usr/bin/env bash
# Builds a Rust handler module with the bubblewasm Rust SDK, without cargo:
#
#   guest-sdk/rust/build.sh OUT.wasm SOURCE.rs [-- EXTRA RUSTC FLAGS]
#
# SOURCE.rs is the crate root of the handler (it calls bubble::handler!).
# Runnable from any directory; paths are taken relative to the caller's.
# It runs exactly (see README.md), with SYSROOT=$(rustc --print sysroot):
#
#   rustc --edition 2021 --crate-type rlib --crate-name bubble \
#     --target wasm32-wasi -O -o TMP/libbubble.rlib guest-sdk/rust/src/lib.rs
#   rustc --edition 2021 --crate-type cdylib --target wasm32-wasi \
#     -O -C lto -C codegen-units=1 -C strip=debuginfo \
#     --extern bubble=TMP/libbubble.rlib \
#     -C link-arg=-zstack-size=65536 \
#     -C link-arg=$SYSROOT/lib/rustlib/wasm32-wasi/lib/self-contained/crt1-reactor.o \
#     -o OUT.wasm SOURCE.rs
#
# Environment: RUSTC (default /usr/bin/rustc when it exists, else rustc:
# a rustup rustc without the wasm32-wasi target does not do).
set -euo pipefail
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
me=guest-sdk/rust/build.sh
if [ $# -lt 2 ]; then
	echo "usage: $me OUT.wasm SOURCE.rs [-- RUSTC FLAGS]" >&2
	exit 2
fi
out=$1
src=$2
shift 2
[ $# -gt 0 ] && [ "$1" = "--" ] && shift

default_rustc=rustc
[ -x /usr/bin/rustc ] && default_rustc=/usr/bin/rustc
rustc=${RUSTC:-$default_rustc}

# Name what is missing instead of failing deep inside rustc.
command -v "$rustc" >/dev/null || { echo "$me: $rustc not found (Debian: apt-get install rustc libstd-rust-dev-wasm32 lld)" >&2; exit 1; }
# wasm32-wasi (Debian's 1.63) or its later name wasm32-wasip1 (Rust 1.78+).
target=
for t in wasm32-wasi wasm32-wasip1; do
	libdir=$("$rustc" --print target-libdir --target "$t" 2>/dev/null || true)
	if [ -n "$libdir" ] && compgen -G "$libdir/libstd-*.rlib" >/dev/null; then
		target=$t
		break
	fi
done
[ -n "$target" ] ||
	{ echo "$me: $rustc has no wasm32-wasi standard library (Debian: apt-get install libstd-rust-dev-wasm32; rustup: rustup target add wasm32-wasip1)" >&2; exit 1; }
crt=$libdir/self-contained/crt1-reactor.o
[ -f "$crt" ] || crt=/usr/lib/wasm32-wasi/crt1-reactor.o
[ -f "$crt" ] || { echo "$me: crt1-reactor.o not found in $libdir/self-contained (Debian: apt-get install libstd-rust-dev-wasm32)" >&2; exit 1; }
lld=$(dirname "$(command -v "$rustc")")/rust-lld
if [ -L "$lld" ] && [ ! -e "$lld" ]; then # Debian: rust-lld -> lld-14, from package lld
	echo "$me: $lld points to a missing linker (Debian: apt-get install lld)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$rustc" --edition 2021 --crate-type rlib --crate-name bubble --target "$target" -O \
	-o "$tmp/libbubble.rlib" "$sdk/src/lib.rs"
# -C lto: one optimized unit with std, about 15% smaller. A 64 KiB stack
# instead of the default 1 MiB: fewer pages for every fresh instance
# (0.4-0.9 ms less on wazero). crt1-reactor.o makes the module a WASI
# reactor: it exports _initialize, which the host calls once per instance;
# without it wasm-ld would wrap every export to run the C constructors on
# each call (re-reading the environment every exchange).
"$rustc" --edition 2021 --crate-type cdylib --target "$target" \
	-O -C lto -C codegen-units=1 -C strip=debuginfo \
	--extern bubble="$tmp/libbubble.rlib" \
	-C link-arg=-zstack-size=65536 -C link-arg="$crt" \
	"$@" -o "$out" "$src"
