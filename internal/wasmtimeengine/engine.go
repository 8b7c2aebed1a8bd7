//go:build cgo

package wasmtimeengine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/cgo"
	"runtime/debug"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/memimage"
	"github.com/bubblewasm/bubblewasm/internal/validcache"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

const available = true

const (
	// epochTick is how often the engine's epoch advances: the granularity
	// at which a guest notices that its call's context ended.
	epochTick = 10 * time.Millisecond
	// wasiModule is the import module of WASI preview 1.
	wasiModule = "wasi_snapshot_preview1"
	pageSize   = 65536
)

// MaxWasmStack is the native stack wasmtime lets a guest use, in bytes. A
// guest runs on the stack of the thread that calls it, so the limit must
// leave room in the smallest such thread: it is half the stack size of the
// threads Go makes for cgo calls (the default pthread stack: 8 MiB with the
// usual `ulimit -s` of 8192, 2 MiB with an unlimited one on glibc), at most
// 4 MiB, the default max_stack budget, and 512 KiB (wasmtime's default)
// when that size is unknown.
func MaxWasmStack() int {
	t := threadStack()
	if t <= 0 {
		return 512 << 10
	}
	return min(t/2, 4<<20)
}

// Engine is the wasmtime engine.
type Engine struct {
	engine *wasmtime.Engine
	// wasi defines WASI preview 1 once; each store takes the functions its
	// module imports from it.
	wasi *wasmtime.Linker
	// abiTypes are the types of abiFuncs and fdReadType that of WASI's
	// fd_read (wasmtime's function types belong to an engine).
	abiTypes   []*wasmtime.FuncType
	fdReadType *wasmtime.FuncType
	maxStack   int  // bytes
	metered    bool // guest memories come from the adapter's creator (memory.go)
	validated  *validcache.Cache
	stop       chan struct{}
	ticker     sync.WaitGroup
	closeOnce  sync.Once
}

// New returns the engine. cacheDir, when not empty, keeps compiled machine
// code on disk across restarts (wasmtime's own cache, in
// cacheDir/wasmtime); otherwise modules are compiled on every load.
func New(cacheDir string) (wasm.Engine, error) {
	if err := checkLayout(); err != nil {
		return nil, err
	}
	cfg := wasmtime.NewConfig()
	cfg.SetEpochInterruption(true)
	maxStack := MaxWasmStack()
	cfg.SetMaxWasmStack(maxStack)
	// The feature set of the wazero adapter (WebAssembly 2.0: bulk memory,
	// multi-value, reference types, SIMD, ...), so that a module loads on
	// both engines or on neither.
	cfg.SetWasmThreads(false)
	cfg.SetWasmGC(false)
	cfg.SetWasmFunctionReferences(false)
	cfg.SetWasmTailCall(false)
	cfg.SetWasmMultiMemory(false)
	cfg.SetWasmMemory64(false)
	cfg.SetWasmRelaxedSIMD(false)
	cfg.SetWasmWideArithmetic(false)
	metered := useMemoryCreator(cfg)
	if cacheDir != "" {
		if err := loadCache(cfg, cacheDir); err != nil {
			cfg.Close()
			return nil, fmt.Errorf("compilation cache %s: %w", cacheDir, err)
		}
	}
	e := &Engine{engine: wasmtime.NewEngineWithConfig(cfg), maxStack: maxStack, metered: metered, stop: make(chan struct{}), fdReadType: i32Func(4, 1),
		validated: validcache.New(cacheDir, "wasmtime-"+validcache.ModuleVersion("github.com/bytecodealliance/wasmtime-go/v39")+"-core-v2")}
	for _, f := range abiFuncs {
		e.abiTypes = append(e.abiTypes, i32Func(len(f.Params), f.Results))
	}
	e.wasi = wasmtime.NewLinker(e.engine)
	if err := e.wasi.DefineWasi(); err != nil {
		e.engine.Close()
		return nil, err
	}
	e.ticker.Go(func() {
		t := time.NewTicker(epochTick)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				e.engine.IncrementEpoch()
			case <-e.stop:
				return
			}
		}
	})
	return e, nil
}

