package wasm

import (
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
)

// guardedWAT exercises everything that refers to function indices: imports
// before the defined functions, call, call_indirect through an element
// segment, ref.func with a declarative segment, the start function, exports,
// imported and defined globals, and a name section.
const guardedWAT = `(module $m
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (import "genv" "base" (global $base i32))
  (type $unop (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $started (mut i32) (i32.const 0))
  (table 2 funcref)
  (elem (i32.const 0) $inc $dec)
  (elem declare func $inc)
  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $dec (param i32) (result i32) (i32.sub (local.get 0) (i32.const 1)))
  (func $init (global.set $started (i32.const 1)))
  (start $init)
  (func $fact (export "fact") (param $n i64) (result i64)
    (if (result i64) (i64.le_u (local.get $n) (i64.const 1))
      (then (i64.const 1))
      (else (i64.mul (local.get $n) (call $fact (i64.sub (local.get $n) (i64.const 1)))))))
  (func $down (export "down") (param $n i32) (result i32)
    (local $pad1 i64) (local $pad2 i64)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "mix") (param $x i32) (result i32)
    (drop (ref.func $inc))
    (i32.add
      (i32.add (call_indirect (type $unop) (local.get $x) (i32.const 0))
               (call_indirect (type $unop) (local.get $x) (i32.const 1)))
      (i32.add (call $twice (local.get $x)) (i32.add (global.get $base) (global.get $started))))))`

func instantiate(t testing.TB, bin []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	_, err := rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(x uint32) uint32 { return 2 * x }).Export("twice").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A global import needs a module that exports one.
	if _, err := rt.InstantiateWithConfig(ctx, wat2wasm(t, `(module (global (export "base") i32 (i32.const 100)))`),
		wazero.NewModuleConfig().WithName("genv")); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, bin)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	if f := mod.ExportedFunction(StartExport); f != nil { // the rewrite exported the start function
		if _, err := f.Call(ctx); err != nil {
			t.Fatalf("%s: %v", StartExport, err)
		}
	}
	return mod
}

func call(t testing.TB, m api.Module, name string, args ...uint64) (uint64, error) {
	t.Helper()
	res, err := m.ExportedFunction(name).Call(context.Background(), args...)
	if err != nil {
		return 0, err
	}
	return res[0], nil
}

// guard applies the load-time rewrites to a valid module with a stack
// budget.
func guard(t testing.TB, bin []byte, budget uint32) []byte {
	t.Helper()
	m, err := wasmbin.Parse(bin)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := rewrite(m, Limits{TableElements: DefaultTableElements, StackBytes: budget}, false)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGuardStackKeepsBehaviour(t *testing.T) {
	plain := wat2wasm(t, guardedWAT)
	guarded := guard(t, plain, 1<<20)
	for _, tc := range []struct {
		fn   string
		arg  uint64
		want uint64
	}{
		// 7+1 + 7-1 + 14 + 100 + 1 (the start function ran)
		{"mix", 7, 129},
		{"fact", 10, 3628800},
		{"down", 1000, 1000},
	} {
		for name, bin := range map[string][]byte{"plain": plain, "guarded": guarded} {
			got, err := call(t, instantiate(t, bin), tc.fn, tc.arg)
			if err != nil || got != tc.want {
				t.Errorf("%s %s(%d) = %d, %v; want %d", name, tc.fn, tc.arg, got, err, tc.want)
			}
		}
	}
	m := instantiate(t, guarded)
	if g := m.ExportedGlobal(StackGlobal); g == nil || g.Get() != 0 {
		t.Fatalf("the stack global is not exported or not back at 0 after the start function")
	}
	// Function names move with the originals; the exports are wrappers,
	// named for trimTrace.
	for _, f := range m.ExportedFunctionDefinitions() {
		if f.DebugName() != "m."+GuardFrame {
			t.Errorf("export %v is named %q, want m.%s", f.ExportNames(), f.DebugName(), GuardFrame)
		}
	}
	parsed, err := wasmbin.Parse(guarded)
	if err != nil || parsed.Names == nil {
		t.Fatalf("the guarded module has no name section: %v", err)
	}
	names := map[string]bool{}
	for _, f := range parsed.Names.Funcs {
		if f.Index >= parsed.Imported(wasmbin.KindFunc)+uint32(len(parsed.Funcs))/2 {
			names[f.Name] = true
		}
	}
	if !names["fact"] || !names["down"] {
		t.Errorf("function names lost: %v", names)
	}
}

func TestGuardStackStopsRecursion(t *testing.T) {
	// down has 1 parameter and 2 locals: 64 + 8*3 = 88 estimated bytes a frame.
	guarded := guard(t, wat2wasm(t, guardedWAT), 88*500)
	m := instantiate(t, guarded)
	if got, err := call(t, m, "down", 499); err != nil || got != 499 {
		t.Fatalf("down(499) = %d, %v; want 499 within the budget", got, err)
	}
	if _, err := call(t, m, "down", 500); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("down(500) past the budget: err = %v, want an unreachable trap", err)
	}
	if g := m.ExportedGlobal(StackGlobal).Get(); g <= 88*500 {
		t.Fatalf("after the trap the stack global holds %d, want more than the budget", g)
	}
}

