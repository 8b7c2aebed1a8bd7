package wasm_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// residentModule is testdata/initstate.wat with its data segment naming
// the route (7 bytes, as "initial"): every route gets a distinct binary,
// and a fresh or snapshot instance answers "started=42 data=NAME".
func residentModule(t testing.TB, name string) []byte {
	t.Helper()
	if len(name) != 7 {
		t.Fatalf("name %q: want 7 bytes", name)
	}
	src := strings.Replace(string(watSource(t, "initstate")), `"started=   data=initial"`, `"started=   data=`+name+`"`, 1)
	return testutil.WAT(t, src)
}

// watSource reads testdata/NAME.wat.
func watSource(t testing.TB, name string) []byte {
	t.Helper()
	src, err := os.ReadFile("testdata/" + name + ".wat")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// bodyWriter keeps what an exchange writes.
type bodyWriter struct {
	header http.Header
	body   strings.Builder
}

func (w *bodyWriter) Write(p []byte) (int, error) { return w.body.Write(p) }
func (w *bodyWriter) Header() http.Header         { return w.header }
func (w *bodyWriter) SetStatus(int) bool          { return w.body.Len() == 0 }
func (w *bodyWriter) Committed() bool             { return w.body.Len() > 0 }
func (w *bodyWriter) Flush() error                { return nil }

// serveBody runs one exchange of h and returns its body.
func serveBody(ctx context.Context, h *wasm.Handler) (string, error) {
	w := &bodyWriter{header: http.Header{}}
	err := serveOnce(ctx, h, "", w)
	return w.body.String(), err
}

func newResidency(t testing.TB, max int) *wasm.Residency {
	t.Helper()
	r, err := wasm.NewResidency(max, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestResidencyUnloadsLeastRecentlyUsed: with one module resident, serving
// route B unloads A (closing A's idle instances), and A's next exchange
// loads it again and answers as a freshly initialized instance does, on
// every engine and lifecycle.
func TestResidencyUnloadsLeastRecentlyUsed(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			for _, lc := range allLifecycles {
				t.Run(string(lc), func(t *testing.T) {
					ctx := context.Background()
					r := newResidency(t, 1)
					a := mustHandler(t, engine, residentModule(t, "route-A"), wasm.Options{Name: "a", Lifecycle: lc, Residency: r})
					b := mustHandler(t, engine, residentModule(t, "route-B"), wasm.Options{Name: "b", Lifecycle: lc, Residency: r})
					if got := a.Stats().Evictions; got != 1 {
						t.Fatalf("loading b: a's evictions = %d, want 1 (one resident)", got)
					}
					want := map[*wasm.Handler]string{a: "started=42 data=route-A", b: "started=42 data=route-B"}
					var last *wasm.Handler
					for i, h := range []*wasm.Handler{a, a, b, a, b, b, a} {
						w := want[h]
						if lc == wasm.Pool && h == last {
							w = "started=99 data=XXXXXXX" // the pooled instance, as the last exchange left it
						}
						last = h
						body, err := serveBody(ctx, h)
						if err != nil || body != w {
							t.Fatalf("exchange %d: %q, %v; want %q", i, body, err, w)
						}
						if n := r.Loaded(); n != 1 {
							t.Fatalf("exchange %d: %d loaded, want 1", i, n)
						}
					}
					// a: evicted by b's New, restored by exchange 0, evicted by 2,
					// restored by 3, evicted by 4, restored by 6; b: restored by 2
					// and 4, evicted by 0, 3 and 6.
					sa, sb := a.Stats(), b.Stats()
					if sa.Restores != 3 || sa.Evictions != 3 || sb.Restores != 2 || sb.Evictions != 3 {
						t.Fatalf("a %+v, b %+v: want a 3 restores and 3 evictions, b 2 and 3", sa, sb)
					}
					if lc != wasm.Fresh && (b.Idle() != 0 || a.Idle() != 1) {
						t.Fatalf("idle instances: a %d, b %d; want 1 and 0 (an unloaded route keeps none)", a.Idle(), b.Idle())
					}
				})
			}
		})
	}
}

