package wasm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// serveOnce runs one exchange of h in process with query as its
// QUERY_STRING and returns Serve's error.
func serveOnce(ctx context.Context, h *wasm.Handler, query string, w server.ResponseWriter) error {
	env := server.Env{"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": query, "bubble.transport": "http"}
	return h.Serve(ctx, &server.Exchange{Env: env, Reader: http.NoBody, Writer: w})
}

// TestLoopStopsAtTimeout: a guest looping with no call at all stops at the
// route's timeout on every engine and lifecycle (on wazero through the
// interrupt guard), with an error that wraps context.DeadlineExceeded, and
// the route's next exchange succeeds.
func TestLoopStopsAtTimeout(t *testing.T) {
	bin := watModule(t, "loop")
	hello := testutil.WAT(t, `(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "QUERY_STRING")
  (func (export "bubble_handle") (result i32)
    (if (i32.gt_s (call $env_get (i32.const 0) (i32.const 12) (i32.const 64) (i32.const 16)) (i32.const 0))
      (then (loop $spin (br $spin))))
    (drop (call $write (i32.const 0) (i32.const 12)))
    (i32.const 0)))`)
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, lc := range allLifecycles {
				t.Run(string(lc), func(t *testing.T) {
					ctx := context.Background()
					for name, bin := range map[string][]byte{"loop": bin, "loop-or-hello": hello} {
						h := mustHandler(t, e.New(t), bin, wasm.Options{Name: name, Lifecycle: lc, PoolSize: 1, MaxConcurrency: 1, Timeout: 200 * time.Millisecond})
						err := serveOnce(ctx, h, "spin", &nullWriter{header: http.Header{}})
						if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, server.ErrTimeout) {
							t.Fatalf("%s: err = %v, want a timeout that wraps context.DeadlineExceeded", name, err)
						}
					}
					h := mustHandler(t, e.New(t), hello, wasm.Options{Name: "hello", Lifecycle: lc, PoolSize: 1, MaxConcurrency: 1, Timeout: 200 * time.Millisecond})
					for i, q := range []string{"", "spin", ""} {
						w := &nullWriter{header: http.Header{}}
						err := serveOnce(ctx, h, q, w)
						if q == "" && (err != nil || w.n != 12) {
							t.Fatalf("exchange %d: err = %v, %d bytes written; want success", i, err, w.n)
						}
						if q != "" && !errors.Is(err, context.DeadlineExceeded) {
							t.Fatalf("exchange %d: err = %v, want a timeout", i, err)
						}
					}
				})
			}
		})
	}
}

// TestLoopsOnEveryThreadStop: more looping guests than the Go scheduler
// has threads (GOMAXPROCS) all stop at their timeout. Compiled guest code
// cannot be preempted, so were the guard never to return to Go, no thread
// would be left to run the timers that end the guests' contexts, and the
// exchanges (and this test) would hang.
func TestLoopsOnEveryThreadStop(t *testing.T) {
	n := runtime.GOMAXPROCS(0) + 1
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := mustHandler(t, e.New(t), watModule(t, "loop"), wasm.Options{Name: "loop", Lifecycle: wasm.Fresh, MaxConcurrency: n, Timeout: 300 * time.Millisecond})
			errs := make(chan error, n)
			for range n {
				go func() { errs <- serveOnce(context.Background(), h, "spin", &nullWriter{header: http.Header{}}) }()
			}
			for i := range n {
				select {
				case err := <-errs:
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("exchange %d: err = %v, want a timeout", i, err)
					}
				case <-time.After(2 * time.Minute): // a hang, not a time budget
					t.Fatalf("%d of %d looping exchanges never stopped", n-i, n)
				}
			}
		})
	}
}

// cancelWriter cancels its exchange's context in its first Write: the
// guest then returns at once, without another call or loop, so the stop
// comes after the guest's last check.
type cancelWriter struct {
	nullWriter
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.cancel()
	return w.nullWriter.Write(p)
}

// TestStopAfterReturnKeepsInstance: a context that ends while the guest
// is in a host function, when the guest then returns normally, does not
// leave the instance stopped: the same pooled or snapshot instance serves
// the route's next exchange.
func TestStopAfterReturnKeepsInstance(t *testing.T) {
	bin := testutil.WAT(t, `(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "ok")
  (func (export "bubble_handle") (result i32)
    (drop (call $write (i32.const 0) (i32.const 2)))
    (i32.const 0)))`)
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, lc := range []wasm.Lifecycle{wasm.Pool, wasm.Snapshot} {
				t.Run(string(lc), func(t *testing.T) {
					eng := &countingEngine{Engine: e.New(t)}
					h := mustHandler(t, eng, bin, wasm.Options{Name: "write", Lifecycle: lc, PoolSize: 1, MaxConcurrency: 1})
					var made int64
					for i := range 3 {
						ctx, cancel := context.WithCancel(context.Background())
						w := &cancelWriter{nullWriter: nullWriter{header: http.Header{}}, cancel: cancel}
						serveOnce(ctx, h, "", w) // cancelled: its own result does not matter
						cancel()
						w2 := &nullWriter{header: http.Header{}}
						if err := serveOnce(context.Background(), h, "", w2); err != nil || w2.n != 2 {
							t.Fatalf("round %d: the exchange after a stop: err = %v, %d bytes; want success", i, err, w2.n)
						}
						if i == 0 {
							made = eng.made.Load()
						}
					}
					if n := eng.made.Load(); n != made {
						t.Fatalf("%d instances made after the first round, want none (the instance is reused)", n-made)
					}
				})
			}
		})
	}
}

// TestReservedPrefix: a module may export no name that begins with
// "bubblewasm.", on any lifecycle.
func TestReservedPrefix(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, name := range []string{wasm.StackGlobal, wasm.InterruptGlobal, wasm.InterruptTicksGlobal, wasm.StartExport, "bubblewasm.global.0", "bubblewasm.mine"} {
				for _, lc := range allLifecycles {
					bin := testutil.WAT(t, fmt.Sprintf(`(module (memory (export "memory") 1)
  (global (export %q) (mut i32) (i32.const 0))
  (func (export "bubble_handle") (result i32) (i32.const 0)))`, name))
					_, err := wasm.New(context.Background(), e.New(t), bin, wasm.Options{Lifecycle: lc})
					want := fmt.Sprintf(`export name %q is reserved: names beginning with "bubblewasm." are the host's`, name)
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("%s, %s: err = %v, want %q", name, lc, err, want)
					}
				}
			}
		})
	}
}
