//go:build cgo

package wasmtimeengine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/bubblewasm/bubblewasm/server/wasm"
)

func TestCondense(t *testing.T) {
	var frames strings.Builder
	for i := range 40 {
		fmt.Fprintf(&frames, "  %4d:   0x1d - <unknown>!<wasm function %d>\n", i, i)
	}
	for _, c := range []struct{ in, cause, trace string }{
		{"error while executing at wasm backtrace:\n    0:   0x1d - <unknown>!<wasm function 1>\n\nCaused by:\n    wasm trap: wasm `unreachable` instruction executed\n\nStack backtrace:\n   0: <unknown>\n",
			"wasm trap: wasm `unreachable` instruction executed", "\nwasm stack trace:\n\t0:   0x1d - <unknown>!<wasm function 1>"},
		{"error while executing at wasm backtrace:\n" + frames.String() + "\nCaused by:\n    call stack exhausted",
			"call stack exhausted", "\nwasm stack trace:\n\t0:   0x1d - <unknown>!<wasm function 0>"},
		{"failed to instantiate\n\nCaused by:\n    0: memory minimum size of 32 pages exceeds memory limits\n    1: limit reached",
			"failed to instantiate: memory minimum size of 32 pages exceeds memory limits: limit reached", ""},
		{"magic header not detected: bad magic number (at offset 0x0)", "magic header not detected: bad magic number (at offset 0x0)", ""},
	} {
		cause, trace := condense(c.in)
		if cause != c.cause || !strings.HasPrefix(trace, c.trace) {
			t.Errorf("condense(%q) =\n%q, %q\nwant %q, %q...", c.in, cause, trace, c.cause, c.trace)
		}
	}
	_, trace := condense("error while executing at wasm backtrace:\n" + frames.String() + "\nCaused by:\n    x")
	if n := strings.Count(trace, "\n\t"); n != maxFrames+1 || !strings.HasSuffix(trace, "\n\t... 10 more frames") {
		t.Errorf("40 frames kept as %d lines:%s", n, trace)
	}
}

// A trap is described from its code and frames, not from its text.
func TestDescribeTrap(t *testing.T) {
	engine := wasmtime.NewEngine()
	defer engine.Close()
	for _, c := range []struct{ name, body, cause, trace string }{
		{"unreachable", `(func (export "f") (unreachable))`,
			"wasm trap: wasm `unreachable` instruction executed", "\nwasm stack trace:\n\t0: 0x"},
		{"out of bounds", `(memory 1) (func (export "f") (drop (i32.load (i32.const 70000))))`,
			"wasm trap: out of bounds memory access", "\nwasm stack trace:\n\t0: 0x"},
		{"divide by zero", `(func (export "f") (drop (i32.div_u (i32.const 1) (i32.const 0))))`,
			"wasm trap: integer divide by zero", "\nwasm stack trace:\n\t0: 0x"},
		{"null element", `(table 1 funcref) (func (export "f") (call_indirect (i32.const 0)))`,
			"wasm trap: uninitialized element", "\nwasm stack trace:\n\t0: 0x"},
		{"recursion", `(func $f (export "f") (call $f))`,
			"wasm trap: call stack exhausted", "\nwasm stack trace:\n\t0: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin, err := wasmtime.Wat2Wasm("(module " + c.body + ")")
			if err != nil {
				t.Fatal(err)
			}
			mod, err := wasmtime.NewModule(engine, bin)
			if err != nil {
				t.Fatal(err)
			}
			store := wasmtime.NewStore(engine)
			defer store.Close()
			inst, err := wasmtime.NewInstance(store, mod, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = inst.GetFunc(store, "f").Call(store)
			cause, trace := describe(err)
			if cause != c.cause || !strings.HasPrefix(trace, c.trace) || strings.Count(trace, "\n\t") > maxFrames+1 {
				t.Fatalf("describe(%T) = %q, %q; want %q, %q...", err, cause, trace, c.cause, c.trace)
			}
			if c.name == "recursion" && !strings.HasSuffix(trace, " more frames") {
				t.Fatalf("a runaway recursion's trace is not bounded:%s", trace)
			}
		})
	}
}

// The handles of WASI output writers are released with their stores.
func TestOutputHandlesReleased(t *testing.T) {
	e, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	bin, err := wasmtime.Wat2Wasm(`(module
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32) (i32.const 0)))`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Compile(context.Background(), bin, wasm.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	before := outputs.Load()
	for range 100 {
		inst, err := m.Instantiate(context.Background(), wasm.InstanceConfig{Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		inst.Close(context.Background())
	}
	if n := outputs.Load() - before; n != 0 {
		t.Fatalf("%d output handles outlive their stores", n)
	}
}