// loadCache turns on wasmtime's compilation cache in dir/wasmtime. Its
// configuration is a TOML file, written next to that directory for the call
// and removed after (wasmtime's cache cleanup deletes files it does not know
// inside it).
func loadCache(cfg *wasmtime.Config, dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	cache := filepath.Join(dir, "wasmtime")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".wasmtime-cache-*.toml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = toml.NewEncoder(f).Encode(map[string]map[string]string{"cache": {"directory": cache}})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := cfg.CacheConfigLoad(f.Name()); err != nil {
		cause, _ := describe(err)
		return errors.New(cause)
	}
	return nil
}

// Name returns "wasmtime".
func (e *Engine) Name() string { return "wasmtime" }

// ValidationCache returns how many modules were found validated already
// (hits: a warm start) and how many were validated (misses).
func (e *Engine) ValidationCache() (hits, misses uint64) { return e.validated.Stats() }

// InterruptGuard returns false: epoch interruption stops guests at every
// function entry and loop for the cost of a load and a compare.
func (e *Engine) InterruptGuard() bool { return false }

// Close stops the epoch ticker and releases the engine.
func (e *Engine) Close(ctx context.Context) error {
	e.closeOnce.Do(func() {
		close(e.stop)
		e.ticker.Wait()
		e.wasi.Close()
		e.engine.Close()
	})
	return nil
}

// The host functions of every host module and their indexes by
// "module.name".
var abiFuncs, abiIndex = func() ([]abi.Func, map[string]int) {
	var fs []abi.Func
	idx := map[string]int{}
	for _, hm := range abi.Modules() {
		for _, f := range hm.Funcs {
			idx[hm.Name+"."+f.Name] = len(fs)
			fs = append(fs, f)
		}
	}
	return fs, idx
}()

func i32Func(params, results int) *wasmtime.FuncType {
	p := make([]*wasmtime.ValType, params)
	for i := range p {
		p[i] = wasmtime.NewValType(wasmtime.KindI32)
	}
	r := make([]*wasmtime.ValType, results)
	for i := range r {
		r[i] = wasmtime.NewValType(wasmtime.KindI32)
	}
	ft := wasmtime.NewFuncType(p, r)
	// The C API fills a function type's parameter and result lists on
	// their first use, in a cell that is not safe for threads: routes that
	// instantiate at once (they load in parallel) raced there and aborted
	// the process ("reentrant init"). Filled now, while one goroutine holds
	// the type, they are only read afterwards.
	ft.Params()
	ft.Results()
	return ft
}

// Validate checks a module with wasmtime's validator, which decodes and
// type-checks every function but compiles nothing (~15 ms for a 2 MB Go
// module). Modules that passed are remembered by SHA-256 in the cache
// directory, as the wazero adapter does.
func (e *Engine) Validate(ctx context.Context, bin []byte) error {
	return e.validated.Validate(bin, func(bin []byte) error {
		if err := wasmtime.ModuleValidate(e.engine, bin); err != nil {
			cause, _ := describe(err)
			return &callError{msg: cause, errs: []error{err}}
		}
		return nil
	})
}

// Compile validates and compiles a module (or loads it from the cache).
func (e *Engine) Compile(ctx context.Context, bin []byte, limits wasm.Limits) (wasm.Module, error) {
	mod, err := wasmtime.NewModule(e.engine, bin)
	if err != nil {
		cause, _ := describe(err)
		return nil, &callError{msg: cause, errs: []error{err}}
	}
	m := &module{e: e, mod: mod, limits: limits, funcs: map[string]bool{}, memories: map[string]bool{}}
	for _, imp := range mod.Imports() {
		p := importPlan{module: imp.Module(), abi: -1}
		if n := imp.Name(); n != nil {
			p.name = *n
		}
		ty := imp.Type()
		ft := ty.FuncType()
		if ft == nil {
			p.kind = externKind(ty)
			m.imports = append(m.imports, p)
			continue
		}
		p.kind = "function"
		sig := signature(ft)
		m.funcImports = append(m.funcImports, wasm.Import{Module: p.module, Name: p.name, Signature: sig})
		if i, ok := abiIndex[p.module+"."+p.name]; ok {
			p.abi = i
		}
		switch p.module {
		case wasiModule:
			p.wasi = true
			m.wasi = true
			p.fdRead = p.name == "fd_read" && len(sig.Params) == 4 && len(sig.Results) == 1
			if limits.FixedStdio && fixedStdio[p.name] && len(sig.Params) > 0 && sig.Params[0] == wasm.I32 && len(sig.Results) == 1 && sig.Results[0] == wasm.I32 {
				p.fixed = ft
			}
		}
		m.imports = append(m.imports, p)
	}
	for _, ex := range mod.Exports() {
		ty := ex.Type()
		if ft := ty.FuncType(); ft != nil {
			m.exports = append(m.exports, wasm.Export{Name: ex.Name(), Signature: signature(ft)})
			m.funcs[ex.Name()] = true
		} else if mt := ty.MemoryType(); mt != nil {
			m.memories[ex.Name()] = true
			// wazero refuses such a module at compile time; so does this
			// adapter, with a clearer message than the limiter's.
			if limits.MemoryPages > 0 && mt.Minimum() > uint64(limits.MemoryPages) {
				mod.Close()
				return nil, fmt.Errorf("memory %q: min %d pages (%s) over limit of %d pages (%s)",
					ex.Name(), mt.Minimum(), size(mt.Minimum()*pageSize), limits.MemoryPages, size(uint64(limits.MemoryPages)*pageSize))
			}
		}
	}
	return m, nil
}

