package wasm_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

var allLifecycles = []wasm.Lifecycle{wasm.Snapshot, wasm.Fresh, wasm.Pool}

// A trap is HTTP 500 and leaves the server serving, on every lifecycle.
func TestTrapIs500AndServerKeepsServing(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, lc := range allLifecycles {
				t.Run(string(lc), func(t *testing.T) {
					logger, logs := testutil.CaptureLogger(t)
					eng := &countingEngine{Engine: e.New(t)}
					base := serveHTTP(t, logger,
						mount("/trap", mustHandler(t, eng, watModule(t, "trap"), wasm.Options{Name: "trap", Logger: logger, Lifecycle: lc})),
						mount("/hello", mustHandler(t, e.New(t), watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger})))
					for i := range 3 {
						r := httpGet(t, base+"/trap")
						if r.status != http.StatusInternalServerError {
							t.Fatalf("trap #%d: got %d %q, want 500", i, r.status, r.body)
						}
						expectHealthy(t, base)
					}
					waitLog(t, logs, "http exchange failed", "route=trap", "status=500", "unreachable")
					// Every instance that trapped was closed: only the one
					// New made (and kept when pooled) may be open.
					testutil.Eventually(t, "trapped instances closed", func() bool { return eng.closed.Load() >= 3 })
					if open := eng.made.Load() - eng.closed.Load(); open > 1 {
						t.Fatalf("%d instances made, %d closed: trapped instances leak", eng.made.Load(), eng.closed.Load())
					}
				})
			}
		})
	}
}

var counterRE = `^inst=(\S+) n=(\d+) ok$`

func parseCounter(t testing.TB, body string) (inst string, n int) {
	t.Helper()
	var rest string
	if _, err := fmt.Sscanf(body, "inst=%s n=%s", &inst, &rest); err != nil || !strings.HasSuffix(body, " ok") {
		t.Fatalf("counter body %q does not match %s", body, counterRE)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(body, "inst="+inst+" n="), " ok"))
	if err != nil {
		t.Fatalf("counter body %q: %v", body, err)
	}
	return inst, n
}

// A pooled instance is reused while healthy (its counter grows) and thrown
// away after a trap or a non-zero result (the counter restarts at 1).
func TestPoolDiscardsFailedInstance(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, failure := range []string{"trap", "fail"} {
				t.Run(failure, func(t *testing.T) {
					logger, _ := testutil.CaptureLogger(t)
					eng := &countingEngine{Engine: e.New(t)}
					h := mustHandler(t, eng, watModule(t, "counter"), wasm.Options{Name: "counter", Logger: logger, Lifecycle: wasm.Pool, PoolSize: 1, MaxConcurrency: 1})
					base := serveHTTP(t, logger, mount("/counter", h),
						mount("/hello", mustHandler(t, e.New(t), watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger})))
					call := func(id string) (string, int) {
						r := httpDo(t, "GET", base+"/counter", nil, http.Header{"X-Id": {id}})
						if r.status != 200 {
							t.Fatalf("request %s: %d %q", id, r.status, r.body)
						}
						return parseCounter(t, r.body)
					}
					for i, id := range []string{"a", "b", "c"} {
						inst, n := call(id)
						if inst != "a" || n != i+1 {
							t.Fatalf("healthy request %d on the pool: inst=%s n=%d, want inst=a n=%d (instance reuse)", i, inst, n, i+1)
						}
					}
					closedBefore := eng.closed.Load()
					r := httpDo(t, "GET", base+"/counter?"+failure, nil, http.Header{"X-Id": {"x"}})
					if r.status != 500 {
						t.Fatalf("%s: got %d %q, want 500", failure, r.status, r.body)
					}
					if eng.closed.Load() != closedBefore+1 {
						t.Fatalf("after %s: %d instances closed, want %d", failure, eng.closed.Load(), closedBefore+1)
					}
					expectHealthy(t, base)
					// Had the failed instance been reused, n would be 5.
					for i, id := range []string{"d", "e"} {
						inst, n := call(id)
						if inst != "d" || n != i+1 {
							t.Fatalf("after %s, request %d: inst=%s n=%d, want inst=d n=%d (a fresh instance)", failure, i, inst, n, i+1)
						}
					}
				})
			}
		})
	}
}

