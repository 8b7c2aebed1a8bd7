package wasm_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin/wasmbintest"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// loadBudget bounds what loading one tiny hostile module may allocate on
// the host. Before the bounded reader, the 12-byte code section of issue 8
// made the rewriter allocate past 20 GB.
const loadBudget = 64 << 20

// TestLoadHostile loads the count bombs and the other hostile binaries on
// every engine: each is refused with the reader's error (naming the
// section and byte offset) or the engine's, within a bounded allocation,
// or — when only its name section is malformed — loaded without it.
func TestLoadHostile(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			for _, c := range wasmbintest.Hostile() {
				t.Run(c.Name, func(t *testing.T) {
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					err := load(engine, c.Bin)
					runtime.ReadMemStats(&after)
					if n := after.TotalAlloc - before.TotalAlloc; n > loadBudget {
						t.Errorf("loading %d bytes allocated %d MB", len(c.Bin), n>>20)
					}
					switch {
					case c.Names:
						if err != nil {
							t.Fatalf("a module whose only fault is its name section was refused: %v", err)
						}
					case c.Reader != "":
						if err == nil || !strings.Contains(err.Error(), "compile: malformed module: ") || !strings.Contains(err.Error(), c.Reader) {
							t.Fatalf("err = %v, want the reader's %q", err, c.Reader)
						}
					default:
						if err == nil || !strings.Contains(err.Error(), c.Load) {
							t.Fatalf("err = %v, want %q", err, c.Load)
						}
					}
					t.Logf("%v", err)
				})
			}
		})
	}
}

// TestRewriteRefusesNewIndices checks that a module naming what only the
// stack guard adds — the unguarded original of a function at index n+i,
// the stack counter global — is refused on every engine, because the
// original is validated before the rewrite (issue 8: such modules used to
// load and recurse to the engine's own ceiling, 1.1 GB with 8 requests).
// The same module calling index 0 instead is valid, loads, and its
// recursion is stopped by the guard.
func TestRewriteRefusesNewIndices(t *testing.T) {
	M, S, U := wasmbintest.Module, wasmbintest.Section, wasmbintest.U32
	valid := M(S(wasmbin.SecType, U(1), []byte{0x60, 0, 1, 0x7f}), S(wasmbin.SecFunction, U(1), U(0)),
		S(wasmbin.SecMemory, U(1), []byte{0}, U(1)),
		S(wasmbin.SecExport, U(2), wasmbintest.Name("memory"), []byte{2}, U(0), wasmbintest.Name("bubble_handle"), []byte{0}, U(0)),
		S(wasmbin.SecCode, U(1), U(4), []byte{0, 0x10, 0, 0x0b})) // call 0
	logger, logs := testutil.CaptureLogger(t)
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			for _, c := range wasmbintest.NewIndices() {
				t.Run(c.Name, func(t *testing.T) {
					err := load(engine, c.Bin)
					if err == nil || !strings.HasPrefix(err.Error(), "compile: invalid module: ") {
						t.Fatalf("err = %v, want the engine's validation error", err)
					}
					t.Logf("%v", err)
				})
			}
			t.Run("control: calls itself", func(t *testing.T) {
				h := mustHandler(t, engine, valid, wasm.Options{Name: "self", Logger: logger})
				base := serveHTTP(t, logger, mount("/self", h))
				if r := httpGet(t, base+"/self"); r.status != 500 {
					t.Fatalf("runaway recursion: %d %q, want 500", r.status, r.body)
				}
				waitLog(t, logs, "call stack exceeded the route's budget")
			})
		})
	}
}

// TestCustomSections checks that custom sections that one engine refuses
// and the other accepts — an empty last custom section (wazero refused
// it), a malformed name section — load on every engine: the host drops
// them before the engine sees the module.
func TestCustomSections(t *testing.T) {
	hello := watModule(t, "hello")
	S, U := wasmbintest.Section, wasmbintest.U32
	cases := []struct {
		name  string
		extra []byte
	}{
		{"empty last custom section", S(wasmbin.SecCustom, wasmbintest.Name("x"))},
		{"empty last custom section, empty name", S(wasmbin.SecCustom, wasmbintest.Name(""))},
		{"malformed name section", S(wasmbin.SecCustom, wasmbintest.Name("name"), []byte{1}, U(3), U(7), []byte{0, 0})},
		{"name section with a count bomb", S(wasmbin.SecCustom, wasmbintest.Name("name"), []byte{1}, U(5), U(1<<32-1))},
		{"two name sections", append(S(wasmbin.SecCustom, wasmbintest.Name("name"), []byte{0}, U(2), wasmbintest.Name("m")),
			S(wasmbin.SecCustom, wasmbintest.Name("name"), []byte{0}, U(2), wasmbintest.Name("n"))...)},
	}
	logger, _ := testutil.CaptureLogger(t)
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					bin := append(append([]byte(nil), hello...), c.extra...)
					h, err := wasm.New(context.Background(), engine, bin, wasm.Options{Name: "hello", Logger: logger})
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					t.Cleanup(func() { h.Close(context.Background()) })
					expectHealthy(t, serveHTTP(t, logger, mount("/hello", h)))
				})
			}
		})
	}
}

// TestReservedExport checks that a module cannot export a global of its
// own as the stack guard's counter, which the host reads to explain traps.
func TestReservedExport(t *testing.T) {
	bin := testutil.WAT(t, `(module (memory (export "memory") 1)
	  (global (export "bubblewasm.stack") (mut i32) (i32.const 0))
	  (func (export "bubble_handle") (result i32) (i32.const 0)))`)
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			err := load(e.New(t), bin)
			if err == nil || !strings.Contains(err.Error(), `export name "bubblewasm.stack" is reserved`) {
				t.Fatalf("err = %v, want the reserved export name refused", err)
			}
		})
	}
}