// BenchmarkGuardStackCalls measures what the wrapper adds to a call-heavy
// guest: down(1000) makes 1000 nested calls.
func BenchmarkGuardStackCalls(b *testing.B) {
	plain := wat2wasm(b, guardedWAT)
	guarded := guard(b, plain, 1<<30)
	for name, bin := range map[string][]byte{"plain": plain, "guarded": guarded} {
		b.Run(name, func(b *testing.B) {
			m := instantiate(b, bin)
			f := m.ExportedFunction("down")
			for b.Loop() {
				if _, err := f.Call(context.Background(), 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestInterruptGuard checks the rewrite's interrupt guard on wazero: a
// loop that calls nothing but the host traps once the host sets the flag
// and the countdown, at the loop's own check (the host function is an
// import, which has no wrapper); with the flag clear the same instance
// runs on; and the countdown's slow path alone, with the flag clear, only
// restarts the countdown.
func TestInterruptGuard(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	var mod api.Module
	const never = 1 << 40
	stopAt := uint64(never) // the iteration at which poke stops the guest
	_, err := rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithFunc(func(i uint32) {
		if uint64(i) == stopAt {
			mod.ExportedGlobal(InterruptGlobal).(api.MutableGlobal).Set(1)
			mod.ExportedGlobal(InterruptTicksGlobal).(api.MutableGlobal).Set(1)
		}
	}).Export("poke").Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := wasmbin.Parse(wat2wasm(t, `(module
  (import "env" "poke" (func $poke (param i32)))
  (memory 1)
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (call $poke (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i)))`))
	if err != nil {
		t.Fatal(err)
	}
	bin, _, err := rewrite(m, Limits{TableElements: DefaultTableElements, StackBytes: 1 << 20, InterruptGuard: true}, false)
	if err != nil {
		t.Fatal(err)
	}
	if mod, err = rt.Instantiate(ctx, bin); err != nil {
		t.Fatal(err)
	}
	count := mod.ExportedFunction("count")
	// More iterations than interruptTicks: the slow path runs, and goes on.
	if res, err := count.Call(ctx, 3*interruptTicks); err != nil || res[0] != 3*interruptTicks {
		t.Fatalf("count(%d) = %v, %v; want it to run to the end", 3*interruptTicks, res, err)
	}
	stopAt = 10
	if _, err := count.Call(ctx, 1000); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("count with a stop at iteration 10: err = %v, want an unreachable trap", err)
	}
	stopAt = never
	mod.ExportedGlobal(InterruptGlobal).(api.MutableGlobal).Set(0)
	mod.ExportedGlobal(StackGlobal).(api.MutableGlobal).Set(0)
	if res, err := count.Call(ctx, 100); err != nil || res[0] != 100 {
		t.Fatalf("count(100) after the flag was cleared = %v, %v", res, err)
	}
}