// An infinite loop ends at the route's timeout with 504, with or without
// host calls in the loop, and the server keeps serving.
func TestInfiniteLoopTimesOut(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, lc := range allLifecycles {
				for _, variant := range []string{"spin", "host"} {
					t.Run(string(lc)+"/"+variant, func(t *testing.T) {
						logger, logs := testutil.CaptureLogger(t)
						eng := &countingEngine{Engine: e.New(t)}
						h := mustHandler(t, eng, watModule(t, "loop"), wasm.Options{Name: "loop", Logger: logger, Lifecycle: lc, Timeout: 300 * time.Millisecond})
						base := serveHTTP(t, logger, mount("/loop", h),
							mount("/hello", mustHandler(t, e.New(t), watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger})))
						for i := range 2 {
							r := httpGet(t, base+"/loop?"+variant)
							if r.status != http.StatusGatewayTimeout {
								t.Fatalf("loop #%d: got %d %q, want 504", i, r.status, r.body)
							}
							expectHealthy(t, base)
						}
						waitLog(t, logs, "status=504", server.ErrTimeout.Error())
						testutil.Eventually(t, "timed-out instances closed", func() bool { return eng.closed.Load() >= 2 })
						if eng.running.Load() != 0 {
							t.Fatalf("%d Handle calls still running", eng.running.Load())
						}
					})
				}
			}
		})
	}
}

// lineDispatch routes a line exchange by its content, so that one line
// connection can reach the trap, loop and hello modules in turn.
type lineDispatch map[string]server.Handler

func (d lineDispatch) Serve(ctx context.Context, x *server.Exchange) error {
	b, err := io.ReadAll(x.Reader)
	if err != nil {
		return err
	}
	h, ok := d[string(b)]
	if !ok {
		h = d["hello"]
	}
	x.Reader = strings.NewReader(string(b))
	return h.Serve(ctx, x)
}

// On the line transport a trap and a timeout are error lines, and the same
// connection goes on serving the next lines.
func TestLineTransportTrapAndTimeout(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			eng := e.New(t)
			d := lineDispatch{
				"hello": mustHandler(t, eng, watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger}),
				"trap":  mustHandler(t, eng, watModule(t, "trap"), wasm.Options{Name: "trap", Logger: logger}),
				"loop":  mustHandler(t, eng, watModule(t, "loop"), wasm.Options{Name: "loop", Logger: logger, Timeout: 300 * time.Millisecond}),
			}
			a := testutil.Serve(t, "tcp://127.0.0.1:0", "line", d, transport.Options{Logger: logger})
			c := testutil.Dial(t, a)
			c.SetDeadline(time.Now().Add(60 * time.Second))
			br := bufio.NewReader(c)
			for _, step := range []struct{ in, want string }{
				{"hello", "Hello, world!"},
				{"trap", "error: handler failed"},
				{"hello", "Hello, world!"},
				{"loop", "error: handler timed out"},
				{"hello", "Hello, world!"},
			} {
				if _, err := io.WriteString(c, step.in+"\n"); err != nil {
					t.Fatal(err)
				}
				got, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("after %q: %v", step.in, err)
				}
				if strings.TrimSuffix(got, "\n") != step.want {
					t.Fatalf("line %q: got %q, want %q", step.in, got, step.want)
				}
			}
		})
	}
}

