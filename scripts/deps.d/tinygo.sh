# shellcheck shell=bash
# TinyGo for guest-sdk/tinygo (the Go SDK compiled by TinyGo): Debian's
# LLVM 19, wasi-libc, compiler-rt for wasm32 and wasm-opt, then TinyGo
# itself built from the Go module proxy into ~/.cache/bubblewasm (skipped
# when it is there). Sourced by scripts/deps.sh.
for pkg in llvm-19-dev libclang-19-dev liblld-19-dev clang-19 libclang-rt-19-dev-wasm32 wasi-libc binaryen g++; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
after+=("bash guest-sdk/tinygo/install.sh")
