// Package wazeroengine adapts wazero, the pure-Go runtime, to wasm.Engine.
//
// Each compiled module gets a wazero Runtime of its own, because the memory
// limit is a runtime setting; all runtimes share one compilation cache, so a
// module is compiled to machine code once per cache directory. A guest call
// ends with its context, even in an infinite loop: through the interrupt
// guard of the rewritten binary (interrupt.go), or wazero's closing of a
// module whose context is done for a binary without it. The core host functions are the shared ones from
// package abi, bound to the exchange carried in the call's context. Linear
// memories come from the adapter's allocator (memory.go): reserved up front,
// grown in place, charged to the instance's wasm.MemoryMeter and unmapped
// when the instance closes.
package wazeroengine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/memimage"
	"github.com/bubblewasm/bubblewasm/internal/validcache"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// Engine is the wazero engine.
type Engine struct {
	cache     wazero.CompilationCache
	validated *validcache.Cache
	compiling compileLocks // one compilation of a binary at a time
}

// New returns the engine. cacheDir, when not empty, keeps compiled machine
// code (and which modules were validated) on disk across restarts;
// otherwise they are kept in memory only.
func New(cacheDir string) (*Engine, error) {
	if cacheDir == "" {
		return &Engine{cache: wazero.NewCompilationCache(), validated: newValidated("")}, nil
	}
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("compilation cache %s: %w", cacheDir, err)
	}
	return &Engine{cache: cache, validated: newValidated(cacheDir)}, nil
}

// Name returns "wazero".
func (e *Engine) Name() string { return "wazero" }

// ValidationCache returns how many modules were found validated already
// (hits: a warm start) and how many were validated (misses).
func (e *Engine) ValidationCache() (hits, misses uint64) { return e.validated.Stats() }

// InterruptGuard reports whether wazero compiles to machine code here: the
// adapter then stops guests through the interrupt guard of the binary
// (interrupt.go). wazero's interpreter, on other platforms, keeps its own
// way: it is Go code that reads the guard's globals as Go memory, which
// the stop must not write from another goroutine.
func (e *Engine) InterruptGuard() bool { return compiles() }

// compiles mirrors the platforms where wazero's default configuration
// compiles (amd64 needs SSE4.1 too, which every amd64 CPU of the last
// fifteen years has).
func compiles() bool {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "windows":
		return runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64"
	}
	return false
}

// Close releases the compilation cache handle.
func (e *Engine) Close(ctx context.Context) error { return e.cache.Close(ctx) }

// Compile validates and compiles a module in a runtime of its own.
func (e *Engine) Compile(ctx context.Context, bin []byte, limits wasm.Limits) (wasm.Module, error) {
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(e.cache).
		WithCloseOnContextDone(!limits.InterruptGuard). // see interrupt.go
		WithCoreFeatures(api.CoreFeaturesV2)
	if limits.MemoryPages > 0 {
		cfg = cfg.WithMemoryLimitPages(limits.MemoryPages)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	compiled, err := e.compileModule(ctx, rt, bin)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	m := &module{rt: rt, compiled: compiled, guarded: limits.InterruptGuard}
	if err := m.linkImports(ctx, limits.FixedStdio); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	m.config = wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(). // _initialize runs in Instantiate, where its errors are ours to report
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(rand.Reader)
	return m, nil
}

// compileModule compiles bin in rt, while no other compilation of the
// same bytes runs (compileLocks).
func (e *Engine) compileModule(ctx context.Context, rt wazero.Runtime, bin []byte) (wazero.CompiledModule, error) {
	defer e.compiling.lock(bin)()
	return rt.CompileModule(ctx, bin)
}

type module struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	config   wazero.ModuleConfig
	guarded  bool // the binary has the interrupt guard (interrupt.go)
}

// linkImports instantiates only the host modules the guest imports.
func (m *module) linkImports(ctx context.Context, fixedStdio bool) error {
	need := map[string]bool{}
	for _, f := range m.compiled.ImportedFunctions() {
		mod, _, _ := f.Import()
		need[mod] = true
	}
	if need[wasi_snapshot_preview1.ModuleName] {
		b := m.rt.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
		wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
		if fixedStdio {
			fixStdio(b)
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return err
		}
	}
	for _, hm := range abi.Modules() {
		if !need[hm.Name] {
			continue
		}
		b := m.rt.NewHostModuleBuilder(hm.Name)
		for _, f := range hm.Funcs {
			params := make([]api.ValueType, len(f.Params))
			for i := range params {
				params[i] = api.ValueTypeI32
			}
			results := make([]api.ValueType, f.Results)
			for i := range results {
				results[i] = api.ValueTypeI32
			}
			b.NewFunctionBuilder().
				WithGoModuleFunction(hostFunc(f.Call), params, results).
				WithParameterNames(f.Params...).
				Export(f.Name)
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return err
		}
	}
	return nil
}

type exchangeKey struct{}

// binding is what a call's context carries for the host functions: the
// exchange they serve, set for the duration of each guest call, and the
// context of that call when the interrupt guard stops it (see
// checkEvery).
type binding struct {
	x     abi.Exchange
	ctx   context.Context // nil when the call is not guarded
	calls uint32          // host calls, for checkEvery
}

