#!/usr/bin/env bash
# The README's first command, run as a newcomer would: in a fresh clone of
# HEAD, `make run` must build everything and serve examples/hello — hello over
# HTTP on 127.0.0.1:8080 and echo over HTTP on a unix socket. (`make test`, the
# second command, is what runs this script.)
set -euo pipefail

src=$(git rev-parse --show-toplevel)
[ -z "$(git -C "$src" status --porcelain)" ] || echo "newcomer-test: note: uncommitted changes are not part of the clone"
if curl -s -o /dev/null --max-time 2 http://127.0.0.1:8080/; then
	echo "newcomer-test: something already serves 127.0.0.1:8080; stop it first" >&2
	exit 1
fi

tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

git clone -q "$src" "$tmp/bubblewasm"
cd "$tmp/bubblewasm"
setsid make run >"$tmp/run.log" 2>&1 &
pid=$!

for _ in $(seq 600); do # the first build compiles Go modules: allow 5 minutes
	grep -q 'msg=listening listener=local' "$tmp/run.log" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/run.log"; echo "newcomer-test: make run exited" >&2; exit 1; }
	sleep 0.5
done
grep -q 'msg=listening listener=local' "$tmp/run.log" || { cat "$tmp/run.log"; echo "newcomer-test: make run did not start listening" >&2; exit 1; }

got=$(curl -fsS 'http://127.0.0.1:8080/?name=newcomer')
[ "$got" = "Hello, newcomer!" ] || { echo "newcomer-test: hello said: $got" >&2; exit 1; }
got=$(curl -fsS --unix-socket /tmp/bubblewasm-hello.sock --data-binary 'ping from a newcomer' http://localhost/)
[ "$got" = "ping from a newcomer" ] || { echo "newcomer-test: echo said: $got" >&2; exit 1; }

kill -TERM -- "-$pid"
wait "$pid" 2>/dev/null || true
pid=""
grep -q 'msg=stopped' "$tmp/run.log" || { cat "$tmp/run.log"; echo "newcomer-test: no clean stop on SIGTERM" >&2; exit 1; }
echo "newcomer-test: make run in a fresh clone served hello and echo, and stopped cleanly"