// A memory bomb stops at the route's page cap: the guest sees memory.grow
// fail, and the instance's memory never exceeds the cap.
func TestMemoryBombStopsAtCap(t *testing.T) {
	const pages = 16
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Run("http", func(t *testing.T) {
				for _, lc := range allLifecycles {
					t.Run(string(lc), func(t *testing.T) {
						logger, _ := testutil.CaptureLogger(t)
						h := mustHandler(t, e.New(t), watModule(t, "membomb"), wasm.Options{Name: "bomb", Logger: logger, Lifecycle: lc, Limits: wasm.Limits{MemoryPages: pages}})
						base := serveHTTP(t, logger, mount("/bomb", h),
							mount("/hello", mustHandler(t, e.New(t), watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger})))
						for i := range 2 { // twice: a pooled instance is already full
							r := httpGet(t, base+"/bomb")
							want := fmt.Sprintf("pages=%d huge=-1", pages)
							if r.status != 200 || r.body != want {
								t.Fatalf("bomb #%d: got %d %q, want 200 %q", i, r.status, r.body, want)
							}
							expectHealthy(t, base)
						}
					})
				}
			})
			t.Run("instance", func(t *testing.T) {
				ctx := context.Background()
				m, err := e.New(t).Compile(ctx, watModule(t, "membomb"), wasm.Limits{MemoryPages: pages})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close(ctx)
				inst, err := m.Instantiate(ctx, wasm.InstanceConfig{Init: &stubExchange{}})
				if err != nil {
					t.Fatal(err)
				}
				defer inst.Close(ctx)
				if got := inst.MemorySize(); got != 65536 {
					t.Fatalf("initial memory %d bytes, want one page", got)
				}
				for i := range 2 {
					x := &stubExchange{}
					code, err := inst.Handle(ctx, x)
					if err != nil || code != 0 {
						t.Fatalf("Handle #%d: %d, %v", i, code, err)
					}
					if got := inst.MemorySize(); got > pages*65536 {
						t.Fatalf("memory is %d bytes, over the cap of %d", got, pages*65536)
					}
					if x.out.String() != fmt.Sprintf("pages=%d huge=-1", pages) {
						t.Fatalf("Handle #%d wrote %q", i, x.out.String())
					}
				}
			})
			t.Run("initial-over-cap", func(t *testing.T) {
				_, err := wasm.New(context.Background(), e.New(t), watModule(t, "bigmem"), wasm.Options{Name: "big", Limits: wasm.Limits{MemoryPages: pages}})
				if err == nil {
					t.Fatal("a module whose initial memory (32 pages) exceeds the cap (16) loaded")
				}
				t.Logf("error: %v", err)
				msg := strings.ToLower(err.Error())
				for _, want := range []string{"32", "16", "limit"} {
					if !strings.Contains(msg, want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
			})
			t.Run("declared-max-over-cap", func(t *testing.T) {
				logger, _ := testutil.CaptureLogger(t)
				h, err := wasm.New(context.Background(), e.New(t), watModule(t, "bigmax"), wasm.Options{Name: "bigmax", Logger: logger, Limits: wasm.Limits{MemoryPages: pages}})
				if err != nil {
					t.Logf("refused at load: %v", err)
					if !strings.Contains(strings.ToLower(err.Error()), "limit") {
						t.Errorf("error %q does not mention the limit", err)
					}
					return
				}
				defer h.Close(context.Background())
				base := serveHTTP(t, logger, mount("/bigmax", h))
				r := httpGet(t, base+"/bigmax")
				if r.status != 200 || len(r.body) != 1 || r.body[0] > pages {
					t.Fatalf("got %d %q: memory grew past the cap", r.status, r.body)
				}
			})
		})
	}
}

// memSampler records peak memory statistics until stopped; its sampling is
// bounded in count and time.
type memSampler struct {
	stop, done                    chan struct{}
	peakSys, peakHeapSys, peakUse uint64
	samples                       int
}

