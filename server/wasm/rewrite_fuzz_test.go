package wasm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin/wasmbintest"
)

// fuzzLimits are the rewrite limits of FuzzRewrite: a stack budget so
// large that the engine's own call-depth ceiling comes first, so the guard
// changes no outcome.
var fuzzLimits = Limits{TableElements: 1000, StackBytes: 1 << 30, InterruptGuard: true}

// FuzzRewrite checks the load-time rewrite on every input the reader
// reads and wazero validates: the rewrite succeeds (or refuses a table over
// the cap, or the reserved export name), its output is valid, at most a
// bounded factor larger, exports the same functions with the same types,
// and — for modules without imports — instantiates exactly when the
// original does and returns the same results for every exported function
// called with zero arguments.
func FuzzRewrite(f *testing.F) {
	wasmbintest.Seeds(f, "module")
	f.Add(wat2wasm(f, `(module (func $f (export "f") (param i32) (result i32)
	  (if (result i32) (local.get 0) (then (call $f (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 7))))
	  (func (export "g") (result i32) (call $f (i32.const 100))))`))
	f.Fuzz(func(t *testing.T, bin []byte) {
		m, err := wasmbin.Parse(bin)
		if err != nil {
			return
		}
		ctx := context.Background()
		orig, err := compileInterp(ctx, wasmbin.Encode(m.NonCustom()))
		if err != nil {
			return // invalid: refused before any rewrite
		}
		defer orig.rt.Close(ctx)
		out, _, err := rewrite(m, fuzzLimits, false)
		if err != nil {
			if strings.Contains(err.Error(), "over the limit of") || strings.Contains(err.Error(), "is reserved") {
				return
			}
			t.Fatalf("the rewrite refused a valid module: %v", err)
		}
		if max := 16*len(bin) + 1024; len(out) > max {
			t.Fatalf("the rewrite made %d bytes of %d, over %d", len(out), len(bin), max)
		}
		guarded, err := compileInterp(ctx, out)
		if err != nil {
			t.Fatalf("the rewrite made a valid module invalid: %v", err)
		}
		defer guarded.rt.Close(ctx)
		want, got := exportTypes(orig.cm), exportTypes(guarded.cm)
		if !equalTypes(want, got) {
			t.Fatalf("exports changed: %v -> %v", want, got)
		}
		if len(m.Imports) > 0 {
			return // nothing to link them to
		}
		compareCalls(t, orig, guarded, want)
	})
}

type interp struct {
	rt wazero.Runtime
	cm wazero.CompiledModule
}

// compileInterp compiles bin in a new interpreter runtime with small
// limits, so that a fuzzed module can neither take much memory nor run for
// long.
func compileInterp(ctx context.Context, bin []byte) (*interp, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().
		WithCoreFeatures(api.CoreFeaturesV2).WithMemoryLimitPages(16).WithCloseOnContextDone(true))
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return &interp{rt: rt, cm: cm}, nil
}

func exportTypes(cm wazero.CompiledModule) map[string][2][]api.ValueType {
	out := map[string][2][]api.ValueType{}
	for name, f := range cm.ExportedFunctions() {
		if strings.HasPrefix(name, reservedPrefix) {
			continue // added by the rewrite
		}
		out[name] = [2][]api.ValueType{f.ParamTypes(), f.ResultTypes()}
	}
	return out
}

func equalTypes(a, b map[string][2][]api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for name, t := range a {
		u, ok := b[name]
		if !ok || !slices.Equal(t[0], u[0]) || !slices.Equal(t[1], u[1]) {
			return false
		}
	}
	return true
}

// outcome is what instantiating a module or calling a function gave.
type outcome struct {
	results  []uint64
	err      error
	overflow bool // the engine's call-stack ceiling
	timeout  bool
}

func run(f func(ctx context.Context) ([]uint64, error)) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := f(ctx)
	o := outcome{results: res, err: err}
	if err != nil {
		o.timeout = ctx.Err() != nil
		o.overflow = strings.Contains(err.Error(), "stack overflow")
	}
	return o
}

// compareCalls instantiates both modules (running their start functions)
// and calls every exported function whose parameters are numbers with
// zeros, expecting the same results or both an error. An outcome cut short
// by the time bound, or by the engine's call-depth ceiling (which the
// wrappers' frames reach at half the depth), is not compared.
func compareCalls(t *testing.T, orig, guarded *interp, exports map[string][2][]api.ValueType) {
	var mods [2]api.Module
	for i, in := range []*interp{orig, guarded} {
		o := run(func(ctx context.Context) ([]uint64, error) {
			mod, err := in.rt.InstantiateModule(ctx, in.cm, wazero.NewModuleConfig().WithName(""))
			mods[i] = mod
			if f := mod.ExportedFunction(StartExport); err == nil && f != nil {
				_, err = f.Call(ctx) // the rewrite made the start function an export
			}
			return nil, err
		})
		if o.timeout || o.overflow {
			return
		}
		if o.err != nil {
			mods[i] = nil
		}
	}
	if (mods[0] == nil) != (mods[1] == nil) {
		t.Fatalf("instantiation differs: original ok %v, rewritten ok %v", mods[0] != nil, mods[1] != nil)
	}
	if mods[0] == nil {
		return
	}
	names := make([]string, 0, len(exports))
	for name := range exports {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if slices.ContainsFunc(exports[name][0], func(v api.ValueType) bool {
			return v != api.ValueTypeI32 && v != api.ValueTypeI64 && v != api.ValueTypeF32 && v != api.ValueTypeF64
		}) {
			continue
		}
		args := make([]uint64, len(exports[name][0]))
		var outs [2]outcome
		for i, mod := range mods {
			outs[i] = run(func(ctx context.Context) ([]uint64, error) {
				return mod.ExportedFunction(name).Call(ctx, args...)
			})
		}
		a, b := outs[0], outs[1]
		switch {
		case a.timeout || b.timeout:
			return // the instances were closed
		case a.overflow || b.overflow:
		case (a.err == nil) != (b.err == nil):
			t.Fatalf("%s(): original %v %v, rewritten %v %v", name, a.results, a.err, b.results, b.err)
		case !slices.Equal(a.results, b.results):
			t.Fatalf("%s() = %v, rewritten %v", name, a.results, b.results)
		}
		var exit interface{ ExitCode() uint32 }
		if errors.As(a.err, &exit) || errors.As(b.err, &exit) {
			return // proc_exit-like: the module is closed
		}
	}
}
