#!/usr/bin/env bash
# Runs the Rust SDK's native tests against its in-memory fake host (no wasm,
# no cargo): the SDK's unit tests, its doc examples (rustdoc --test, when
# rustdoc is next to rustc), then the kit's tests.
#
#   rustc --edition 2021 --test --crate-name bubble -o TMP/sdk_test guest-sdk/rust/src/lib.rs && TMP/sdk_test
#   rustc --edition 2021 --crate-type rlib --crate-name bubble -o TMP/libbubble.rlib guest-sdk/rust/src/lib.rs
#   rustc --edition 2021 --test --extern bubble=TMP/libbubble.rlib -o TMP/kit_test guest-sdk/rust/kit/kit.rs && TMP/kit_test
#
# RUSTC picks the compiler (default /usr/bin/rustc when it exists, else
# rustc); any host toolchain will do.
set -euo pipefail
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
default_rustc=rustc
[ -x /usr/bin/rustc ] && default_rustc=/usr/bin/rustc
rustc=${RUSTC:-$default_rustc}
command -v "$rustc" >/dev/null || { echo "test.sh: $rustc not found (Debian: apt-get install rustc)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$rustc" --edition 2021 --test --crate-name bubble -o "$tmp/sdk_test" "$sdk/src/lib.rs"
"$tmp/sdk_test" -q
"$rustc" --edition 2021 --crate-type rlib --crate-name bubble -o "$tmp/libbubble.rlib" "$sdk/src/lib.rs"
rustdoc=$(dirname "$(command -v "$rustc")")/rustdoc
if [ -x "$rustdoc" ]; then
	"$rustdoc" --edition 2021 --test --crate-name bubble --extern bubble="$tmp/libbubble.rlib" "$sdk/src/lib.rs" >"$tmp/doctest.log" 2>&1 ||
		{ cat "$tmp/doctest.log" >&2; exit 1; }
fi
"$rustc" --edition 2021 --test --extern bubble="$tmp/libbubble.rlib" -o "$tmp/kit_test" "$sdk/kit/kit.rs"
"$tmp/kit_test" -q
