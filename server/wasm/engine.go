package wasm

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/memimage"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
)

// Engine compiles modules. Implementations adapt one wasm runtime.
type Engine interface {
	// Name is the engine's configuration name, such as "wazero".
	Name() string
	// Validate checks that wasm is a valid module for the engine's feature
	// set, as cheaply as the engine allows (no machine code is kept). New
	// calls it on the module as written, before the load-time rewrites (see
	// prepare), so that no rewrite can make an invalid module valid.
	Validate(ctx context.Context, wasm []byte) error
	// Compile validates and compiles a module. The returned Module honours
	// limits for every instance it makes.
	Compile(ctx context.Context, wasm []byte, limits Limits) (Module, error)
	// InterruptGuard reports whether the engine would rather stop a guest
	// (whose call's context ended) through the interrupt guard that the
	// load-time rewrite can add than by its own means: New then adds it
	// and sets Limits.InterruptGuard (see guardStack).
	InterruptGuard() bool
	// Close releases the engine; modules it compiled must be closed first.
	Close(ctx context.Context) error
}

// Limits bound every instance of a module.
type Limits struct {
	// MemoryPages caps linear memory, in 64 KiB pages.
	MemoryPages uint32
	// TableElements caps every table (default DefaultTableElements). It is
	// applied to the binary before the engine compiles it (see capTables).
	TableElements uint32
	// StackBytes is the call-stack budget in estimated bytes of frames
	// (default DefaultStackBytes); a deeper call traps. It is enforced by
	// instrumenting the binary (see guardStack).
	StackBytes uint32
	// InterruptGuard says that the binary has the interrupt guard (see
	// guardStack): every function entry and every loop checks the
	// InterruptGlobal export and traps once it is non-zero, so the engine
	// can stop a guest by setting it.
	InterruptGuard bool
	// FixedStdio keeps an instance's WASI standard streams as they were
	// made: fd_close, fd_renumber and fd_fdstat_set_flags fail with
	// ENOTSUP on descriptors 0, 1 and 2 (and EBADF on any other: there are
	// no others). It is set for ABI v1 handlers, whose instances serve
	// more than one exchange (pool, snapshot), so that no exchange can
	// change the descriptors the next one sees; a CGI command keeps full
	// WASI.
	FixedStdio bool
}

// Module is a compiled module.
type Module interface {
	// Imports lists the functions the module imports.
	Imports() []Import
	// Exports lists the functions the module exports.
	Exports() []Export
	// ExportsMemory reports whether the module exports a memory named name.
	ExportsMemory(name string) bool
	// Instantiate makes an instance with cfg's WASI streams, arguments and
	// environment. Unless cfg.Command is set, it then runs _initialize and
	// bubble_init when exported, with cfg.Init bound to their host calls
	// (log, mostly), and the module must export bubble_handle.
	Instantiate(ctx context.Context, cfg InstanceConfig) (Instance, error)
	// Close releases the module.
	Close(ctx context.Context) error
}

// InstanceConfig is what differs between instances of one module.
type InstanceConfig struct {
	// Stdout and Stderr receive the guest's WASI output.
	Stdout, Stderr io.Writer
	// Stdin is the guest's WASI standard input, read as the guest asks for
	// it, in its call (nil reads as empty).
	Stdin io.Reader
	// Environ is the guest's WASI environment as "KEY=value" strings (ABI
	// v1 handlers get none).
	Environ []string
	// Args are the guest's WASI arguments, program name first.
	Args []string
	// Command makes the instance of a WASI command, whose entry point
	// (_start) the caller runs with Instance.Call: Instantiate runs the
	// module's start function (and StartExport) only, not _initialize or
	// bubble_init, and does not require bubble_handle.
	Command bool
	// Init serves host calls made while the instance initializes.
	Init abi.Exchange
	// Memory, when set, is charged for the instance's linear memory before
	// the engine gives it any: its initial size, then every growth. A
	// refused growth makes the guest's memory.grow return -1.
	Memory MemoryMeter
	// Data are active data segments that the adapter writes into the new
	// instance's memory after instantiating it, before it calls the
	// StartExport, _initialize and bubble_init exports: the snapshot
	// rewrite took them out of the module (see snapshot.go). A segment
	// outside the memory fails the instantiation.
	Data []DataInit
	// Image, when set, makes the instance from a snapshot: its memory
	// starts as Image.Memory (contents and size; mapped copy-on-write where
	// the image is memimage.Image.Mapped), its mutable globals as
	// Image.Globals, and nothing of the module's initialization runs (Data
	// is ignored). Such an instance can be Reset.
	Image *Image
}