func sampleMemory() *memSampler {
	s := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		limit := time.After(2 * time.Minute)
		var ms runtime.MemStats
		for s.samples < 600000 {
			runtime.ReadMemStats(&ms)
			s.samples++
			s.peakSys = max(s.peakSys, ms.Sys)
			s.peakHeapSys = max(s.peakHeapSys, ms.HeapSys)
			s.peakUse = max(s.peakUse, ms.HeapInuse)
			select {
			case <-s.stop:
				return
			case <-limit:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *memSampler) Stop() { close(s.stop); <-s.done }

func settledMemStats() runtime.MemStats {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	runtime.ReadMemStats(&ms)
	return ms
}

const mebibyte = 1 << 20

// Unbounded recursion traps with a stack overflow (500), the server keeps
// serving, and the host memory it took is given back. With MaxConcurrency 2,
// at most two recursions run at once.
func TestDeepRecursion(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, logs := testutil.CaptureLogger(t)
			eng := &countingEngine{Engine: e.New(t)}
			h := mustHandler(t, eng, watModule(t, "recurse"), wasm.Options{Name: "recurse", Logger: logger, MaxConcurrency: 2})
			base := serveHTTP(t, logger, mount("/recurse", h),
				mount("/hello", mustHandler(t, e.New(t), watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger})))
			expectHealthy(t, base) // warm up connections and code paths

			before := settledMemStats()
			s := sampleMemory()
			r := httpGet(t, base+"/recurse")
			s.Stop()
			if r.status != http.StatusInternalServerError {
				t.Fatalf("recursion: got %d %q, want 500", r.status, r.body)
			}
			expectHealthy(t, base)
			after := settledMemStats()
			t.Logf("single recursion: baseline HeapAlloc %.1f MiB HeapSys %.1f MiB Sys %.1f MiB; peak HeapInuse %.1f MiB HeapSys %.1f MiB Sys %.1f MiB (%d samples); after GC HeapAlloc %.1f MiB HeapSys %.1f MiB (of which released to the OS %.1f MiB) Sys %.1f MiB",
				float64(before.HeapAlloc)/mebibyte, float64(before.HeapSys)/mebibyte, float64(before.Sys)/mebibyte,
				float64(s.peakUse)/mebibyte, float64(s.peakHeapSys)/mebibyte, float64(s.peakSys)/mebibyte, s.samples,
				float64(after.HeapAlloc)/mebibyte, float64(after.HeapSys)/mebibyte, float64(after.HeapReleased)/mebibyte, float64(after.Sys)/mebibyte)
			if after.HeapAlloc > before.HeapAlloc+16*mebibyte {
				t.Errorf("heap did not return to baseline: %.1f MiB before, %.1f MiB after GC", float64(before.HeapAlloc)/mebibyte, float64(after.HeapAlloc)/mebibyte)
			}
			single := s.peakUse - min(s.peakUse, before.HeapInuse)
			// The stack guard stops the recursion at the route's budget
			// (4 MiB of estimated frames by default); without it wazero grew
			// its stack on the Go heap to ~120 MiB before trapping.
			if single > 48*mebibyte {
				t.Errorf("one runaway recursion took %.1f MiB of host heap; the stack guard should stop it near its budget", float64(single)/mebibyte)
			}
			want := "call stack exceeded the route's budget"
			if e.NativeStack > 0 && e.NativeStack < wasm.DefaultStackBytes {
				want = "call stack exhausted" // the engine's own native stack is smaller than the budget
			}
			waitLog(t, logs, want)

			// Eight at once with MaxConcurrency 2.
			const n = 8
			before8 := settledMemStats()
			s8 := sampleMemory()
			statuses := make([]int, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					r, err := httpDoErr("GET", base+"/recurse", nil, nil)
					statuses[i], errs[i] = r.status, err
				})
			}
			wg.Wait()
			s8.Stop()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("request %d: %v", i, errs[i])
				}
				if statuses[i] != 500 && statuses[i] != 503 {
					t.Errorf("request %d: got %d, want 500 (or 503 if it never got a slot)", i, statuses[i])
				}
			}
			if p := eng.peak.Load(); p > 2 {
				t.Errorf("%d recursions ran at once, MaxConcurrency is 2", p)
			}
			expectHealthy(t, base)
			after8 := settledMemStats()
			t.Logf("%d concurrent recursions, MaxConcurrency 2 (peak %d running): baseline HeapInuse %.1f MiB; peak HeapInuse %.1f MiB HeapSys %.1f MiB Sys %.1f MiB; after GC HeapAlloc %.1f MiB (single recursion peak delta %.1f MiB, 8-way delta %.1f MiB)",
				n, eng.peak.Load(), float64(before8.HeapInuse)/mebibyte, float64(s8.peakUse)/mebibyte, float64(s8.peakHeapSys)/mebibyte, float64(s8.peakSys)/mebibyte,
				float64(after8.HeapAlloc)/mebibyte, float64(single)/mebibyte, float64(s8.peakUse-min(s8.peakUse, before8.HeapInuse))/mebibyte)
			if after8.HeapAlloc > before.HeapAlloc+16*mebibyte {
				t.Errorf("heap did not return to baseline after %d recursions: %.1f MiB before, %.1f MiB after GC", n, float64(before.HeapAlloc)/mebibyte, float64(after8.HeapAlloc)/mebibyte)
			}
		})
	}
}

