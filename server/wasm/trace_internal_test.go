package wasm

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
)

func TestTrimTrace(t *testing.T) {
	cause := errors.New("cause")
	cases := []struct{ name, in, want string }{
		{"wazero", "wasm error: unreachable\nwasm stack trace:\n\t.f() i32\n\t.bubblewasm.guard() i32\n\t.g() i32\n\t.bubblewasm.guard() i32",
			"wasm error: unreachable\nwasm stack trace:\n\t.f() i32\n\t.g() i32"},
		{"wasmtime", "wasm trap: x\nwasm stack trace:\n\t0: 0x1d - <unknown>!f\n\t1: 0x30 - <unknown>!bubblewasm.guard\n\t2: 0x40 - <unknown>!g\n\t3: 0x50 - <unknown>!bubblewasm.guard",
			"wasm trap: x\nwasm stack trace:\n\t0: 0x1d - <unknown>!f\n\t1: 0x40 - <unknown>!g"},
		{"go fatal panic, wazero", "wasm error: unreachable\nwasm stack trace:\n\t.runtime.abort(i32) i32\n\t.bubblewasm.guard(i32) i32\n\t.runtime.fatalpanic(i32) i32\n\t.main.f(i32) i32",
			"wasm error: unreachable (Go panic: its goroutine trace is in the guest's stderr)"},
		{"go fatal error, wasmtime", "wasm trap: x\nwasm stack trace:\n\t0: 0x1d - <unknown>!runtime.abort\n\t1: 0x30 - <unknown>!runtime.fatalthrow",
			"wasm trap: x (Go panic: its goroutine trace is in the guest's stderr)"},
		{"no guard", "wasm error: unreachable\nwasm stack trace:\n\t.f() i32", "wasm error: unreachable\nwasm stack trace:\n\t.f() i32"},
		{"no trace", "exit status 3", "exit status 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := trimTrace(fmt.Errorf("%w: %s", cause, tc.in))
			if got := err.Error(); got != "cause: "+tc.want {
				t.Fatalf("got %q, want %q", got, "cause: "+tc.want)
			}
			if !errors.Is(err, cause) {
				t.Fatal("errors.Is lost the cause")
			}
		})
	}
	if trimTrace(nil) != nil {
		t.Fatal("nil is not nil")
	}
}

func TestMovedNames(t *testing.T) {
	// Two imports (0 named), three defined functions (3 named): wrappers
	// at 2..4, originals at 5..7.
	names := &wasmbin.Names{Module: "m", HasModule: true, Funcs: []wasmbin.NameAssoc{{Index: 0, Name: "imp"}, {Index: 3, Name: "f"}, {Index: 9, Name: "past"}}}
	want := &wasmbin.Names{Module: "m", HasModule: true, Funcs: []wasmbin.NameAssoc{
		{Index: 0, Name: "imp"},
		{Index: 2, Name: GuardFrame}, {Index: 3, Name: GuardFrame}, {Index: 4, Name: GuardFrame},
		{Index: 5, Name: "$2"}, {Index: 6, Name: "f"}, {Index: 7, Name: "$4"},
	}}
	if got := movedNames(names, 2, 3); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// A module without names: every function gets one.
	want = &wasmbin.Names{Funcs: []wasmbin.NameAssoc{{Index: 1, Name: GuardFrame}, {Index: 2, Name: "$1"}}}
	if got := movedNames(nil, 1, 1); !reflect.DeepEqual(got, want) {
		t.Fatalf("no names: got %+v\nwant %+v", got, want)
	}
}
