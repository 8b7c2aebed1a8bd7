#!/usr/bin/env bash
# Installs what `make build` and `make test` need, only when it is missing:
# Debian packages through apt-get, Go modules through the module proxy, npm
# packages through npm.
#
# Each guest language adds its toolchain in scripts/deps.d/LANG.sh: a
# fragment appends missing Debian packages to `need`, and commands to run
# once they are installed (npm installs, say) to `after`.
#
# `deps.sh base` installs only what `make run` needs (Go modules): the
# example it serves is built from Go alone.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-all}" = base ]; then
	command -v go >/dev/null || { echo "deps: Go is required (https://go.dev/doc/install); not found on PATH" >&2; exit 1; }
	exec go mod download
fi

need=()
after=()
command -v wat2wasm >/dev/null || need+=(wabt)
command -v curl >/dev/null || need+=(curl)
command -v git >/dev/null || need+=(git)
# systemd-socket-activate and systemd-analyze: the socket activation tests.
command -v systemd-socket-activate >/dev/null || need+=(systemd)

for f in scripts/deps.d/*.sh; do
	[ -e "$f" ] || continue
	# shellcheck source=/dev/null
	source "$f"
done

if ((${#need[@]})); then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "deps: installing ${need[*]} with apt-get"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
for cmd in "${after[@]}"; do
	eval "$cmd"
done

command -v go >/dev/null || { echo "deps: Go is required (https://go.dev/doc/install); not found on PATH" >&2; exit 1; }
go mod download
