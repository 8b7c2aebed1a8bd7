package app

import (
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// countingEngine is a real engine that counts the modules it compiles and
// closes, and how many compilations run at once.
type countingEngine struct {
	wasm.Engine
	compiles, closes  atomic.Int32
	inside, maxInside atomic.Int32
	// barrier, when set, holds the compilations until that many run at
	// once (or 20 s pass: then the test fails on maxInside).
	barrier int32
	arrived chan struct{}
	once    sync.Once
}

func (e *countingEngine) Compile(ctx context.Context, bin []byte, limits wasm.Limits) (wasm.Module, error) {
	e.compiles.Add(1)
	n := e.inside.Add(1)
	defer e.inside.Add(-1)
	for {
		m := e.maxInside.Load()
		if n <= m || e.maxInside.CompareAndSwap(m, n) {
			break
		}
	}
	if e.barrier > 0 {
		if n >= e.barrier {
			e.once.Do(func() { close(e.arrived) })
		}
		select {
		case <-e.arrived:
		case <-time.After(20 * time.Second): // loading is not parallel: let every compilation through
			e.once.Do(func() { close(e.arrived) })
		}
	}
	m, err := e.Engine.Compile(ctx, bin, limits)
	if err != nil {
		return nil, err
	}
	return &countingModule{Module: m, closes: &e.closes}, nil
}

type countingModule struct {
	wasm.Module
	closes *atomic.Int32
}

func (m *countingModule) Close(ctx context.Context) error {
	m.closes.Add(1)
	return m.Module.Close(ctx)
}

// helloWAT is a handler with named functions and calls, so that the stack
// guard rewrites it and a name section is re-encoded; greeting makes
// distinct modules.
//
// The greeting's checksum is also a constant in the code: under the
// snapshot lifecycle the data segment is written by the host, not
// compiled, so modules that differ only in their data compile to the same
// code (and share it).
func helloWAT(t testing.TB, greeting string) []byte {
	return testutil.WAT(t, fmt.Sprintf(`(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) %q)
  (func $say (param $n i32) (result i32) (call $write (i32.const 0) (local.get $n)))
  (func (export "bubble_handle") (result i32)
    (drop (call $say (i32.const %d)))
    (drop (i32.const %d))
    (i32.const 0)))`, greeting, len(greeting), crc32.ChecksumIEEE([]byte(greeting))))
}

// Routes that serve the same module with the same limits share one
// compilation, even when they ask at once; other limits compile again; the
// compiled module closes with the last route's hold on it; a failed
// compilation is not kept.
func TestSharedEngineCompilesOnce(t *testing.T) {
	for _, eng := range testutil.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			ctx := context.Background()
			counted := &countingEngine{Engine: eng.New(t)}
			e := newSharedEngine(counted)
			bin := helloWAT(t, "shared\n")
			limits := wasm.Limits{MemoryPages: 16}
			mods := make([]wasm.Module, 8)
			errs := make([]error, len(mods))
			var wg sync.WaitGroup
			for i := range mods {
				wg.Go(func() { mods[i], errs[i] = e.Compile(ctx, bin, limits) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := counted.compiles.Load(); n != 1 {
				t.Errorf("8 routes of one module: compiled %d times, want 1", n)
			}
			other, err := e.Compile(ctx, bin, wasm.Limits{MemoryPages: 32})
			if err != nil {
				t.Fatal(err)
			}
			if n := counted.compiles.Load(); n != 2 {
				t.Errorf("other limits: compiled %d times in all, want 2", n)
			}
			// Each hold instantiates and serves on its own.
			for _, m := range []wasm.Module{mods[0], mods[7], other} {
				inst, err := m.Instantiate(ctx, wasm.InstanceConfig{})
				if err != nil {
					t.Fatal(err)
				}
				inst.Close(ctx)
			}
			for i, m := range mods {
				m.Close(ctx)
				m.Close(ctx) // twice: released once
				if got, want := counted.closes.Load(), int32(0); i < len(mods)-1 && got != want {
					t.Fatalf("after %d of 8 closes: the compiled module was closed %d times", i+1, got)
				}
			}
			if n := counted.closes.Load(); n != 1 {
				t.Errorf("after the last close: compiled module closed %d times, want 1", n)
			}
			other.Close(ctx)
			// The entry went with the last hold: compiling again compiles.
			again, err := e.Compile(ctx, bin, limits)
			if err != nil {
				t.Fatal(err)
			}
			again.Close(ctx)
			if n := counted.compiles.Load(); n != 3 {
				t.Errorf("after every hold closed: compiled %d times in all, want 3", n)
			}
			// Hostile: a module the engine refuses fails every route that
			// asks, and is not remembered as failed.
			bad := []byte("\x00asm\x01\x00\x00\x00\x01\xff\xff\xff\xff\x0f")
			for range 2 {
				if _, err := e.Compile(ctx, bad, limits); err == nil {
					t.Fatal("a malformed module compiled")
				}
			}
			if n := counted.compiles.Load(); n != 5 {
				t.Errorf("two compiles of a bad module: %d compiles in all, want 5", n)
			}
		})
	}
}

// New loads routes in parallel, up to GOMAXPROCS at once: with four
// modules and two procs, two compilations run together (the engine holds
// each until a second arrives) and never more than two; the routes and
// their errors keep the configuration's order.
func TestLoadRoutesInParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	dir := t.TempDir()
	var body strings.Builder
	for i, name := range []string{"a", "b", "c", "d"} {
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), helloWAT(t, "route "+name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&body, "[[route]]\nname = %q\nmatch = { PATH_INFO = \"/%s\" }\nmodule = %q\n\n", name, name, name+".wasm")
		if i == 1 {
			body.WriteString("[[route]]\nname = \"broken\"\nmodule = \"missing.wasm\"\n\n")
		}
	}
	path := filepath.Join(dir, "bubble.toml")
	cfgText := fmt.Sprintf("cache_dir = %q\n[[listener]]\naddress = \"tcp://127.0.0.1:0\"\n\n%s", t.TempDir(), body.String())
	if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadWith(path, config.Options{ValidatePattern: func(s string) error { _, err := server.ParsePattern(s); return err }})
	if err != nil {
		t.Fatal(err)
	}
	var counted *countingEngine
	opts := Options{newEngine: func(name, dir string) (wasm.Engine, error) {
		e, err := NewEngine(name, dir)
		if err != nil {
			return nil, err
		}
		counted = &countingEngine{Engine: e, barrier: 2, arrived: make(chan struct{})}
		return counted, nil
	}}
	_, err = New(context.Background(), cfg, opts)
	if err == nil || !strings.Contains(err.Error(), "route broken") || !strings.Contains(err.Error(), "missing.wasm") {
		t.Fatalf("err = %v, want the broken route's error", err)
	}
	if n := counted.maxInside.Load(); n != 2 {
		t.Errorf("at most %d compilations at once, want 2 (GOMAXPROCS)", n)
	}

	// Without the broken route, the routes keep their order although the
	// repeat of a.wasm loads last: "all" (a.wasm again, matching every
	// path) comes before b, c and d, so it answers /b.
	cfg.Routes = slices.DeleteFunc(cfg.Routes, func(r config.Route) bool { return r.Name == "broken" })
	all := cfg.Routes[0]
	all.Name, all.Match = "all", map[string]string{"PATH_INFO": "/*"}
	cfg.Routes = slices.Insert(cfg.Routes, 1, all)
	a, err := New(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	for path, want := range map[string]string{"/a": "route a\n", "/b": "route a\n", "/d": "route a\n"} {
		var out strings.Builder
		x := &server.Exchange{Env: server.Env{"PATH_INFO": path}, Reader: strings.NewReader(""), Writer: server.NewStreamWriter(&out)}
		if err := a.routes.Load().router.Serve(context.Background(), x); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if out.String() != want {
			t.Errorf("%s: %q, want %q", path, out.String(), want)
		}
	}
}
