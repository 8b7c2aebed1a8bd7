# shellcheck shell=bash
# Rust guest SDK (guest-sdk/rust): Debian's rustc (1.63 on bookworm) and its
# wasm32-wasi standard library, linked by rust-lld (a link to lld-14). The
# SDK builds with rustc alone, no cargo. Skipped when RUSTC names another
# compiler (a rustup toolchain with the wasm32-wasi target).
# Sourced by scripts/deps.sh: appends missing Debian packages to `need`.
if [ -z "${RUSTC:-}" ]; then
	[ -x /usr/bin/rustc ] || need+=(rustc)
	compgen -G '/usr/lib/rustlib/wasm32-wasi/lib/libstd-*.rlib' >/dev/null || need+=(libstd-rust-dev-wasm32)
	[ -e /usr/bin/rust-lld ] || need+=(lld)
fi