// A deep but finite recursion succeeds. The engine grows its call stack for
// it; a pooled instance may keep that stack while it sits in the pool (the
// test reports how much), but closing the handler gives it all back.
func TestDeepFiniteRecursionInPool(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			if e.NativeStack > 0 {
				t.Skipf("%s runs guests on a fixed %d KiB native stack: 600000 frames do not fit (TestDeepRecursion checks the trap)", e.Name, e.NativeStack>>10)
			}
			logger, _ := testutil.CaptureLogger(t)
			h, err := wasm.New(context.Background(), e.New(t), watModule(t, "deep"), wasm.Options{Name: "deep", Logger: logger, Lifecycle: wasm.Pool, PoolSize: 1,
				Limits: wasm.Limits{StackBytes: 1 << 30}}) // a budget that lets 600000 frames through
			if err != nil {
				t.Fatal(err)
			}
			base := serveHTTP(t, logger, mount("/deep", h))
			before := settledMemStats()
			for range 3 {
				expectHealthyOn(t, base, "/deep", "")
			}
			pooled := settledMemStats()
			h.Close(context.Background())
			closed := settledMemStats()
			t.Logf("pooled instance after a 600000-frame recursion: HeapAlloc %.1f MiB before, %.1f MiB while pooled, %.1f MiB after the handler closed",
				float64(before.HeapAlloc)/mebibyte, float64(pooled.HeapAlloc)/mebibyte, float64(closed.HeapAlloc)/mebibyte)
			if closed.HeapAlloc > before.HeapAlloc+16*mebibyte {
				t.Errorf("closing the handler did not free the pooled stack: %.1f MiB before, %.1f MiB after", float64(before.HeapAlloc)/mebibyte, float64(closed.HeapAlloc)/mebibyte)
			}
		})
	}
}

// MaxConcurrency holds further exchanges until a slot frees: with exchanges
// blocked reading bodies the test controls, exactly the limit runs at once,
// and the rest complete when the bodies end.
func TestMaxConcurrencyQueues(t *testing.T) {
	const limit, n = 2, 6
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			eng := &countingEngine{Engine: e.New(t)}
			h := mustHandler(t, eng, watModule(t, "counter"), wasm.Options{Name: "counter", Logger: logger, Lifecycle: wasm.Pool, MaxConcurrency: limit})
			base := serveHTTP(t, logger, mount("/counter", h))
			writers := make([]*io.PipeWriter, n)
			results := make(chan error, n)
			for i := range n {
				pr, pw := io.Pipe()
				writers[i] = pw
				go func() {
					r, err := httpDoErr("POST", base+"/counter", pr, http.Header{"X-Id": {fmt.Sprint("r", i)}})
					if err == nil && (r.status != 200 || !strings.HasSuffix(r.body, " ok")) {
						err = fmt.Errorf("got %d %q", r.status, r.body)
					}
					results <- err
				}()
			}
			testutil.Eventually(t, "the limit to be reached", func() bool { return eng.running.Load() == limit })
			// Feed every body a little; only the running ones can read.
			for _, w := range writers {
				go w.Write([]byte("some body bytes"))
			}
			for _, w := range writers {
				if p := eng.peak.Load(); p > limit {
					t.Fatalf("%d exchanges ran at once, limit %d", p, limit)
				}
				w.Close()
			}
			for range n {
				if err := <-results; err != nil {
					t.Error(err)
				}
			}
			if p := eng.peak.Load(); p != limit {
				t.Fatalf("peak concurrency %d, want exactly %d", p, limit)
			}
		})
	}
}

// An exchange that cannot get a slot before its deadline is reported as
// overloaded (503), not as a handler timeout.
func TestOverloadedIs503(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			eng := &countingEngine{Engine: e.New(t)}
			h := mustHandler(t, eng, watModule(t, "counter"), wasm.Options{Name: "counter", Logger: logger, MaxConcurrency: 1})
			pr, pw := io.Pipe()
			blocked := make(chan error, 1)
			go func() {
				blocked <- h.Serve(context.Background(), &server.Exchange{Env: server.Env{}, Reader: pr, Writer: server.NewStreamWriter(io.Discard)})
			}()
			testutil.Eventually(t, "the blocker to run", func() bool { return eng.running.Load() == 1 })
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			err := h.Serve(ctx, &server.Exchange{Env: server.Env{}, Reader: strings.NewReader(""), Writer: server.NewStreamWriter(io.Discard)})
			pw.Close()
			if berr := <-blocked; berr != nil {
				t.Fatalf("blocked exchange: %v", berr)
			}
			if err == nil {
				t.Fatal("second exchange ran past the concurrency limit")
			}
			if got := server.StatusOf(err); got != http.StatusServiceUnavailable {
				t.Fatalf("no slot before the deadline: %v → %d, want 503", err, got)
			}
		})
	}
}