func size(b uint64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", b>>20)
	}
	return fmt.Sprintf("%d KiB", b>>10)
}

func externKind(ty *wasmtime.ExternType) string {
	switch {
	case ty.MemoryType() != nil:
		return "memory"
	case ty.TableType() != nil:
		return "table"
	case ty.GlobalType() != nil:
		return "global"
	}
	return "item"
}

func signature(ft *wasmtime.FuncType) wasm.Signature {
	conv := func(ts []*wasmtime.ValType) []wasm.ValueType {
		out := make([]wasm.ValueType, len(ts))
		for i, t := range ts {
			switch t.Kind() {
			case wasmtime.KindI32:
				out[i] = wasm.I32
			case wasmtime.KindI64:
				out[i] = wasm.I64
			case wasmtime.KindF32:
				out[i] = wasm.F32
			case wasmtime.KindF64:
				out[i] = wasm.F64
			case wasmtime.KindFuncref:
				out[i] = 0x70
			case wasmtime.KindExternref:
				out[i] = 0x6f
			default:
				out[i] = 0x7b // v128
			}
		}
		return out
	}
	return wasm.Signature{Params: conv(ft.Params()), Results: conv(ft.Results())}
}

type module struct {
	e           *Engine
	mod         *wasmtime.Module
	limits      wasm.Limits
	imports     []importPlan // every import, in order
	funcImports []wasm.Import
	exports     []wasm.Export
	funcs       map[string]bool // exported function names
	memories    map[string]bool // exported memory names
	wasi        bool            // the module imports WASI
}

// importPlan says where one import comes from.
type importPlan struct {
	module, name string
	kind         string // "function", "memory", ...
	abi          int    // index in abiFuncs, or -1
	wasi         bool
	fdRead       bool // WASI's fd_read, which fdRead serves when the instance has a Stdin
	// fixed is the type of a WASI function that Limits.FixedStdio
	// replaces with refuseStdio, nil for the others.
	fixed *wasmtime.FuncType
}

func (m *module) Imports() []wasm.Import { return m.funcImports }
func (m *module) Exports() []wasm.Export { return m.exports }

func (m *module) ExportsMemory(name string) bool { return m.memories[name] }

func (m *module) Close(ctx context.Context) error {
	m.mod.Close()
	return nil
}

// newInstance makes the store of one instance: limits, interruption and,
// when the module imports it, WASI.
func (m *module) newInstance(o wasiOptions, stdin io.Reader, meter wasm.MemoryMeter) (*instance, error) {
	s := wasmtime.NewStore(m.e.engine)
	memBytes, tableElems := int64(-1), int64(-1) // -1: wasmtime's default
	if m.limits.MemoryPages > 0 {
		memBytes = int64(m.limits.MemoryPages) * pageSize
	}
	if m.limits.TableElements > 0 {
		tableElems = int64(m.limits.TableElements)
	}
	s.Limiter(memBytes, tableElems, -1, -1, -1)
	intr, err := watch(s)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.SetEpochDeadline(1)
	if m.wasi {
		if err := setWasi(s, o); err != nil {
			s.Close()
			return nil, err
		}
	}
	i := &instance{m: m, store: s, intr: intr, stdin: stdin}
	if m.e.metered {
		i.meter = meter
	}
	return i, nil
}

