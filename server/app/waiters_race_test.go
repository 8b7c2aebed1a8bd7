//go:build race

package app_test

// manyWaiters is the number of clients TestManyWaiters parks on one
// signal under the race detector (10,000 without it). The full count
// passes under the race detector too, in about 13 s on 2 cores, but the
// detector's shadow memory takes the server's resident memory to about
// 400 KiB per waiter (60 KiB without it), some 4 GB for 10,000 next to
// the other packages that `go test ./...` runs in parallel: 2,000 keep
// it under 1 GB.
const (
	manyWaiters     = 2_000
	wasmtimeWaiters = 200
)