// Out-of-bounds pointers to every host function trap the call: HTTP 500,
// the log names the function, no host panic, and the server keeps serving.
func TestOutOfBoundsPointers(t *testing.T) {
	traps := []struct {
		sel, fn, what, rng string // rng: the range the log must name
	}{
		{"a", abi.FuncEnvGet, "key past end", "[65544, 65548)"},
		{"b", abi.FuncEnvGet, "key overflow", "[4294967280, 4294967312)"},
		{"c", abi.FuncEnvGet, "buf past end", "[65544, 65548)"},
		{"d", abi.FuncEnvGet, "buf overflow", "[4294967280, 4294967312)"},
		{"e", abi.FuncEnvKeys, "past end", "[65544, 65548)"},
		{"f", abi.FuncEnvKeys, "overflow", "[4294967280, 4294967312)"},
		{"B", abi.FuncEnvAll, "past end", "[65544, 65548)"},
		{"C", abi.FuncEnvAll, "overflow", "[4294967280, 4294967312)"},
		{"g", abi.FuncRead, "past end", "[65544, 65548)"},
		{"h", abi.FuncRead, "overflow", "[4294967280, 4294967312)"},
		{"i", abi.FuncWrite, "past end", "[65544, 65548)"},
		{"j", abi.FuncWrite, "overflow", "[4294967280, 4294967312)"},
		{"k", abi.FuncSetHeader, "name past end", "[65544, 65548)"},
		{"l", abi.FuncSetHeader, "name overflow", "[4294967280, 4294967312)"},
		{"m", abi.FuncSetHeader, "value past end", "[65544, 65548)"},
		{"n", abi.FuncSetHeader, "value overflow", "[4294967280, 4294967312)"},
		{"o", abi.FuncAddHeader, "name past end", "[65544, 65548)"},
		{"p", abi.FuncAddHeader, "name overflow", "[4294967280, 4294967312)"},
		{"q", abi.FuncAddHeader, "value past end", "[65544, 65548)"},
		{"r", abi.FuncAddHeader, "value overflow", "[4294967280, 4294967312)"},
		{"s", abi.FuncLog, "past end", "[65544, 65548)"},
		{"t", abi.FuncLog, "overflow", "[4294967280, 4294967312)"},
		{"w", abi.FuncWrite, "zero length one past end", "[65537, 65537)"},
		{"x", abi.FuncWrite, "straddles end", "[65535, 65537)"},
		{"z", abi.FuncLog, "ptr+len = 2^32", "[4294967295, 4294967296)"},
		{"A", abi.FuncWrite, "ptr+len = 2^32", "[1, 4294967296)"},
	}
	valid := []struct{ sel, want, what string }{
		{"u", "survived 0", "write of 0 bytes at the end"},
		{"v", "survived 1", "env_get buffer ending at the end"},
		{"y", fmt.Sprintf("survived %d", abi.ErrInvalid), "read of 0 bytes at the end"},
	}
	// Every host function with a pointer is covered.
	covered := map[string]bool{}
	for _, c := range traps {
		covered[c.fn] = true
	}
	for _, f := range abi.Funcs() {
		hasPtr := false
		for _, p := range f.Params {
			hasPtr = hasPtr || strings.HasSuffix(p, "_ptr")
		}
		if hasPtr && !covered[f.Name] {
			t.Errorf("host function %s takes a pointer but has no out-of-bounds case", f.Name)
		}
	}
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, lc := range allLifecycles {
				t.Run(string(lc), func(t *testing.T) {
					logger, logs := testutil.CaptureLogger(t)
					base := serveHTTP(t, logger,
						mount("/oob", mustHandler(t, e.New(t), watModule(t, "oob"), wasm.Options{Name: "oob", Logger: logger, Lifecycle: lc})),
						mount("/hello", mustHandler(t, e.New(t), watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger})))
					for _, c := range traps {
						t.Run(c.fn+"/"+c.what, func(t *testing.T) {
							mark := len(logs.String())
							r := httpGet(t, base+"/oob?"+c.sel)
							if r.status != 500 {
								t.Fatalf("got %d %q, want 500", r.status, r.body)
							}
							// The record for this request (not an earlier one)
							// names the function and the range.
							testutil.Eventually(t, "the failure to be logged", func() bool { return strings.Contains(logs.String()[mark:], "status=500") })
							rec := logs.String()[mark:]
							for _, w := range []string{"guest error in " + abi.ModuleName + "." + c.fn, "range " + c.rng, "outside guest memory"} {
								if !strings.Contains(rec, w) {
									t.Fatalf("log lacks %q:\n%s", w, rec)
								}
							}
							expectHealthy(t, base)
						})
					}
					for _, c := range valid {
						t.Run("valid/"+c.what, func(t *testing.T) {
							r := httpGet(t, base+"/oob?"+c.sel)
							if r.status != 200 || r.body != c.want {
								t.Fatalf("got %d %q, want 200 %q", r.status, r.body, c.want)
							}
						})
					}
					if s := logs.String(); strings.Contains(s, "panic serving") || strings.Contains(s, "goroutine ") {
						t.Fatalf("host panic in the log:\n%s", s)
					}
				})
			}
		})
	}
}

