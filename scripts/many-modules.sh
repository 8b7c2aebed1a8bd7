#!/usr/bin/env bash
# many-modules.sh MODULE [ROUTES]: a server of ROUTES routes (default
# 1000), /rN/* each served by its own copy of MODULE made distinct by its
# module name ("uid-N" in the name section, scripts/distinctmods): distinct
# bytes after the host's rewrites, so that no two routes share a
# compilation or an entry of the on-disk compilation cache. It reports
#
#   - the start time on a cold cache (an empty cache_dir: every module
#     compiled; routes load in parallel, GOMAXPROCS at a time) with the
#     server's CPU time over the same span, which exceeds the wall time
#     when compilation runs on several cores;
#   - the start time on a warm cache (the same cache_dir, a new process);
#   - the resident set after the warm start, before any request, and per
#     idle route against a server of one route;
#   - that the first and the last route answer.
#
# The server is ready when its admin /readyz answers 200 (routes load
# before the listeners bind); no guest instance is made by a request
# before the resident set is read.
#
# Needs bin/bubblewasm (make cli), go and curl. PORT (default 18490) and
# PORT+1 (admin) are bound on 127.0.0.1; BUBBLEWASM names another binary
# (a build of another commit, to compare); ENGINE (default wazero);
# RESIDENT sets [limits] resident_modules (default: every module stays
# loaded), and then the script also times a request to a route whose
# module was unloaded and a second one.
#
# Snapshot images live in memfds, which the resident set does not count:
# their size is reported beside it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bw=${BUBBLEWASM:-$root/bin/bubblewasm}
module=${1:?usage: many-modules.sh MODULE [ROUTES]}
routes=${2:-1000}
port=${PORT:-18490}
engine=${ENGINE:-wazero}
resident=${RESIDENT:-}
work=$(mktemp -d)
distinctmods=$root/bin/distinctmods
(cd "$root" && go build -o "$distinctmods" ./scripts/distinctmods)
server=
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# modules writes $work/m/N.wasm for N below $1: MODULE with the module
# name "uid-N" in its name section (scripts/distinctmods: the host keeps
# the name section through its rewrites and drops other custom sections).
modules() { "$distinctmods" "$module" "$1" "$work/m"; }

# config writes bubble.toml with $1 routes.
config() {
	{
		printf 'engine = "%s"\ncache_dir = "%s/cache"\nlog_level = "warn"\n' "$engine" "$work"
		if [ -n "$resident" ]; then printf '[limits]\nresident_modules = %s\n' "$resident"; fi
		printf '[admin]\naddress = "tcp://127.0.0.1:%s"\n' $((port + 1))
		printf '[[listener]]\naddress = "tcp://127.0.0.1:%s"\n' "$port"
		for ((i = 0; i < $1; i++)); do
			printf '[[route]]\nname = "r%d"\nmodule = "%s/m/%d.wasm"\nmatch = { PATH_INFO = "/r%d/*" }\ntimeout = "30s"\n' \
				"$i" "$work" "$i" "$i"
		done
	} >"$work/bubble.toml"
}

# start serves bubble.toml, waits until /readyz answers and sets took to
# the start time and the CPU time the process used meanwhile.
start() {
	local began=${EPOCHREALTIME/./}
	"$bw" run -c "$work/bubble.toml" >/dev/null 2>"$work/server.log" &
	server=$!
	until curl -fsS -o /dev/null "http://127.0.0.1:$((port + 1))/readyz" 2>/dev/null; do
		kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
		sleep 0.05
	done
	local ms=$(((${EPOCHREALTIME/./} - began) / 1000))
	local ticks
	ticks=$(awk '{print $14 + $15}' "/proc/$server/stat")
	took="$ms ms (CPU $((ticks * 1000 / $(getconf CLK_TCK))) ms)"
}

stop() { kill -TERM "$server"; wait "$server" || true; server=; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; } # kB
# memfds prints the number and total size (kB) of the server's memfds.
memfds() {
	local n=0 kb=0 f
	for f in /proc/$server/fd/*; do
		case $(readlink "$f" 2>/dev/null) in "/memfd:"*)
			n=$((n + 1)) kb=$((kb + $(stat -L -c %s "$f") / 1024)) ;;
		esac
	done
	echo "$n memfds, $((kb / 1024)) MB"
}

modules "$routes"
echo "$routes distinct copies of $module ($(stat -c %s "$module") bytes each), engine $engine, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
config 1
start
stop
start
one=$(rss)
stop
rm -rf "$work/cache"
config "$routes"
start
echo "cold start: $took"
stop
start
echo "warm start: $took"
many=$(rss)
echo "rss: $((many / 1024)) MB for $routes idle routes, $(((many - one) / (routes - 1))) kB per route (1 route: $((one / 1024)) MB); snapshot images: $(memfds)"
for r in 0 $((routes - 1)); do
	curl -fsS -o /dev/null "http://127.0.0.1:$port/r$r/" || { echo "/r$r/ failed" >&2; exit 1; }
done
echo "first requests to /r0/ and /r$((routes - 1))/: ok"
if [ -n "$resident" ]; then
	# Routes load in parallel; whichever are resident, a sweep over
	# every route ends with the last ones resident and r0 unloaded.
	for ((i = 0; i < routes; i++)); do curl -fsS -o /dev/null "http://127.0.0.1:$port/r$i/"; done
	t() { curl -fsS -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/r0/"; }
	echo "after a sweep of all routes: unloaded /r0/ answered in $(t) s, then in $(t) s; rss $(($(rss) / 1024)) MB; $(memfds)"
	curl -fsS "http://127.0.0.1:$((port + 1))/metrics" | grep -E '^bubblewasm_resident_modules ' || true
fi
