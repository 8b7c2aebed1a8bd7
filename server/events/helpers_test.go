package events

import (
	"context"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

// guard bounds every wait in these tests.
const guard = testutil.Guard

// testCtx is the test's context bounded by guard.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), guard)
	t.Cleanup(cancel)
	return ctx
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

// goroutineBaseline registers a cleanup check that every goroutine started
// since (by the test or the code under test) has ended.
func goroutineBaseline(t testing.TB) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
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