// Bad module files fail wasm.New with errors that say what is wrong.
func TestBadModules(t *testing.T) {
	hello := watModule(t, "hello")
	junk := make([]byte, 256)
	rand.New(rand.NewSource(1)).Read(junk)
	cases := []struct {
		name string
		bin  func(t testing.TB) []byte
		want []string
	}{
		{"random bytes", func(testing.TB) []byte { return junk }, []string{"compile"}},
		{"empty", func(testing.TB) []byte { return nil }, []string{"compile"}},
		{"truncated", func(testing.TB) []byte { return hello[:len(hello)*2/3] }, []string{"compile"}},
		{"no bubble_handle", func(t testing.TB) []byte { return watModule(t, "bad_no_handle") }, []string{"does not export bubble_handle"}},
		{"bubble_handle signature", func(t testing.TB) []byte { return watModule(t, "bad_handle_sig") }, []string{"export bubble_handle has type (i32) -> ()", "want () -> (i32)"}},
		{"unknown import", func(t testing.TB) []byte { return watModule(t, "bad_import_nope") }, []string{"bubblewasm_v1.nope", "ABI v1 does not have"}},
		{"write signature", func(t testing.TB) []byte { return watModule(t, "bad_write_sig") }, []string{"bubblewasm_v1.write as (i32) -> (i32)", "want (i32, i32) -> (i32)"}},
		{"unknown module", func(t testing.TB) []byte { return watModule(t, "bad_import_env") }, []string{"env.foo", "does not provide"}},
		{"command module", func(t testing.TB) []byte { return watModule(t, "bad_command") }, []string{"command module", "_start"}},
		{"handler built as a command", func(t testing.TB) []byte { return watModule(t, "bad_command_handler") }, []string{"exports _start as well as bubble_handle", "-buildmode=c-shared"}},
		{"no memory", func(t testing.TB) []byte { return watModule(t, "bad_no_memory") }, []string{`does not export its memory as "memory"`}},
		{"bubble_init non-zero", func(t testing.TB) []byte { return watModule(t, "bad_init") }, []string{"instantiate", "bubble_init", "7"}},
		{"bubble_init traps", func(t testing.TB) []byte { return watModule(t, "bad_init_trap") }, []string{"instantiate", "bubble_init", "unreachable"}},
	}
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					h, err := wasm.New(context.Background(), e.New(t), c.bin(t), wasm.Options{Name: "bad"})
					if err == nil {
						h.Close(context.Background())
						t.Fatal("wasm.New accepted the module")
					}
					t.Logf("error: %v", err)
					for _, w := range c.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q does not contain %q", err, w)
						}
					}
				})
			}
		})
	}
}

// rawHTTP sends raw requests on one TCP connection and reads responses, so a
// test controls keep-alive and body framing exactly.
type rawHTTP struct {
	c  net.Conn
	br *bufio.Reader
}

func dialHTTP(t testing.TB, base string) *rawHTTP {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return &rawHTTP{c: c, br: bufio.NewReader(c)}
}

func (r *rawHTTP) send(t testing.TB, s string) {
	t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		t.Fatal(err)
	}
}