// instantiate links the imports and instantiates the module, running its
// start function if it has one, with a memory that starts as image (nil:
// zeroed) where the memory creator can map it; it reports whether it did.
func (i *instance) instantiate(ctx context.Context, image *memimage.Image) (mapped bool, err error) {
	ext := make([]wasmtime.AsExtern, len(i.m.imports))
	for k, p := range i.m.imports {
		switch {
		case p.abi >= 0:
			ext[k] = wasmtime.NewFunc(i.store, i.m.e.abiTypes[p.abi], i.hostFunc(abiFuncs[p.abi]))
		case p.wasi && p.fixed != nil:
			ext[k] = wasmtime.NewFunc(i.store, p.fixed, refuseStdio)
		case p.wasi:
			e := i.m.e.wasi.Get(i.store, p.module, p.name)
			if e == nil {
				return false, fmt.Errorf("module imports %s.%s, which WASI preview 1 does not have", p.module, p.name)
			}
			ext[k] = e
			if p.fdRead && i.stdin != nil {
				ext[k] = wasmtime.NewFunc(i.store, i.m.e.fdReadType, i.fdRead(e.Func()))
			}
		case p.module == abi.ModuleName:
			return false, fmt.Errorf("module imports %s.%s, which ABI v%d does not have", p.module, p.name, abi.Version)
		default:
			return false, fmt.Errorf("module imports %s %s.%s, which bubblewasm does not provide", p.kind, p.module, p.name)
		}
	}
	return i.metered(image, func() error {
		return i.run(ctx, func() error {
			inst, err := wasmtime.NewInstance(i.store, i.m.mod, ext)
			i.inst = inst
			return err
		})
	})
}

func (m *module) Instantiate(ctx context.Context, cfg wasm.InstanceConfig) (wasm.Instance, error) {
	i, err := m.newInstance(wasiOptions{stdout: cfg.Stdout, stderr: cfg.Stderr, args: cfg.Args, environ: cfg.Environ}, cfg.Stdin, cfg.Memory)
	if err != nil {
		return nil, err
	}
	i.x = cfg.Init
	defer func() { i.x = nil }()
	var image *memimage.Image
	if cfg.Image != nil {
		image = cfg.Image.Memory
	}
	mapped, err := i.instantiate(ctx, image)
	if err == nil && i.mem == nil {
		if e := i.inst.GetExport(i.store, "memory"); e != nil {
			i.mem = e.Memory()
		}
	}
	if err == nil && m.funcs[abi.ExportHandle] {
		i.handle = i.inst.GetFunc(i.store, abi.ExportHandle)
	}
	if err == nil && i.handle == nil && !cfg.Command {
		err = fmt.Errorf("module exports no %s function", abi.ExportHandle)
	}
	if err == nil && cfg.Image != nil {
		err = i.fromImage(cfg.Image, mapped)
	} else if err == nil {
		err = i.initialize(ctx, cfg.Data, cfg.Command)
	}
	if err != nil {
		i.Close(ctx)
		if cfg.Command {
			return nil, exitError(err)
		}
		return nil, err
	}
	return i, nil
}

