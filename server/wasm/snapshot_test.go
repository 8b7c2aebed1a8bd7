package wasm_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// The two tenants of the isolation test: A's body is a secret that must
// never reach B.
const (
	secretA = "SECRET-token-of-user-A"
	publicB = "public-request-of-user-B"
)

// leakCase is a module that carries one exchange's data into the next on
// a reused instance, and the answer it gives to an exchange that sees no
// earlier one.
type leakCase struct {
	module string
	fresh  string // the answer on an instance no exchange used before
	// leaks is whether the Pool lifecycle shows the leak (the control that
	// proves the test can see one).
	leaks bool
}

var leakCases = []leakCase{
	{module: "leakglobal", fresh: "none", leaks: true},
	{module: "leakmem", fresh: "none", leaks: true},
	{module: "growleak", fresh: "pages=1", leaks: true},
	// Fixed on every lifecycle (Limits.FixedStdio): a closed stdout
	// cannot survive into the next exchange even in a pool.
	{module: "closestdout", fresh: "write=00 close=58"},
}

// tenants serves n requests alternating between tenants A and B from
// workers concurrent clients, and returns every answer B got and the
// number of answers that differed from fresh.
func tenants(t *testing.T, url string, n, workers int, fresh string) (leakedToB []string, notFresh int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				body := secretA
				if i%2 == 1 {
					body = publicB
				}
				r, err := httpDoErr("POST", url, strings.NewReader(body), nil)
				if err == nil && r.status != 200 {
					err = fmt.Errorf("request %d: %d %q", i, r.status, r.body)
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if r.body != fresh {
					notFresh++
				}
				if body == publicB && strings.Contains(r.body, "user-A") {
					leakedToB = append(leakedToB, r.body)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return leakedToB, notFresh
}

// TestSnapshotIsolation serves 10,000 requests alternating between two
// tenants to modules that keep the last request's body in globals, in
// memory, in a page they grow, or close their stdout, on every engine: on
// the snapshot lifecycle (the default) every answer is the one a fresh
// instance gives and tenant A's secret never reaches tenant B, while
// instances are reused. The same requests on the pool lifecycle show the
// leak, which proves the test would catch one.
func TestSnapshotIsolation(t *testing.T) {
	const requests = 10_000
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, c := range leakCases {
				t.Run(c.module, func(t *testing.T) {
					logger, _ := testutil.CaptureLogger(t)
					eng := &countingEngine{Engine: e.New(t)}
					snap := mustHandler(t, eng, watModule(t, c.module), wasm.Options{Name: "snap", Logger: logger, MaxConcurrency: 4})
					if got := snap.Lifecycle(); got != wasm.Snapshot {
						t.Fatalf("default lifecycle %q, want snapshot", got)
					}
					pool := mustHandler(t, e.New(t), watModule(t, c.module), wasm.Options{Name: "pool", Logger: logger, Lifecycle: wasm.Pool, MaxConcurrency: 1})
					base := serveHTTP(t, logger, mount("/snap", snap), mount("/pool", pool))

					leaked, notFresh := tenants(t, base+"/snap", requests, 4, c.fresh)
					if len(leaked) > 0 || notFresh > 0 {
						t.Fatalf("snapshot: %d answers were not a fresh instance's %q; tenant B saw tenant A's data %d times, e.g. %q", notFresh, c.fresh, len(leaked), leaked[:min(1, len(leaked))])
					}
					made := eng.made.Load()
					t.Logf("snapshot: %d requests, %d instances made", requests, made)
					if c.module != "growleak" && made > 16 {
						t.Errorf("snapshot made %d instances for %d requests on 4 connections: instances are not reused", made, requests)
					}

					leaked, notFresh = tenants(t, base+"/pool", 20, 1, c.fresh)
					switch {
					case c.leaks && (len(leaked) == 0 || notFresh == 0):
						t.Fatalf("pool: no leak seen (%d answers not fresh): the test cannot catch one", notFresh)
					case !c.leaks && notFresh > 0:
						t.Fatalf("pool: %d answers were not %q", notFresh, c.fresh)
					}
				})
			}
		})
	}
}