// TestResidencyCGI: a CGI command's module is unloaded and loaded again
// like any other.
func TestResidencyCGI(t *testing.T) {
	command := `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Content-Type: text/plain\n\nhi from %s\n")
  (data (i32.const 0) "\10\00\00\00\27\00\00\00")
  (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			r := newResidency(t, 1)
			var hs []*wasm.Handler
			for _, name := range []string{"cgi1", "cgi2"} {
				hs = append(hs, mustHandler(t, engine, testutil.WAT(t, fmt.Sprintf(command, name)), wasm.Options{Name: name, ABI: wasm.ABIAuto, Residency: r}))
			}
			for i := range 4 {
				h := hs[i%2]
				body, err := serveBody(context.Background(), h)
				if want := fmt.Sprintf("hi from cgi%d\n", i%2+1); err != nil || body != want {
					t.Fatalf("exchange %d: %q, %v; want %q", i, body, err, want)
				}
			}
			// cgi1: evicted by cgi2's New and by exchanges 1 and 3.
			if s := hs[0].Stats(); s.Restores != 2 || s.Evictions != 3 {
				t.Fatalf("cgi1: %+v, want 2 restores and 3 evictions", s)
			}
		})
	}
}

// TestResidencyConcurrent: exchanges on more routes than may be resident,
// at once, all get their own route's answer; no module is unloaded under
// a running exchange (the race detector and the answers would show it),
// and once they are over at most the limit stays loaded.
func TestResidencyConcurrent(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			r := newResidency(t, 2)
			var hs []*wasm.Handler
			for i := range 5 {
				hs = append(hs, mustHandler(t, engine, residentModule(t, fmt.Sprintf("route-%d", i)), wasm.Options{Name: fmt.Sprint(i), Residency: r, Timeout: time.Minute}))
			}
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for w := range 8 {
				wg.Go(func() {
					rnd := rand.New(rand.NewPCG(uint64(w), 1))
					for range 40 {
						i := rnd.IntN(len(hs))
						body, err := serveBody(context.Background(), hs[i])
						if want := fmt.Sprintf("started=42 data=route-%d", i); err != nil || body != want {
							errs <- fmt.Errorf("route %d: %q, %v; want %q", i, body, err, want)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := r.Loaded(); n > 2 {
				t.Fatalf("%d loaded after the exchanges, want at most 2", n)
			}
			var restores uint64
			for _, h := range hs {
				restores += h.Stats().Restores
			}
			if restores == 0 {
				t.Fatal("no module was loaded again: the test did not exercise eviction")
			}
		})
	}
}

// TestResidencyLoadOutlivesLeavingClient: an exchange whose client leaves
// while its route's module loads again gets an error; the load completes
// and serves the next exchange.
func TestResidencyLoadOutlivesLeavingClient(t *testing.T) {
	engine := testutil.Engines()[0].New(t)
	r := newResidency(t, 1)
	a := mustHandler(t, engine, residentModule(t, "route-A"), wasm.Options{Name: "a", Residency: r})
	mustHandler(t, engine, residentModule(t, "route-B"), wasm.Options{Name: "b", Residency: r})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := serveBody(ctx, a); err == nil {
		t.Fatal("an exchange whose context had ended succeeded")
	}
	body, err := serveBody(context.Background(), a)
	if err != nil || body != "started=42 data=route-A" {
		t.Fatalf("next exchange: %q, %v", body, err)
	}
}

// TestResidencySpillCorrupted: a binary that does not read back as it was
// spilled (a changed file, a failing disk) fails the exchange with an
// error that says so, and never runs other code.
func TestResidencySpillCorrupted(t *testing.T) {
	engine := testutil.Engines()[0].New(t)
	r := newResidency(t, 1)
	a := mustHandler(t, engine, residentModule(t, "route-A"), wasm.Options{Name: "a", Residency: r})
	mustHandler(t, engine, residentModule(t, "route-B"), wasm.Options{Name: "b", Residency: r})
	if err := wasm.CorruptSpilled(a); err != nil {
		t.Fatal(err)
	}
	_, err := serveBody(context.Background(), a)
	if !errors.Is(err, server.ErrHandlerFailed) || !strings.Contains(err.Error(), "differ from those loaded") {
		t.Fatalf("err = %v, want a handler failure naming the spilled bytes", err)
	}
}

// TestNewResidencyRefuses: a limit below one and a spill directory that
// does not exist.
func TestNewResidencyRefuses(t *testing.T) {
	for _, c := range []struct {
		max  int
		dir  string
		want string
	}{
		{0, t.TempDir(), "at least 1"},
		{-5, t.TempDir(), "at least 1"},
		{1, t.TempDir() + "/missing", "spill file"},
	} {
		r, err := wasm.NewResidency(c.max, c.dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			if r != nil {
				r.Close()
			}
			t.Errorf("NewResidency(%d, %q) = %v, want an error containing %q", c.max, c.dir, err, c.want)
		}
	}
}

// TestResidencyBoundsLoads: while every place among the loads allowed at
// once is taken, an exchange on an unloaded route waits within its
// timeout, then is refused as overloaded (503), and a route whose module
// is loaded is served meanwhile; once a place is free the unloaded route
// loads and answers.
func TestResidencyBoundsLoads(t *testing.T) {
	engine := testutil.Engines()[0].New(t)
	r := newResidency(t, 1)
	a := mustHandler(t, engine, residentModule(t, "route-A"), wasm.Options{Name: "a", Residency: r, Timeout: 100 * time.Millisecond})
	b := mustHandler(t, engine, residentModule(t, "route-B"), wasm.Options{Name: "b", Residency: r, Timeout: time.Minute})
	release := r.HoldLoads()
	_, err := serveBody(context.Background(), a)
	if !errors.Is(err, server.ErrOverloaded) || !strings.Contains(err.Error(), "no place to load") {
		t.Fatalf("unloaded route with no load place: err = %v, want overloaded", err)
	}
	if body, err := serveBody(context.Background(), b); err != nil || body != "started=42 data=route-B" {
		t.Fatalf("loaded route meanwhile: %q, %v", body, err)
	}
	release()
	if body, err := serveBody(context.Background(), a); err != nil || body != "started=42 data=route-A" {
		t.Fatalf("after a place was freed: %q, %v", body, err)
	}
}
