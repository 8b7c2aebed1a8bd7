package events

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

func newSignals(t testing.TB) *MemorySignals {
	s := NewMemorySignals(SignalOptions{MaxPayloadBytes: 16})
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSignalErrors(t *testing.T) {
	s := newSignals(t)
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		call func() error
		want error
	}{
		{"wait bad name", func() error { _, err := s.Wait(ctx, "a b", time.Hour); return err }, ErrBadName},
		{"send bad name", func() error { _, err := s.Send(ctx, "", nil); return err }, ErrBadName},
		{"send too large", func() error { _, err := s.Send(ctx, "x", make([]byte, 17)); return err }, ErrTooLarge},
		{"send nobody", func() error { _, err := s.Send(ctx, "x", make([]byte, 16)); return err }, nil},
		{"wait timeout 0", func() error { _, err := s.Wait(ctx, "x", 0); return err }, ErrTimeout},
		{"wait short timeout", func() error { _, err := s.Wait(ctx, "x", time.Millisecond); return err }, ErrTimeout},
		{"wait cancelled", func() error { _, err := s.Wait(cancelled, "x", time.Hour); return err }, context.Canceled},
		{"send cancelled", func() error { _, err := s.Send(cancelled, "x", nil); return err }, context.Canceled},
	} {
		if err := tc.call(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if n := s.waiting("x"); n != 0 {
		t.Errorf("%d waiters left after timeouts", n)
	}
	s.Close()
	if _, err := s.Wait(ctx, "x", time.Hour); !errors.Is(err, ErrClosed) {
		t.Errorf("Wait after Close: %v", err)
	}
	if _, err := s.Send(ctx, "x", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

func TestSignalWaitTimeoutExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewMemorySignals(SignalOptions{})
		defer s.Close()
		start := time.Now()
		if _, err := s.Wait(t.Context(), "x", 5*time.Second); !errors.Is(err, ErrTimeout) || time.Since(start) != 5*time.Second {
			t.Fatalf("Wait = %v after %v", err, time.Since(start))
		}
	})
}

func TestSignalCancelWhileWaiting(t *testing.T) {
	goroutineBaseline(t)
	s := newSignals(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { _, err := s.Wait(ctx, "x", time.Hour); done <- err }()
	testutil.Eventually(t, "the waiter registered", func() bool { return s.waiting("x") == 1 })
	cancel()
	if err := recv(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel: %v", err)
	}
	if n, _ := s.Send(context.Background(), "x", nil); n != 0 {
		t.Fatalf("Send woke %d after the waiter left", n)
	}
}

func TestSignalCloseWakesWaiters(t *testing.T) {
	goroutineBaseline(t)
	s := NewMemorySignals(SignalOptions{})
	done := make(chan error, 50)
	for i := range 50 {
		go func() { _, err := s.Wait(testCtx(t), "n"+strconv.Itoa(i%5), time.Hour); done <- err }()
	}
	testutil.Eventually(t, "50 waiters", func() bool {
		n := 0
		for i := range 5 {
			n += s.waiting("n" + strconv.Itoa(i))
		}
		return n == 50
	})
	s.Close()
	for range 50 {
		if err := recv(t, done); !errors.Is(err, ErrClosed) {
			t.Fatalf("Wait after Close: %v", err)
		}
	}
}

// TestSignalSendCountsExactly races Sends against Waits with tiny timeouts:
// the sum of what Send reports woken must equal the Waits that returned a
// payload, whichever way each race went.
func TestSignalSendCountsExactly(t *testing.T) {
	s := newSignals(t)
	ctx := testCtx(t)
	var woken, got atomic.Int64
	var wg sync.WaitGroup
	for round := range 200 {
		for w := range 10 {
			wg.Go(func() {
				p, err := s.Wait(ctx, "x", time.Duration(w)*50*time.Microsecond)
				switch {
				case err == nil:
					// Woken by this round's Send or, if it registered
					// after it, a later one.
					if r, err := strconv.Atoi(string(p)); err != nil || r < round {
						t.Errorf("round %d woken with payload %q", round, p)
					}
					got.Add(1)
				case !errors.Is(err, ErrTimeout):
					t.Error(err)
				}
			})
		}
		n, err := s.Send(ctx, "x", []byte(strconv.Itoa(round)))
		if err != nil {
			t.Fatal(err)
		}
		woken.Add(int64(n))
	}
	wg.Wait()
	if woken.Load() != got.Load() {
		t.Fatalf("Send reported %d woken, %d Waits got a payload", woken.Load(), got.Load())
	}
	t.Logf("%d of 2000 waits woken by a Send", got.Load())
}

// TestSignalManyWaiters parks 10,000 callers on one name, then 10,000
// across 1,000 names, wakes them all with Send, measures what a parked
// waiter costs, and checks that every goroutine ends.
//
// A parked caller's goroutine is the caller's own cost, whatever it waits
// on, so it is measured first with goroutines parked on a bare channel;
// that run also leaves the runtime's free list of goroutine records warm,
// so the heap delta of the Wait runs is what Wait itself adds.
func TestSignalManyWaiters(t *testing.T) {
	const n = 10_000
	t.Run("bare goroutines", func(t *testing.T) {
		for round := range 2 { // the first run warms the free lists up
			before := goleak.IgnoreCurrent()
			h0, st0 := heapStats()
			block := make(chan struct{})
			var started sync.WaitGroup
			for range n {
				started.Add(1)
				go func() { started.Done(); <-block }()
			}
			started.Wait()
			h1, st1 := heapStats()
			close(block)
			goleak.VerifyNone(t, before)
			if round == 1 {
				t.Logf("%d goroutines parked on a channel: heap %d B each, stacks %d B each (the caller's own cost)", n, int64(h1-h0)/n, int64(st1-st0)/n)
			}
		}
	})
	for _, names := range []int{1, 1000} {
		t.Run(fmt.Sprintf("names=%d", names), func(t *testing.T) {
			goroutineBaseline(t)
			s := newSignals(t)
			ctx := testCtx(t)
			name := func(i int) string { return "sig." + strconv.Itoa(i%names) }
			results := make(chan string, n)
			h0, st0 := heapStats()
			g0 := runtime.NumGoroutine()
			for i := range n {
				go func() {
					p, err := s.Wait(ctx, name(i), guard)
					if err != nil {
						results <- "error: " + err.Error()
						return
					}
					results <- string(p)
				}()
			}
			testutil.Eventually(t, "all waiters registered", func() bool {
				total := 0
				for i := range names {
					total += s.waiting(name(i))
				}
				return total == n
			})
			h1, st1 := heapStats()
			g1 := runtime.NumGoroutine()
			t.Logf("%d waiters on %d names: heap %d B/waiter, stacks %d B/waiter, %d goroutines added (one per caller, none by the service)",
				n, names, int64(h1-h0)/n, int64(st1-st0)/n, g1-g0)
			woken := 0
			for i := range names {
				k, err := s.Send(ctx, name(i), []byte(name(i)))
				if err != nil {
					t.Fatal(err)
				}
				woken += k
			}
			if woken != n {
				t.Fatalf("Send woke %d of %d", woken, n)
			}
			counts := map[string]int{}
			for range n {
				counts[recv(t, results)]++
			}
			for i := range names {
				if c := counts[name(i)]; c != n/names {
					t.Errorf("%s: %d waiters got its payload, want %d", name(i), c, n/names)
				}
			}
		})
	}
}