// Image is the state of an instance right after its initialization, which
// the snapshot lifecycle makes instances from and resets them to.
type Image struct {
	// Memory is the contents of the linear memory (its size is the
	// memory's size).
	Memory *memimage.Image
	// Globals are the module's mutable globals, by the export names the
	// snapshot rewrite gave them.
	Globals []GlobalValue
}

// GlobalValue is the value of a global as a Global returns it: the bits
// of an i32 (zero-extended), i64, f32 or f64.
type GlobalValue struct {
	Name string
	Bits uint64
}

// Instance is an instantiated module. It serves one exchange at a time.
type Instance interface {
	// Handle calls bubble_handle with x bound to the host functions. It
	// returns the guest's result, or an error when the call trapped, ran out
	// of time (ctx) or could not run; after an error the instance is unusable.
	Handle(ctx context.Context, x abi.Exchange) (int32, error)
	// Call calls the exported function name, which takes no parameters
	// (its results are dropped), with no exchange bound to the host
	// functions. A call the guest ended with WASI's proc_exit returns an
	// *ExitError; other errors are as Handle's.
	Call(ctx context.Context, name string) error
	// MemorySize is the current size of the instance's memory in bytes.
	MemorySize() uint64
	// Global returns the value of an exported global, if there is one.
	Global(name string) (uint64, bool)
	// Memory returns the instance's linear memory as it is now (nil when it
	// has none). It aliases the memory and stays valid until the memory
	// grows or the instance closes.
	Memory() []byte
	// Reset makes an instance made from an Image the image again: its
	// memory (where it maps the image, only the pages written since) and
	// its mutable globals. It fails when the memory grew or the instance
	// was not made from an image; then the instance must be closed.
	Reset() error
	// Close releases the instance.
	Close(ctx context.Context) error
}

// ExitError is the error of a call that the guest ended with WASI's
// proc_exit.
type ExitError struct {
	// Code is proc_exit's argument.
	Code uint32
}

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// RunCommand runs a WASI command module once: it makes an instance of m
// with cfg (as a Command), calls _start and closes the instance. It returns
// the exit code (proc_exit's argument, or 0 when _start returns); err is set
// when the module trapped, ran out of time (ctx) or could not run.
func RunCommand(ctx context.Context, m Module, cfg InstanceConfig) (exitCode uint32, err error) {
	cfg.Command = true
	inst, err := m.Instantiate(ctx, cfg)
	if err == nil {
		err = inst.Call(ctx, abi.ExportStart)
		inst.Close(context.Background())
	}
	if exit, ok := errors.AsType[*ExitError](err); ok {
		return exit.Code, nil
	}
	return 0, err
}

// ValueType is a wasm value type in a function signature; its String is
// the text format's name ("i32", "funcref", ...).
type ValueType = wasmbin.ValType

// Value types.
const (
	I32 = wasmbin.I32
	I64 = wasmbin.I64
	F32 = wasmbin.F32
	F64 = wasmbin.F64
)

// Signature is a function type.
type Signature struct {
	Params, Results []ValueType
}

// Import is an imported function.
type Import struct {
	Module, Name string
	Signature
}

// Export is an exported function.
type Export struct {
	Name string
	Signature
}
