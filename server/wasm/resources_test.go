package wasm_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// TestInitTimeout: a start function, _initialize or bubble_init that never
// returns fails New within Options.InitTimeout, naming the bound, on every
// lifecycle and engine, instead of holding the load forever.
func TestInitTimeout(t *testing.T) {
	const tail = `(func (export "bubble_handle") (result i32) (i32.const 0)))`
	mods := []struct{ name, src string }{
		{"start", `(module (memory (export "memory") 1) (func $s (loop $l (br $l))) (start $s) ` + tail},
		{"_initialize", `(module (memory (export "memory") 1) (func (export "_initialize") (loop $l (br $l))) ` + tail},
		{"bubble_init", `(module (memory (export "memory") 1) (func (export "bubble_init") (result i32) (loop $l (br $l)) (i32.const 0)) ` + tail},
	}
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, m := range mods {
				for _, lc := range allLifecycles {
					t.Run(m.name+"/"+string(lc), func(t *testing.T) {
						h, err := wasm.New(context.Background(), e.New(t), testutil.WAT(t, m.src), wasm.Options{Name: "spin", Lifecycle: lc, InitTimeout: 200 * time.Millisecond})
						if err == nil {
							h.Close(context.Background())
							t.Fatal("a module whose init never returns loaded")
						}
						if !strings.Contains(err.Error(), "init did not finish within init_timeout 200ms") {
							t.Fatalf("error does not name the bound: %v", err)
						}
					})
				}
			}
		})
	}
}

// heldBody is a request body that the test ends when it wants: a guest
// reading it blocks in the host's read until then.
type heldBody struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func newHeldBody(t testing.TB) *heldBody {
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	return &heldBody{r: r, w: w}
}

// start sends a POST with the held body; the result arrives once the body
// ends.
func (b *heldBody) start(url string) <-chan httpResult {
	done := make(chan httpResult, 1)
	go func() {
		r, err := httpDoErr("POST", url, b.r, http.Header{"Content-Type": {"application/octet-stream"}})
		if err != nil {
			r.body = err.Error()
		}
		done <- r
	}()
	go b.w.Write([]byte("x")) // the guest reads this byte, then waits for more
	return done
}

func (b *heldBody) end() { b.w.Close() }

func wait(t testing.TB, what string, c <-chan httpResult) httpResult {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(time.Minute):
		t.Fatalf("no response to %s", what)
	}
	return httpResult{}
}

// TestGate: routes sharing a Gate run at most its places at once; an
// exchange that finds none waits within its timeout and is refused with
// 503; and a route whose guests all block holds at most three quarters of
// the places, so another route still runs.
func TestGate(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			eng := e.New(t)
			t.Run("refused when full", func(t *testing.T) {
				g := wasm.NewGate(1)
				slow := mustHandler(t, eng, watModule(t, "growhold"), wasm.Options{Name: "slow", Logger: logger, Gate: g, MaxConcurrency: 100, Limits: wasm.Limits{MemoryPages: 2}})
				hello := mustHandler(t, eng, watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger, Gate: g, Timeout: 300 * time.Millisecond})
				base := serveHTTP(t, logger, mount("/slow", slow), mount("/hello", hello))
				body := newHeldBody(t)
				done := body.start(base + "/slow")
				testutil.Eventually(t, "the slow guest holding the gate", func() bool { return g.InUse() == 1 })
				if r := httpGet(t, base+"/hello"); r.status != http.StatusServiceUnavailable {
					t.Fatalf("GET /hello with the gate full: %d %q, want 503", r.status, r.body)
				}
				body.end()
				if r := wait(t, "the slow request", done); r.status != 200 || r.body != "pages=2" {
					t.Fatalf("slow request: %d %q", r.status, r.body)
				}
				expectHealthy(t, base)
			})
			t.Run("a route's share", func(t *testing.T) {
				g := wasm.NewGate(4)
				slow := mustHandler(t, eng, watModule(t, "growhold"), wasm.Options{Name: "slow", Logger: logger, Gate: g, MaxConcurrency: 100, Limits: wasm.Limits{MemoryPages: 2}})
				hello := mustHandler(t, eng, watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger, Gate: g})
				base := serveHTTP(t, logger, mount("/slow", slow), mount("/hello", hello))
				var bodies []*heldBody
				var dones []<-chan httpResult
				for range 6 {
					b := newHeldBody(t)
					bodies = append(bodies, b)
					dones = append(dones, b.start(base+"/slow"))
				}
				testutil.Eventually(t, "the slow route holding its share", func() bool { return g.InUse() == g.Share() })
				for range 3 {
					expectHealthy(t, base)
				}
				if n := g.InUse(); n != g.Share() {
					t.Fatalf("%d places in use with the slow route's %d requests blocked, want its share of %d", n, len(bodies), g.Share())
				}
				for _, b := range bodies {
					b.end()
				}
				for i, d := range dones {
					if r := wait(t, "a slow request", d); r.status != 200 || r.body != "pages=2" {
						t.Fatalf("slow request %d: %d %q", i, r.status, r.body)
					}
				}
			})
		})
	}
}

