#!/usr/bin/env bash
# make check: formatting, vet, module tidiness and the guest SDK's wasm build.
# Fails when any of them would change a file or reports a problem.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "check: gofmt would change:"; echo "$unformatted"; status=1; fi
go vet ./... || status=1
GOOS=wasip1 GOARCH=wasm go vet ./guest-sdk/go/... ./modules/... || status=1
cp go.mod /tmp/check-go.mod; cp go.sum /tmp/check-go.sum
go mod tidy
if ! cmp -s go.mod /tmp/check-go.mod || ! cmp -s go.sum /tmp/check-go.sum; then
	echo "check: go mod tidy changed go.mod/go.sum (now tidied; commit it)"; status=1
fi
for m in modules/*/; do
	[ -f "$m/main.go" ] || continue
	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o /dev/null "./$m" || status=1
done
exit $status
