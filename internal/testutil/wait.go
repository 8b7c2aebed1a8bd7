package testutil

import (
	"testing"
	"time"
)

// Guard bounds every wait of a test: reaching it means something failed to
// happen or to end, never that it was slow.
const Guard = 60 * time.Second

// Eventually polls cond until it holds, failing the test after Guard.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Guard)
	for wait := time.Microsecond; !cond(); wait = min(2*wait, 2*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after %v", what, Guard)
		}
		time.Sleep(wait)
	}
}
