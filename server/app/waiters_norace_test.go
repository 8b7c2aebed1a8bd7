//go:build !race

package app_test

// manyWaiters is the number of clients TestManyWaiters parks on one
// signal; wasmtimeWaiters is its count on wasmtime (see TestManyWaiters).
const (
	manyWaiters     = 10_000
	wasmtimeWaiters = 200
)