func (r *rawHTTP) response(t testing.TB) (int, string) {
	t.Helper()
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// A timed-out exchange must not spoil its keep-alive connection: the next
// request on the same connection is served normally. (Regression: the
// route's read deadline stayed on the connection and fired in net/http's
// background read, cancelling the connection's context.)
func TestTimeoutKeepsKeepAliveConnection(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, lc := range allLifecycles {
				t.Run(string(lc), func(t *testing.T) {
					logger, _ := testutil.CaptureLogger(t)
					base := serveHTTP(t, logger,
						mount("/loop", mustHandler(t, e.New(t), watModule(t, "loop"), wasm.Options{Name: "loop", Logger: logger, Lifecycle: lc, Timeout: 300 * time.Millisecond})),
						mount("/hello", mustHandler(t, e.New(t), watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger, Lifecycle: lc, Timeout: 300 * time.Millisecond})))
					c := dialHTTP(t, base)
					for i := range 2 {
						c.send(t, "GET /loop HTTP/1.1\r\nHost: x\r\n\r\n")
						if code, body := c.response(t); code != 504 {
							t.Fatalf("loop #%d: %d %q, want 504", i, code, body)
						}
						c.send(t, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
						if code, body := c.response(t); code != 200 || body != "Hello, world!\n" {
							t.Fatalf("hello after a timeout on the same connection: %d %q", code, body)
						}
					}
				})
			}
		})
	}
}

// A guest blocked reading a body that never comes ends at the timeout (the
// read is bounded by the route deadline), and the server keeps serving.
func TestStalledBodyTimesOut(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			eng := &countingEngine{Engine: e.New(t)}
			base := serveHTTP(t, logger,
				mount("/counter", mustHandler(t, eng, watModule(t, "counter"), wasm.Options{Name: "counter", Logger: logger, Lifecycle: wasm.Pool, Timeout: 300 * time.Millisecond})),
				mount("/hello", mustHandler(t, e.New(t), watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger})))
			c := dialHTTP(t, base)
			c.send(t, "POST /counter HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a part")
			if code, body := c.response(t); code != 504 {
				t.Fatalf("stalled body: %d %q, want 504", code, body)
			}
			expectHealthy(t, base)
			testutil.Eventually(t, "the stalled instance to be closed", func() bool { return eng.closed.Load() >= 1 })
			// The pool serves the next exchange on a new instance.
			r := httpDo(t, "POST", base+"/counter", strings.NewReader("full body"), http.Header{"X-Id": {"next"}})
			if inst, n := parseCounter(t, r.body); r.status != 200 || inst != "next" || n != 1 {
				t.Fatalf("after the stall: %d %q", r.status, r.body)
			}
		})
	}
}

// A guest that writes to a client that never reads blocks in write once the
// socket buffers fill. The route timeout should end that exchange (and free
// its concurrency slot) even though the client keeps the connection open.
func TestTimeoutBoundsBlockedWrite(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			eng := &countingEngine{Engine: e.New(t)}
			base := serveHTTP(t, logger, mount("/spew", mustHandler(t, eng, watModule(t, "spew"), wasm.Options{Name: "spew", Logger: logger, Timeout: 300 * time.Millisecond})))
			c := dialHTTP(t, base)
			c.send(t, "GET /spew HTTP/1.1\r\nHost: x\r\n\r\n")
			testutil.Eventually(t, "the exchange to start", func() bool { return eng.handled.Load()+eng.running.Load() > 0 })
			testutil.Eventually(t, "the exchange to end while the client still holds the connection", func() bool {
				return eng.running.Load() == 0
			})
		})
	}
}

// A table bomb must not take unbounded host memory: tables are not covered by
// Limits.MemoryPages, so a guest that grows a table without a maximum makes
// the engine allocate host memory for every element.
func TestTableBombIsBounded(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			base := serveHTTP(t, logger,
				mount("/bomb", mustHandler(t, e.New(t), watModule(t, "tablebomb"), wasm.Options{Name: "bomb", Logger: logger, Timeout: time.Second, Limits: wasm.Limits{MemoryPages: 16}})),
				mount("/hello", mustHandler(t, e.New(t), watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger})))
			before := settledMemStats()
			s := sampleMemory()
			r := httpGet(t, base+"/bomb")
			s.Stop()
			t.Logf("table bomb: %d %q, peak HeapInuse %.1f MiB", r.status, r.body, float64(s.peakUse)/mebibyte)
			if size, err := strconv.Atoi(r.body); r.status != 200 || err != nil || size > wasm.DefaultTableElements {
				t.Errorf("got %d %q, want 200 and a table size of at most %d", r.status, r.body, wasm.DefaultTableElements)
			}
			if grown := s.peakUse - min(s.peakUse, before.HeapInuse); grown > 256*mebibyte {
				t.Errorf("one exchange took %.1f MiB of host memory", float64(grown)/mebibyte)
			}
			expectHealthy(t, base)
		})
	}
}