// checkEvery is how many host calls of a guarded guest pass between two
// looks at its call's context. The guard's stop comes from a timer
// (context.AfterFunc), and a guest that loops on host calls was seen, on
// a loaded machine, to keep running for minutes past its deadline — with
// the timers of its processor not run (the test client's own timeout
// never fired either). A look at the context's deadline and error from the
// host call itself does not depend on any timer. Every 32 calls keeps it
// out of the cost of an exchange (a clock read is ~20 ns).
const checkEvery = 32

// expired returns the error of a guarded call whose context has ended or
// whose deadline has passed by the clock, or nil.
func (b *binding) expired() error {
	if b.ctx == nil {
		return nil
	}
	if b.calls++; b.calls%checkEvery != 0 {
		return nil
	}
	if err := b.ctx.Err(); err != nil {
		return err
	}
	if d, ok := b.ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// hostFunc binds a shared abi function to wazero's calling convention.
func hostFunc(call func(abi.Exchange, abi.Memory, []uint64) error) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		b, _ := ctx.Value(exchangeKey{}).(*binding)
		if b == nil || b.x == nil {
			panic(errors.New("bubblewasm host function called outside an exchange"))
		}
		if err := b.expired(); err != nil {
			panic(fmt.Errorf("%w (the guest was stopped in a host call)", err))
		}
		x := b.x
		mem := mod.Memory()
		if mem == nil {
			panic(&abi.GuestError{Func: "memory", Reason: "the module exports no memory"})
		}
		if err := call(x, mem, stack); err != nil {
			panic(err) // wazero turns a host panic into the guest call's error
		}
	}
}

func (m *module) Imports() []wasm.Import {
	var out []wasm.Import
	for _, f := range m.compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		out = append(out, wasm.Import{Module: mod, Name: name, Signature: signature(f)})
	}
	return out
}

func (m *module) Exports() []wasm.Export {
	var out []wasm.Export
	for name, f := range m.compiled.ExportedFunctions() {
		out = append(out, wasm.Export{Name: name, Signature: signature(f)})
	}
	return out
}

func (m *module) ExportsMemory(name string) bool {
	_, ok := m.compiled.ExportedMemories()[name]
	return ok
}

func signature(f api.FunctionDefinition) wasm.Signature {
	conv := func(ts []api.ValueType) []wasm.ValueType {
		out := make([]wasm.ValueType, len(ts))
		for i, t := range ts {
			out[i] = wasm.ValueType(t)
		}
		return out
	}
	return wasm.Signature{Params: conv(f.ParamTypes()), Results: conv(f.ResultTypes())}
}

// Close closes the compiled module, then its runtime. The runtime's
// engine belongs to the compilation cache, which outlives the runtime and
// keeps every module compiled in it until the module itself is closed:
// closing only the runtime would keep the machine code (megabytes for a Go
// module) for as long as the process runs. Once closed, the engine unmaps
// the code when the collector finds it unreachable — which, as of wazero
// 1.12, may wait until the engine compiles another module: its list of
// modules by address is shortened without clearing the slot left behind.
// So the code kept beyond the modules open is bounded by how many were
// closed since the most were open at once, not by how many ever were.
func (m *module) Close(ctx context.Context) error {
	return errors.Join(m.compiled.Close(ctx), m.rt.Close(ctx))
}

func (m *module) Instantiate(ctx context.Context, cfg wasm.InstanceConfig) (wasm.Instance, error) {
	mc := m.config
	if cfg.Stdin != nil {
		mc = mc.WithStdin(cfg.Stdin)
	}
	if cfg.Stdout != nil {
		mc = mc.WithStdout(cfg.Stdout)
	}
	if cfg.Stderr != nil {
		mc = mc.WithStderr(cfg.Stderr)
	}
	if len(cfg.Args) > 0 {
		mc = mc.WithArgs(cfg.Args...)
	}
	for _, kv := range cfg.Environ {
		k, v, _ := strings.Cut(kv, "=")
		mc = mc.WithEnv(k, v)
	}
	b := &binding{x: cfg.Init}
	var lm memory
	mod, err := m.rt.InstantiateModule(withAllocator(context.WithValue(ctx, exchangeKey{}, b), cfg.Memory, imageMemory(cfg.Image), func(m memory) { lm = m }), m.compiled, mc)
	if err != nil {
		if mod != nil {
			mod.Close(context.Background())
		}
		if cfg.Command {
			return nil, exitError(err)
		}
		return nil, callError(err)
	}
	inst := newInstance(mod, b, m.guarded)
	inst.handle, inst.lm = mod.ExportedFunction(abi.ExportHandle), lm
	defer func() { b.x = nil }()
	if inst.handle == nil && !cfg.Command {
		mod.Close(context.Background())
		return nil, fmt.Errorf("module exports no %s function", abi.ExportHandle)
	}
	if cfg.Image != nil {
		err = inst.fromImage(cfg.Image)
	} else {
		err = inst.initialize(ctx, cfg.Data, cfg.Command)
	}
	if err != nil {
		mod.Close(context.Background())
		return nil, err
	}
	return inst, nil
}