// TestMemoryBudget: instances are charged for the memory they have. Growth
// past seven eighths of the budget fails inside the guest (memory.grow
// returns -1, the exchange goes on); a route whose new instance does not
// fit in what is left waits and is refused with 503; a small route still
// runs; everything is given back when the exchanges end.
func TestMemoryBudget(t *testing.T) {
	const budget = 8 << 20
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			eng := e.New(t)
			b := wasm.NewMemoryBudget(budget)
			fresh := wasm.Fresh // what is charged is what exchanges use
			grow := mustHandler(t, eng, watModule(t, "growhold"), wasm.Options{Name: "grow", Logger: logger, Lifecycle: fresh, Memory: b, Limits: wasm.Limits{MemoryPages: 256}})
			hello := mustHandler(t, eng, watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger, Lifecycle: fresh, Memory: b})
			big := mustHandler(t, eng, watModule(t, "bigstart"), wasm.Options{Name: "big", Logger: logger, Lifecycle: fresh, Memory: b, Timeout: 300 * time.Millisecond})
			base := serveHTTP(t, logger, mount("/grow", grow), mount("/hello", hello), mount("/big", big))
			if n := b.Used(); n != 0 {
				t.Fatalf("%d bytes charged with no exchange running (fresh instances)", n)
			}
			if r := httpGet(t, base+"/big"); r.status != 200 || r.body != "big" {
				t.Fatalf("GET /big: %d %q", r.status, r.body)
			}

			body := newHeldBody(t)
			done := body.start(base + "/grow")
			growthLimit := int64(budget - budget/8)
			testutil.Eventually(t, "the guest growing to the budget", func() bool { return b.Used() > growthLimit-64<<10 })
			expectHealthy(t, base)
			if r := httpGet(t, base+"/big"); r.status != http.StatusServiceUnavailable {
				t.Fatalf("GET /big with the budget used up: %d %q, want 503", r.status, r.body)
			}
			if n := b.Used(); n > growthLimit {
				t.Fatalf("%d bytes charged, over the growth limit of %d", n, growthLimit)
			}
			body.end()
			r := wait(t, "the growing request", done)
			pages, _ := strconv.Atoi(strings.TrimPrefix(r.body, "pages="))
			if r.status != 200 || pages < 2 || pages >= 256 || pages*65536 > int(growthLimit) {
				t.Fatalf("growing request: %d %q: want 200 and growth stopped by the budget (under %d bytes), before the cap of 256 pages", r.status, r.body, growthLimit)
			}
			testutil.Eventually(t, "the memory given back", func() bool { return b.Used() == 0 })
			if r := httpGet(t, base+"/big"); r.status != 200 || r.body != "big" {
				t.Fatalf("GET /big after: %d %q", r.status, r.body)
			}
		})
	}
}

