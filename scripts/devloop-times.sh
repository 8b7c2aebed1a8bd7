#!/usr/bin/env bash
# devloop-times.sh [LANG ...]: how long the edit -> new response loop takes
# for each language (default: go c rust tinygo assemblyscript).
#
# For each language it scaffolds a project (`bubblewasm new`), builds it
# once (`bubblewasm build`, not counted: first builds fetch and warm
# caches), serves it (`bubblewasm run` in the project directory, reading
# its bubble.toml, on a free port read from the route URL it logs) and
# then times, three times over:
#
#   build    edit the handler's greeting, `bubblewasm build`
#   restart  stop the server (SIGTERM), start it again, until the first
#            response that carries the new greeting
#
# Needs bin/bubblewasm (make cli) and each language's toolchain (make
# deps). Prints a Markdown table; ROUNDS (default 3) sets the repeats and
# the table shows their median. Only 127.0.0.1 is used.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bw=$root/bin/bubblewasm
[ -x "$bw" ] || { echo "devloop-times: $bw missing (make cli)" >&2; exit 1; }
langs=("$@")
[ ${#langs[@]} -gt 0 ] || langs=(go c rust tinygo assemblyscript)
rounds=${ROUNDS:-3}
work=$(mktemp -d)
server=
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi
	rm -rf "$work"
}
trap cleanup EXIT

now() { echo "${EPOCHREALTIME/./}"; } # microseconds
ms() { echo $((($2 - $1) / 1000)); }

# start serves the project in $1 and sets url to its route's URL, read from
# the log line `run` prints once bound.
start() {
	: >"$1/server.log"
	(cd "$1" && exec "$bw" run --listen tcp://127.0.0.1:0) 2>"$1/server.log" &
	server=$!
	url=
	for _ in $(seq 1 6000); do # at most about 60 s
		url=$(sed -n 's/.* msg=route .*url=\(http[^ ]*\)\/\*.*/\1\//p' "$1/server.log" | head -1)
		[ -n "$url" ] && return
		kill -0 "$server" 2>/dev/null || break
		sleep 0.01
	done
	echo "devloop-times: the server in $1 did not log a route URL:" >&2
	cat "$1/server.log" >&2
	exit 1
}

stop() {
	kill -TERM "$server"
	wait "$server" || true
	server=
}

# respond waits until the response carries $1.
respond() {
	for _ in $(seq 1 3000); do
		curl -fsS "$url" 2>/dev/null | grep -q "$1" && return
		sleep 0.01
	done
	echo "devloop-times: no response with \"$1\" from $url" >&2
	exit 1
}

median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

echo "| language | build | restart to first response | edit to new response |"
echo "|---|---:|---:|---:|"
for lang in "${langs[@]}"; do
	dir=$work/dl_$lang
	(cd "$work" && "$bw" new --sdk "$root" "$lang" "dl_$lang" >/dev/null)
	(cd "$dir" && "$bw" build >/dev/null)
	for src in "$dir"/main.go "$dir"/handler.*; do [ -f "$src" ] && break; done
	start "$dir"
	respond "Hello from"
	builds=() restarts=() totals=()
	for i in $(seq 1 "$rounds"); do
		t0=$(now)
		sed -i "s/Hello from\|Edit [0-9]* from/Edit $i from/" "$src"
		(cd "$dir" && "$bw" build >/dev/null)
		t1=$(now)
		stop
		start "$dir"
		respond "Edit $i from"
		t2=$(now)
		builds+=("$(ms "$t0" "$t1")") restarts+=("$(ms "$t1" "$t2")") totals+=("$(ms "$t0" "$t2")")
	done
	stop
	echo "| $lang | $(median "${builds[@]}") ms | $(median "${restarts[@]}") ms | $(median "${totals[@]}") ms |"
done