func imageMemory(im *wasm.Image) *memimage.Image {
	if im == nil {
		return nil
	}
	return im.Memory
}

// initialize runs what instantiation leaves to the adapter: it writes the
// data segments, then calls the start function the snapshot rewrite
// exported, and, unless the module is a command, _initialize and
// bubble_init.
func (i *instance) initialize(ctx context.Context, data []wasm.DataInit, command bool) error {
	for k, d := range data {
		if i.mem == nil || !i.mem.Write(d.Offset, d.Bytes) {
			return fmt.Errorf("data segment %d (%d bytes at %d) does not fit in the memory: out of bounds memory access", k, len(d.Bytes), d.Offset)
		}
	}
	names := []string{wasm.StartExport, abi.ExportInitialize, abi.ExportInit}
	if command {
		names = names[:1]
	}
	for _, name := range names {
		f := i.mod.ExportedFunction(name)
		if f == nil {
			continue
		}
		var res [1]uint64
		err := i.call(ctx, f, res[:])
		if err == nil && len(f.Definition().ResultTypes()) == 1 && int32(res[0]) != 0 {
			err = fmt.Errorf("%s returned %d", name, int32(res[0]))
		}
		if err != nil && command {
			return exitError(err)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// fromImage makes a new instance the image: its memory grown to the
// image's size (the allocator put the image's bytes there already) and its
// globals set.
func (i *instance) fromImage(im *wasm.Image) error {
	i.image = im
	if i.mem == nil || i.lm == nil {
		return errors.New("a snapshot needs the module's memory")
	}
	if size, want := uint64(i.mem.Size()), uint64(im.Memory.Len()); size < want {
		if _, ok := i.mem.Grow(uint32((want - size) / wasmPage)); !ok {
			return fmt.Errorf("memory could not grow to its snapshot's %d bytes", want)
		}
	}
	i.globals = make([]api.MutableGlobal, len(im.Globals))
	for k, g := range im.Globals {
		mg, ok := i.mod.ExportedGlobal(g.Name).(api.MutableGlobal)
		if !ok {
			return fmt.Errorf("snapshot global %s is not a mutable global of the module", g.Name)
		}
		i.globals[k] = mg
		mg.Set(g.Bits)
	}
	return nil
}

const wasmPage = 65536

type instance struct {
	mod    api.Module
	handle api.Function
	mem    api.Memory
	lm     memory // mem's allocation
	stack  [1]uint64
	guard  // interrupt.go
	// image is the snapshot the instance was made from, and globals the
	// mutable globals of image.Globals, in order.
	image   *wasm.Image
	globals []api.MutableGlobal
}

func newInstance(mod api.Module, b *binding, guarded bool) *instance {
	i := &instance{mod: mod, mem: mod.Memory()}
	i.guard.init(mod, b, guarded)
	return i
}

func (i *instance) Handle(ctx context.Context, x abi.Exchange) (int32, error) {
	if i.handle == nil {
		return 0, fmt.Errorf("module exports no %s function", abi.ExportHandle)
	}
	i.bound.x = x
	defer func() { i.bound.x = nil }()
	if err := i.call(ctx, i.handle, i.stack[:]); err != nil {
		return 0, err
	}
	return int32(uint32(i.stack[0])), nil
}

func (i *instance) Call(ctx context.Context, name string) error {
	f := i.mod.ExportedFunction(name)
	if f == nil {
		return fmt.Errorf("module exports no %s function", name)
	}
	return exitError(i.call(ctx, f, i.stack[:]))
}

func (i *instance) MemorySize() uint64 {
	if i.mem == nil {
		return 0
	}
	return uint64(i.mem.Size())
}

func (i *instance) Global(name string) (uint64, bool) {
	g := i.mod.ExportedGlobal(name)
	if g == nil {
		return 0, false
	}
	return g.Get(), true
}

func (i *instance) Memory() []byte {
	if i.mem == nil {
		return nil
	}
	b, _ := i.mem.Read(0, i.mem.Size())
	return b
}

func (i *instance) Reset() error {
	if i.image == nil {
		return errors.New("the instance was not made from a snapshot")
	}
	if err := i.image.Memory.Reset(i.Memory(), i.lm.mapsImage()); err != nil {
		return err
	}
	for k, g := range i.globals {
		g.Set(i.image.Globals[k].Bits)
	}
	return nil
}

func (i *instance) Close(ctx context.Context) error { return i.mod.Close(ctx) }

// callError maps wazero's context exits to the context errors they stand for.
func callError(err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%w (%v)", context.Canceled, err)
		}
	}
	return err
}

// exitError makes the error of a call that the guest ended with WASI's
// proc_exit a *wasm.ExitError.
func exitError(err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() != sys.ExitCodeDeadlineExceeded && exit.ExitCode() != sys.ExitCodeContextCanceled {
		return &wasm.ExitError{Code: exit.ExitCode()}
	}
	return err
}

var _ wasm.Engine = (*Engine)(nil)