// TestPoolShrinks: a pool's idle instances are closed after
// PoolIdleTimeout, and their memory goes back to the budget.
func TestPoolShrinks(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			eng := &countingEngine{Engine: e.New(t)}
			b := wasm.NewMemoryBudget(1 << 30)
			h := mustHandler(t, eng, watModule(t, "growhold"), wasm.Options{Name: "pool", Logger: logger, Lifecycle: wasm.Pool, PoolSize: 4,
				PoolIdleTimeout: 100 * time.Millisecond, Memory: b, Limits: wasm.Limits{MemoryPages: 4}})
			base := serveHTTP(t, logger, mount("/pool", h))
			var bodies []*heldBody
			var dones []<-chan httpResult
			for range 4 {
				body := newHeldBody(t)
				bodies = append(bodies, body)
				dones = append(dones, body.start(base+"/pool"))
			}
			testutil.Eventually(t, "four instances grown", func() bool { return b.Used() >= 4*4*65536 })
			for _, body := range bodies {
				body.end()
			}
			for _, d := range dones {
				if r := wait(t, "a pooled request", d); r.status != 200 || r.body != "pages=4" {
					t.Fatalf("%d %q", r.status, r.body)
				}
			}
			testutil.Eventually(t, "the idle pool emptied", func() bool { return eng.closed.Load() == eng.made.Load() && b.Used() == 0 })
			if r := httpDo(t, "POST", base+"/pool", strings.NewReader(""), nil); r.status != 200 || r.body != "pages=4" {
				t.Fatalf("after the pool emptied: %d %q", r.status, r.body)
			}
		})
	}
}

// TestMemoryGivenBack: concurrent grow bombs cost their memory once (no
// copy of a growing memory, on the engines' high-water mark) and give it
// back to the operating system when they end (the process's resident
// size), on every engine. The bounds are generous; the figures are logged.
func TestMemoryGivenBack(t *testing.T) {
	const (
		n     = 4
		pages = 1024 // 64 MiB
		cap   = pages * 65536
	)
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			b := wasm.NewMemoryBudget(4 << 30)
			h := mustHandler(t, e.New(t), watModule(t, "growhold"), wasm.Options{Name: "bomb", Logger: logger, Memory: b, MaxConcurrency: n, Limits: wasm.Limits{MemoryPages: pages}})
			base := serveHTTP(t, logger, mount("/bomb", h))
			httpDo(t, "POST", base+"/bomb", strings.NewReader(""), nil) // warm up
			// What earlier tests left (Go heap, closed instances) is given
			// back first, so that it is not given back during the measure.
			debug.FreeOSMemory()
			peakReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
			before := procStatus(t, "VmRSS")
			var bodies []*heldBody
			var dones []<-chan httpResult
			for range n {
				body := newHeldBody(t)
				bodies = append(bodies, body)
				dones = append(dones, body.start(base+"/bomb"))
			}
			testutil.Eventually(t, "every bomb at its cap", func() bool { return b.Used() >= n*cap })
			during := procStatus(t, "VmRSS")
			for _, body := range bodies {
				body.end()
			}
			for _, d := range dones {
				if r := wait(t, "a bomb", d); r.status != 200 || r.body != fmt.Sprintf("pages=%d", pages) {
					t.Fatalf("%d %q", r.status, r.body)
				}
			}
			testutil.Eventually(t, "the budget given back", func() bool { return b.Used() == 0 })
			after := procStatus(t, "VmRSS")
			peak := procStatus(t, "VmHWM")
			t.Logf("%s, %d bombs of %d MiB: RSS %d MiB before, %d MiB with all grown, %d MiB after; peak %d MiB (reset: %v)",
				e.Name, n, cap>>20, before>>20, during>>20, after>>20, peak>>20, peakReset)
			// The bombs' memory is resident while they hold it: RSS with
			// them grown is above both the RSS before and the RSS after
			// (the lower of the two, in case other memory of the process
			// went away meanwhile) by most of it.
			if base := min(before, after); during < base+n*cap*3/4 {
				t.Fatalf("RSS %d MiB with %d bombs of %d MiB touched, %d MiB before, %d MiB after: the measure is wrong", during>>20, n, cap>>20, before>>20, after>>20)
			}
			if after > before+cap/2 {
				t.Errorf("RSS %d MiB after the bombs ended, %d MiB before: their memory was not given back", after>>20, before>>20)
			}
			if peakReset && peak > before+n*cap*5/4+cap/2 {
				t.Errorf("peak RSS %d MiB for %d bombs of %d MiB over %d MiB: growing copies memory", peak>>20, n, cap>>20, before>>20)
			}
		})
	}
}

// procStatus reads a kB field of /proc/self/status, in bytes.
func procStatus(t testing.TB, field string) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
