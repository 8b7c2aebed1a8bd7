// Package testutil holds what bubblewasm's tests share: building WAT
// sources with wat2wasm, the engine table every handler-level test runs on,
// servers started on loopback with their real addresses, bounded waits
// (Eventually) and captured logs (CaptureLogger).
package testutil

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/wasmtimeengine"
	"github.com/bubblewasm/bubblewasm/internal/wazeroengine"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// WAT compiles WebAssembly text to a binary with wat2wasm (Debian's wabt).
func WAT(t testing.TB, src string) []byte {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatalf("wat2wasm not found (Debian package wabt; `make deps` installs it): %v", err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(bin, "--enable-all", in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Engine is one entry of the engine table.
type Engine struct {
	Name string
	New  func(t testing.TB) wasm.Engine
	// NativeStack is the fixed native stack, in bytes, of an engine that
	// runs guests on the calling thread's stack (wasmtime), whatever the
	// route's max_stack; 0 when the engine grows a guest's stack on the heap
	// (wazero).
	NativeStack int
}

// Engines returns every engine that handler-level tests must pass on:
// wazero, and wasmtime when the build has cgo.
func Engines() []Engine {
	engines := []Engine{{
		Name: "wazero",
		New: func(t testing.TB) wasm.Engine {
			e, err := wazeroengine.New(testCacheDir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close(context.Background()) })
			return e
		},
	}}
	if wasmtimeengine.Available() {
		engines = append(engines, Engine{
			Name:        "wasmtime",
			NativeStack: wasmtimeengine.MaxWasmStack(),
			New: func(t testing.TB) wasm.Engine {
				e, err := wasmtimeengine.New(testCacheDir)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { e.Close(context.Background()) })
				return e
			},
		})
	}
	return engines
}

// testCacheDir is the compilation cache the test engines share.
var testCacheDir = filepath.Join(os.TempDir(), "bubblewasm-test-cache")

// Logger returns a logger that writes to the test's log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// Serve binds addr ("tcp://127.0.0.1:0", "unix:///...") with the named
// transport over h and serves until the test ends. It returns the bound
// address.
func Serve(t testing.TB, addr, transportName string, h server.Handler, opts transport.Options) server.Address {
	t.Helper()
	l := Listen(t, addr)
	ServeListener(t, l, transportName, h, opts)
	return server.ListenerAddress(l)
}

// Dial connects to a test server.
func Dial(t testing.TB, a server.Address) net.Conn {
	t.Helper()
	c, err := a.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
