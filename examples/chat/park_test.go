package chat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
)

// maxParkedBytes is the generous bound on the Go heap and stacks one
// parked pull costs the whole process (server and, here, its client too),
// and on its resident memory without the race detector (maxParkedRSS). A pull that held a Go instance cost 2.4 MiB of linear
// memory alone, more on wazero (4.5 MiB measured).
const maxParkedBytes = 256 << 10

// TestChatParkedPullers parks 2,000 pulls at once (fewer when the open file
// limit cannot hold their connections twice, client and server) and checks
// what each costs while parked, that parking added no OS threads, and that
// two messages reach every puller exactly once each.
func TestChatParkedPullers(t *testing.T) {
	pullers := 2000
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && int(lim.Cur) < 2*pullers+512 {
		pullers = max(int(lim.Cur)-512, 0) / 2
		t.Logf("open file limit %d: %d pullers", lim.Cur, pullers)
	}
	if pullers < 100 {
		t.Fatalf("open file limit %d leaves room for %d pullers: raise it (ulimit -n)", lim.Cur, pullers)
	}
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base := startChat(t, engine)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			tr := &http.Transport{MaxIdleConnsPerHost: 2 * pullers}
			defer tr.CloseIdleConnections()

			ps := make([]*participant, pullers)
			each(t, pullers, 32, func(i int) error {
				ps[i] = newParticipant(t, base, tr)
				return ps[i].open(ctx)
			})
			publisher := newParticipant(t, base, tr)

			heap0, rss0, threads0, stack0 := memory(t)
			for round := 1; round <= 2; round++ {
				got := make([][]string, pullers)
				var pulling sync.WaitGroup
				errs := make(chan error, pullers)
				for i, p := range ps {
					pulling.Go(func() {
						msgs, rejoined, err := p.pull(ctx)
						if err == nil && rejoined {
							err = errors.New("dropped and subscribed again")
						}
						if err != nil {
							err = fmt.Errorf("puller %d, round %d: %w", i, round, err)
							t.Error(err) // before cancel: waitParked's failure names only the context
							errs <- err
							cancel()
						}
						got[i] = msgs
					})
				}
				waitParked(t, ctx, pullers)
				if round == 1 {
					heap1, rss1, threads1, stack1 := memory(t)
					perHeap, perRSS := (heap1-heap0)/int64(pullers), (rss1-rss0)/int64(pullers)
					t.Logf("%d pulls parked: Go heap and stacks %d -> %d MiB (%d KiB per parked pull, %d KiB of it goroutine stacks, the client's included), RSS %d -> %d MiB (%d KiB per parked pull), threads %d -> %d",
						pullers, heap0>>20, heap1>>20, perHeap>>10, (stack1-stack0)/int64(pullers)>>10, rss0>>20, rss1>>20, perRSS>>10, threads0, threads1)
					if perHeap > maxParkedBytes || perRSS > maxParkedRSS {
						t.Errorf("a parked pull costs %d KiB of Go heap (bound %d KiB) and %d KiB of RSS (bound %d KiB)", perHeap>>10, maxParkedBytes>>10, perRSS>>10, maxParkedRSS>>10)
					}
					if threads1-threads0 > int64(pullers)/10 {
						t.Errorf("threads went from %d to %d with %d pulls parked: a parked pull holds a thread", threads0, threads1, pullers)
					}
				}
				text := fmt.Sprintf("round-%d", round)
				if n, err := publisher.push(ctx, text); err != nil || n != pullers {
					cancel()
					t.Fatalf("push %d reached %d subscriptions (%v), want %d", round, n, err, pullers)
				}
				pulling.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
				for i, msgs := range got {
					if len(msgs) != 1 || !strings.HasSuffix(msgs[0], ": "+text) {
						t.Fatalf("puller %d, round %d got %q, want exactly the one message %q", i, round, msgs, text)
					}
				}
			}
		})
	}
}

// each runs f(0..n-1) with at most par at once and fails t on the first
// error.
func each(t *testing.T, n, par int, f func(i int) error) {
	t.Helper()
	sem := make(chan struct{}, par)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// waitParked waits (bounded by ctx) until n exchanges are parked: n
// goroutines wait in the wasm handler's park.
func waitParked(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	buf := make([]byte, 64<<20)
	for {
		k := runtime.Stack(buf, true)
		if got := strings.Count(string(buf[:k]), "wasm.(*Handler).wait("); got >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d pulls never all parked: %v", n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// memory returns the Go heap and stacks in use after a GC, the process's
// resident set, its thread count, and the stacks alone.
func memory(t *testing.T) (heap, rss, threads, stacks int64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse), procStatus(t, "VmRSS") << 10, procStatus(t, "Threads"), int64(m.StackInuse)
}
