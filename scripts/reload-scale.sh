#!/usr/bin/env bash
# reload-scale.sh [ROUTES]: a server of ROUTES routes (default 10000),
# /rN/* each served by bin/modules/hello-wat.wasm, run pinned to CPU 0
# (taskset, GOMAXPROCS=1) while wrk runs pinned to CPU 1. It reports the
# start time, the idle resident set (and per route, against a server of
# one route), req/s and the server's CPU time per request of the first,
# the middle and the last route, and the time of a reload (SIGHUP) that
# changes one route's timeout.
#
# The routes are measured in ROUNDS (default 3) alternating rounds, the
# order reversed every other round, and each route's median is reported:
# on a shared machine one run of each, always in the same order, compares
# the load of the moment more than the routes. CPU µs per request (the
# server's utime+stime over the requests wrk made) moves less with other
# load than req/s does.
#
# Needs bin/bubblewasm and bin/modules/hello-wat.wasm (make cli
# bin/modules/hello-wat.wasm), wrk, curl, taskset and sort. PORT (default 18480)
# is bound on 127.0.0.1; DURATION (default 10s) is each wrk run's;
# BUBBLEWASM names another binary (a build of another commit, to compare).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bw=${BUBBLEWASM:-$root/bin/bubblewasm}
routes=${1:-10000}
port=${PORT:-18480}
duration=${DURATION:-10s}
rounds=${ROUNDS:-3}
work=$(mktemp -d)
server=
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# config writes bubble.toml with $1 routes, route r$2's timeout $3 seconds.
config() {
	{
		printf 'cache_dir = "%s/cache"\nlog_level = "info"\n[[listener]]\naddress = "tcp://127.0.0.1:%s"\n' "$work" "$port"
		for ((i = 0; i < $1; i++)); do
			t=30
			[ "$i" = "$2" ] && t=$3
			printf '[[route]]\nname = "r%d"\nmodule = "%s"\nmatch = { PATH_INFO = "/r%d/*" }\ntimeout = "%ds"\n' \
				"$i" "$root/bin/modules/hello-wat.wasm" "$i" "$t"
		done
	} >"$work/bubble.toml.tmp"
	mv "$work/bubble.toml.tmp" "$work/bubble.toml"
}

# start serves bubble.toml pinned to CPU 0 and waits until /r0/ answers.
start() {
	local began=${EPOCHREALTIME/./}
	GOMAXPROCS=1 taskset -c 0 "$bw" run -c "$work/bubble.toml" 2>"$work/server.log" &
	server=$!
	until curl -fsS -o /dev/null "http://127.0.0.1:$port/r0/" 2>/dev/null; do
		kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
		sleep 0.05
	done
	echo "start: $(((${EPOCHREALTIME/./} - began) / 1000)) ms"
}

stop() { kill -TERM "$server"; wait "$server" || true; server=; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; } # kB

config 1 -1 0
start >/dev/null
one=$(rss)
stop
config "$routes" -1 0
start
many=$(rss)
echo "rss: $((many / 1024)) MB for $routes routes, $(((many - one) / (routes - 1))) kB per route (1 route: $((one / 1024)) MB)"
cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; } # clock ticks
tick=$(getconf CLK_TCK)
# measure ROUTE appends "req/s cpu-µs-per-request" to $work/ROUTE.
measure() {
	local c0 out c1
	c0=$(cpu)
	out=$(taskset -c 1 wrk -t1 -c32 -d"$duration" "http://127.0.0.1:$port/r$1/")
	c1=$(cpu)
	echo "$out" | awk -v c=$((c1 - c0)) -v tick="$tick" '
		/requests in/ {n = $1} /Requests\/sec/ {rps = $2}
		END {printf "%s %.2f\n", rps, c * 1e6 / tick / n}' >>"$work/$1"
}
picks=(0 $((routes / 2)) $((routes - 1)))
for ((round = 0; round < rounds; round++)); do
	order=("${picks[@]}")
	((round % 2)) && order=("${picks[2]}" "${picks[1]}" "${picks[0]}")
	for r in "${order[@]}"; do measure "$r"; done
done
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
for r in "${picks[@]}"; do
	echo "/r$r/: req/s $(cut -d' ' -f1 "$work/$r" | median) (rounds: $(cut -d' ' -f1 "$work/$r" | paste -sd' '))," \
		"CPU µs/request $(cut -d' ' -f2 "$work/$r" | median) (rounds: $(cut -d' ' -f2 "$work/$r" | paste -sd' '))"
done
config "$routes" $((routes / 2)) 31
kill -HUP "$server"
until grep -q 'msg=reloaded' "$work/server.log"; do
	grep -q 'reload failed' "$work/server.log" && { cat "$work/server.log" >&2; exit 1; }
	sleep 0.05
done
echo "reload (one route of $routes changed): $(sed -n 's/.*msg=reloaded.* duration=\([^ ]*\).*/\1/p' "$work/server.log")"
