package events

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// guard bounds every wait in these tests: reaching it means something
// failed to end, never that it was slow.
const guard = 60 * time.Second

// testCtx is the test's context bounded by guard.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), guard)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds, failing the test after guard.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for wait := time.Microsecond; !cond(); wait = min(2*wait, 10*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after %v", what, guard)
		}
		time.Sleep(wait)
	}
}

// recv returns the next value from ch, failing the test if none comes
// within guard.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("nothing received after %v", guard)
		panic("unreachable")
	}
}

// goroutineBaseline records the goroutine count and registers a cleanup
// check that it comes back down to it.
func goroutineBaseline(t testing.TB) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		eventually(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= base })
	})
}

// heapStats returns HeapInuse and StackInuse after a GC.
func heapStats() (heap, stack uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// fetchResult is a Fetch's outcome, sent over a channel.
type fetchResult struct {
	msgs [][]byte
	err  error
}
