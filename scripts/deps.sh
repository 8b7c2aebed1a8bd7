#!/usr/bin/env bash
# Installs what `make build` and `make test` need, only when it is missing:
# Debian packages through apt-get, Go modules through the module proxy.
set -euo pipefail

need=()
command -v wat2wasm >/dev/null || need+=(wabt)
command -v curl >/dev/null || need+=(curl)
command -v git >/dev/null || need+=(git)

if ((${#need[@]})); then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "deps: installing ${need[*]} with apt-get"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Each guest language adds its toolchain in scripts/deps.d/LANG.sh.
for f in "$(dirname "$0")"/deps.d/*.sh; do
	[ -e "$f" ] || continue
	# shellcheck source=/dev/null
	source "$f"
done

command -v go >/dev/null || { echo "deps: Go is required (https://go.dev/doc/install); not found on PATH" >&2; exit 1; }
go mod download