// TestSnapshotKeepsInitialization checks that what every step of
// initialization did — a data segment, the start function, _initialize,
// bubble_init — is what every exchange starts from, that initialization
// ran once for the route (not per instance), and that nothing an exchange
// changes survives it.
func TestSnapshotKeepsInitialization(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, logs := testutil.CaptureLogger(t)
			eng := &countingEngine{Engine: e.New(t)}
			h := mustHandler(t, eng, watModule(t, "initstate"), wasm.Options{Name: "init", Logger: logger, Lifecycle: wasm.Snapshot, MaxConcurrency: 2})
			base := serveHTTP(t, logger, mount("/init", h))
			for i := range 50 {
				if r := httpGet(t, base+"/init"); r.status != 200 || r.body != "started=42 data=initial" {
					t.Fatalf("request %d: %d %q", i, r.status, r.body)
				}
			}
			if n := strings.Count(logs.String(), "init ran"); n != 1 {
				t.Fatalf("bubble_init ran %d times, want once (for the snapshot)", n)
			}
		})
	}
}

// TestSnapshotRefusesWhatItCannotCapture checks that a module whose code
// changes a table is refused when the route asks for snapshot, with the
// reason, and served fresh (with a log line) when snapshot is only the
// default — and that fresh instances do not leak its table either.
func TestSnapshotRefusesWhatItCannotCapture(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, logs := testutil.CaptureLogger(t)
			bin := watModule(t, "tableset")
			_, err := wasm.New(context.Background(), e.New(t), bin, wasm.Options{Name: "asked", Logger: logger, Lifecycle: wasm.Snapshot})
			if err == nil || !strings.Contains(err.Error(), `instances = "snapshot"`) || !strings.Contains(err.Error(), "changes table 0 (instruction 0x26") {
				t.Fatalf("asked for snapshot: err = %v, want a refusal naming table.set", err)
			}
			h := mustHandler(t, e.New(t), bin, wasm.Options{Name: "default", Logger: logger})
			if h.Lifecycle() != wasm.Fresh {
				t.Fatalf("default lifecycle of a table-changing module: %q, want fresh", h.Lifecycle())
			}
			waitLog(t, logs, "cannot be snapshotted", "changes table 0")
			base := serveHTTP(t, logger, mount("/t", h))
			for i := range 4 {
				if r := httpGet(t, base+"/t"); r.status != 200 || r.body != "A" {
					t.Fatalf("request %d: %d %q, want A every time", i, r.status, r.body)
				}
			}
		})
	}
}

// TestSnapshotReservedNames checks that a module that exports a name the
// snapshot rewrite adds is not snapshotted.
func TestSnapshotReservedNames(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			bin := testutil.WAT(t, `(module
  (memory (export "memory") 1)
  (global $g (export "bubblewasm.global.0") (mut i32) (i32.const 0))
  (func (export "bubble_handle") (result i32) (i32.const 0)))`)
			_, err := wasm.New(context.Background(), e.New(t), bin, wasm.Options{Lifecycle: wasm.Snapshot})
			if err == nil || !strings.Contains(err.Error(), `names beginning with "bubblewasm." are the host's`) {
				t.Fatalf("err = %v, want the reserved prefix refused", err)
			}
		})
	}
}

// TestSnapshotDataOutOfBounds checks that an active data segment outside
// the memory fails the load as the engine's own instantiation would, when
// the host writes the segments itself.
func TestSnapshotDataOutOfBounds(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			bin := testutil.WAT(t, `(module
  (memory (export "memory") 1)
  (data (i32.const 65530) "0123456789")
  (func (export "bubble_handle") (result i32) (i32.const 0)))`)
			_, err := wasm.New(context.Background(), e.New(t), bin, wasm.Options{Lifecycle: wasm.Snapshot})
			if err == nil || !strings.Contains(err.Error(), "out of bounds memory access") {
				t.Fatalf("err = %v, want an out of bounds data segment", err)
			}
		})
	}
}
