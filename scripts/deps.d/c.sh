# shellcheck shell=bash
# C guest SDK (guest-sdk/c): clang for wasm32-wasi, wasm-ld (lld), wasi-libc
# and the wasm32 compiler-rt builtins; cc for the SDK's native tests.
# Sourced by scripts/deps.sh: appends missing Debian packages to `need`.
if command -v clang >/dev/null; then
	[ -e "$(clang --target=wasm32-wasi -print-libgcc-file-name 2>/dev/null)" ] || need+=(libclang-rt-dev-wasm32)
else
	need+=(clang libclang-rt-dev-wasm32)
fi
command -v wasm-ld >/dev/null || need+=(lld)
[ -n "${WASI_SYSROOT:-}" ] || [ -e /usr/lib/wasm32-wasi/libc.a ] || need+=(wasi-libc)
command -v cc >/dev/null || need+=(gcc)