// initialize runs what instantiation leaves to the adapter: it writes the
// data segments, then calls the start function the snapshot rewrite
// exported, and, unless the module is a command, _initialize and
// bubble_init.
func (i *instance) initialize(ctx context.Context, data []wasm.DataInit, command bool) error {
	if len(data) > 0 {
		mem := i.Memory()
		for k, d := range data {
			if uint64(d.Offset)+uint64(len(d.Bytes)) > uint64(len(mem)) {
				return fmt.Errorf("data segment %d (%d bytes at %d) does not fit in the memory: out of bounds memory access", k, len(d.Bytes), d.Offset)
			}
			copy(mem[d.Offset:], d.Bytes)
		}
	}
	names := []string{wasm.StartExport, abi.ExportInitialize, abi.ExportInit}
	if command {
		names = names[:1]
	}
	for _, name := range names {
		if !i.m.funcs[name] {
			continue
		}
		f := i.inst.GetFunc(i.store, name)
		var res any
		err := i.run(ctx, func() (err error) {
			res, err = f.Call(i.store)
			return err
		})
		if v, ok := res.(int32); err == nil && ok && v != 0 {
			err = fmt.Errorf("%s returned %d", name, v)
		}
		if err != nil && command {
			return err
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// fromImage makes a new instance the image: its memory grown to the
// image's size (where the memory creator mapped the image, its bytes are
// there already; otherwise they are copied) and its globals set.
func (i *instance) fromImage(im *wasm.Image, mapped bool) error {
	if i.mem == nil {
		return errors.New("a snapshot needs the module's memory")
	}
	i.image, i.mapped = im, mapped
	if size, want := i.mem.DataSize(i.store), uintptr(im.Memory.Len()); size < want {
		if _, err := i.mem.Grow(i.store, uint64((want-size)/pageSize)); err != nil {
			return fmt.Errorf("memory could not grow to its snapshot's %d bytes: %w", want, err)
		}
	}
	if !mapped {
		copy(i.Memory(), im.Memory.Bytes())
	}
	i.globals = make([]*wasmtime.Global, len(im.Globals))
	for k, g := range im.Globals {
		var gl *wasmtime.Global
		if e := i.inst.GetExport(i.store, g.Name); e != nil {
			gl = e.Global()
		}
		if gl == nil || !gl.Type(i.store).Mutable() {
			return fmt.Errorf("snapshot global %s is not a mutable global of the module", g.Name)
		}
		i.globals[k] = gl
	}
	return i.setGlobals()
}

// setGlobals sets the instance's mutable globals to its image's values.
func (i *instance) setGlobals() error {
	for k, g := range i.globals {
		bits := i.image.Globals[k].Bits
		var v wasmtime.Val
		switch kind := g.Type(i.store).Content().Kind(); kind {
		case wasmtime.KindI32:
			v = wasmtime.ValI32(int32(uint32(bits)))
		case wasmtime.KindI64:
			v = wasmtime.ValI64(int64(bits))
		case wasmtime.KindF32:
			v = wasmtime.ValF32(math.Float32frombits(uint32(bits)))
		case wasmtime.KindF64:
			v = wasmtime.ValF64(math.Float64frombits(bits))
		default:
			return fmt.Errorf("snapshot global %s has type %v, which cannot be set", i.image.Globals[k].Name, kind)
		}
		if err := g.Set(i.store, v); err != nil {
			return err
		}
	}
	return nil
}

func (i *instance) Memory() []byte {
	if i.mem == nil || i.store == nil {
		return nil
	}
	return i.mem.UnsafeData(i.store)
}

func (i *instance) Reset() error {
	if i.image == nil || i.store == nil {
		return errors.New("the instance was not made from a snapshot")
	}
	if err := i.image.Memory.Reset(i.Memory(), i.mapped); err != nil {
		return err
	}
	return i.setGlobals()
}

// exitError makes the error of a call that the guest ended with WASI's
// proc_exit a *wasm.ExitError.
func exitError(err error) error {
	var werr *wasmtime.Error
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && errors.As(err, &werr) {
		if code, ok := werr.ExitStatus(); ok {
			return &wasm.ExitError{Code: uint32(code)}
		}
	}
	return err
}

type instance struct {
	m      *module
	store  *wasmtime.Store
	intr   interrupt
	inst   *wasmtime.Instance
	handle *wasmtime.Func
	mem    *wasmtime.Memory // found at the first host call or after instantiation
	view   memView
	// x is the exchange host functions serve; the instance serves one at a
	// time.
	x     abi.Exchange
	stdin io.Reader // InstanceConfig.Stdin, which fdRead serves
	// meter is charged for the instance's memory (memory.go), through
	// meterHandle while the store lives.
	meter       wasm.MemoryMeter
	meterHandle cgo.Handle
	// image is the snapshot the instance was made from, mapped whether its
	// memory maps the image, and globals the mutable globals of
	// image.Globals, in order.
	image   *wasm.Image
	mapped  bool
	globals []*wasmtime.Global
	// hostErr is the error of the host function that trapped the current
	// call.
	hostErr error
	stack   [16]uint64 // the parameters of a host call (at most 9: http request), then its result
	results [1]wasmtime.Val
}

// run makes one call into the guest, interrupted when ctx ends, and
// explains its error.
func (i *instance) run(ctx context.Context, call func() error) error {
	if i.store == nil {
		return errors.New("the instance is closed")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w (the guest was not called)", err)
	}
	i.hostErr = nil
	i.intr.reset()
	i.store.SetEpochDeadline(1)
	var stop func() bool
	var fired chan struct{}
	if ctx.Done() != nil {
		fired = make(chan struct{})
		stop = context.AfterFunc(ctx, func() {
			i.intr.set()
			close(fired)
		})
	}
	err := call()
	if stop != nil && !stop() {
		<-fired // the flag must not be set after this call returned
	}
	if err == nil {
		return nil
	}
	cause, trace := describe(err)
	switch {
	case i.intr.isSet() && ctx.Err() != nil:
		return &callError{msg: fmt.Sprintf("%v (wasm interrupted)%s", ctx.Err(), trace), errs: []error{ctx.Err(), err}}
	case i.hostErr != nil:
		return &callError{msg: i.hostErr.Error() + trace, errs: []error{i.hostErr, err}}
	}
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		if code := trap.Code(); code != nil && *code == wasmtime.StackOverflow {
			cause += fmt.Sprintf(" (wasmtime's native stack limit of %d KiB)", i.m.e.maxStack>>10)
		}
	}
	return &callError{msg: cause + trace, errs: []error{err}}
}

func (i *instance) Handle(ctx context.Context, x abi.Exchange) (int32, error) {
	if i.handle == nil {
		return 0, fmt.Errorf("module exports no %s function", abi.ExportHandle)
	}
	i.x = x
	defer func() { i.x = nil }()
	var res any
	err := i.run(ctx, func() (err error) {
		res, err = i.handle.Call(i.store)
		return err
	})
	if err != nil {
		return 0, err
	}
	v, _ := res.(int32)
	return v, nil
}

func (i *instance) Call(ctx context.Context, name string) error {
	if i.inst == nil || !i.m.funcs[name] {
		return fmt.Errorf("module exports no %s function", name)
	}
	f := i.inst.GetFunc(i.store, name)
	return exitError(i.run(ctx, func() error {
		_, err := f.Call(i.store)
		return err
	}))
}

func (i *instance) MemorySize() uint64 {
	if i.mem == nil || i.inst == nil {
		return 0
	}
	return uint64(i.mem.DataSize(i.store))
}

func (i *instance) Global(name string) (uint64, bool) {
	if i.inst == nil {
		return 0, false
	}
	e := i.inst.GetExport(i.store, name)
	if e == nil {
		return 0, false
	}
	g := e.Global()
	if g == nil {
		return 0, false
	}
	v := g.Get(i.store)
	switch v.Kind() {
	case wasmtime.KindI32:
		return uint64(uint32(v.I32())), true
	case wasmtime.KindI64:
		return uint64(v.I64()), true
	case wasmtime.KindF32:
		return uint64(math.Float32bits(v.F32())), true
	case wasmtime.KindF64:
		return math.Float64bits(v.F64()), true
	}
	return 0, false
}

func (i *instance) Close(ctx context.Context) error {
	if i.store != nil {
		i.store.Close()
		i.store, i.inst, i.handle, i.mem = nil, nil, nil, nil
	}
	i.releaseMeter()
	return nil
}

type hostFn = func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap)

// trap records err as the reason the current call fails and returns the
// trap that unwinds it.
func (i *instance) trap(err error) *wasmtime.Trap {
	i.hostErr = err
	return wasmtime.NewTrap(err.Error())
}

// memory points the view at the guest's memory as it is now; it stays valid
// for the host call (the guest cannot grow it meanwhile).
func (i *instance) memory(c *wasmtime.Caller) bool {
	if i.mem == nil {
		// A call from the start function comes before Instantiate could
		// look the memory up.
		e := c.GetExport("memory")
		if e == nil {
			return false
		}
		if i.mem = e.Memory(); i.mem == nil {
			return false
		}
	}
	i.view.data = i.mem.UnsafeData(c)
	return true
}

// hostFunc binds a shared abi function to wasmtime's calling convention.
func (i *instance) hostFunc(f abi.Func) hostFn {
	return func(c *wasmtime.Caller, args []wasmtime.Val) (res []wasmtime.Val, trap *wasmtime.Trap) {
		defer func() {
			if r := recover(); r != nil {
				trap = i.trap(fmt.Errorf("%v (recovered by bubblewasm)\n%s", r, debug.Stack()))
			}
		}()
		if i.x == nil {
			return nil, i.trap(errors.New("bubblewasm host function called outside an exchange"))
		}
		if !i.memory(c) {
			return nil, i.trap(&abi.GuestError{Func: "memory", Reason: "the module exports no memory"})
		}
		for k, a := range args {
			i.stack[k] = uint64(uint32(a.I32()))
		}
		err := f.Call(i.x, &i.view, i.stack[:])
		i.view.data = nil
		if err != nil {
			return nil, i.trap(err)
		}
		if f.Results == 0 {
			return nil, nil
		}
		i.results[0] = wasmtime.ValI32(int32(uint32(i.stack[0])))
		return i.results[:1], nil
	}
}

// WASI errno values fdRead returns.
const (
	errnoSuccess = 0
	errnoFault   = 21
	errnoIO      = 29
)

// fdRead serves WASI's fd_read for an instance with a Stdin: reads of fd 0
// read the InstanceConfig's reader in the guest's call, as wazero does;
// other descriptors go to WASI's own fd_read. wasmtime's C API takes stdin
// only as a file path or bytes (there is no stdin counterpart of
// wasi_config_set_stdout_custom), and a pipe fed by a goroutine would read
// the exchange ahead of the guest: input limits and timeouts would hit
// modules that never read that far, a failed read would reach the guest as
// the end of input, and the goroutine could outlive the exchange.
func (i *instance) fdRead(wasi *wasmtime.Func) hostFn {
	return func(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
		if args[0].I32() != 0 {
			res, err := wasi.Call(c, args[0].I32(), args[1].I32(), args[2].I32(), args[3].I32())
			if err != nil {
				return nil, i.trap(err)
			}
			return []wasmtime.Val{wasmtime.ValI32(res.(int32))}, nil
		}
		errno := func(n int32) ([]wasmtime.Val, *wasmtime.Trap) {
			return []wasmtime.Val{wasmtime.ValI32(n)}, nil
		}
		if !i.memory(c) {
			return errno(errnoFault)
		}
		mem := i.view.data
		defer func() { i.view.data = nil }()
		iovs, count, nreadAt := uint64(uint32(args[1].I32())), uint64(uint32(args[2].I32())), uint64(uint32(args[3].I32()))
		if iovs+8*count > uint64(len(mem)) || nreadAt+4 > uint64(len(mem)) {
			return errno(errnoFault)
		}
		var total uint32
		for k := range count {
			at := iovs + 8*k
			ptr, n := uint64(binary.LittleEndian.Uint32(mem[at:])), uint64(binary.LittleEndian.Uint32(mem[at+4:]))
			if ptr+n > uint64(len(mem)) {
				return errno(errnoFault)
			}
			if n == 0 {
				continue
			}
			got, err := readSome(i.stdin, mem[ptr:ptr+n])
			total += uint32(got)
			if err != nil && err != io.EOF && total == 0 {
				return errno(errnoIO)
			}
			if err != nil || uint64(got) < n {
				break
			}
		}
		binary.LittleEndian.PutUint32(mem[nreadAt:], total)
		return errno(errnoSuccess)
	}
}

// readSome reads into p until it gets bytes or an error: io.Reader allows
// (0, nil), which fd_read would report as end of input.
func readSome(r io.Reader, p []byte) (int, error) {
	for {
		n, err := r.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// memView is the guest's memory as package abi's host functions see it.
type memView struct{ data []byte }

func (m *memView) Size() uint32 { return uint32(min(len(m.data), math.MaxUint32)) }

func (m *memView) Read(offset, length uint32) ([]byte, bool) {
	end := uint64(offset) + uint64(length)
	if end > uint64(len(m.data)) {
		return nil, false
	}
	return m.data[offset:end:end], true
}

func (m *memView) Write(offset uint32, p []byte) bool {
	end := uint64(offset) + uint64(len(p))
	if end > uint64(len(m.data)) {
		return false
	}
	copy(m.data[offset:end], p)
	return true
}

var (
	_ wasm.Engine   = (*Engine)(nil)
	_ wasm.Instance = (*instance)(nil)
	_ abi.Memory    = (*memView)(nil)
)
