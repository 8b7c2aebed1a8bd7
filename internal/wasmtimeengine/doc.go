// Package wasmtimeengine adapts wasmtime, through wasmtime-go (cgo), to
// wasm.Engine. It mirrors the wazero adapter: the same host functions from
// package abi, the same limits, the same errors for the route handler.
//
// # Compilation cache
//
// Compiled code is kept by wasmtime's own cache (Config.CacheConfigLoad),
// in the "wasmtime" subdirectory of the cache directory given to New.
// wasmtime keys its entries by a hash of the module bytes, the compiler
// settings and the wasmtime version, writes them atomically, and compresses
// them; with an empty cache directory nothing is kept on disk.
//
// # Limits
//
//   - Time: epoch interruption. Each engine increments wasmtime's epoch every
//     10 ms (a ticker goroutine); every store's epoch deadline is one tick
//     ahead, and at each tick the running guest calls a small C callback that
//     reads the store's stop flag and either continues for one more tick or
//     stops the guest with an error. Every guest call (instantiation,
//     _initialize, bubble_init, bubble_handle, _start) sets that flag when
//     its context ends (context.AfterFunc), so a deadline and a cancellation
//     both stop even a loop without calls within about one tick. Such calls
//     return an error wrapping context.DeadlineExceeded or
//     context.Canceled, as the wazero adapter's do.
//   - Memory: a store limiter from Limits.MemoryPages (memory.grow past it
//     returns -1) and Limits.TableElements; Compile refuses a module whose
//     exported memory starts above the cap, as wazero does. Linear memories
//     come from the adapter's memory creator (memory.go), which charges
//     every byte to the instance's wasm.MemoryMeter and refuses growth the
//     meter refuses (memory.grow returns -1); copy-on-write memory images
//     are off, as a creator requires.
//   - Stack: wasmtime runs a guest on the native stack of the calling
//     thread and traps past Config.SetMaxWasmStack (MaxWasmStack). A guest
//     that overflowed the thread's own stack first would crash the whole
//     process, so the limit is half the stack of the threads Go makes for
//     cgo calls, at most 4 MiB: 4 MiB with the usual 8 MiB thread stacks,
//     1 MiB with glibc's 2 MiB when `ulimit -s` is unlimited. The route's
//     max_stack guard in the binary (server/wasm) still applies, and with
//     4 MiB it is usually the first to stop a runaway recursion at the
//     default budget (measured: 80 real bytes per level of recurse.wat for
//     88 estimated); a larger max_stack only gets MaxWasmStack on this
//     engine, and a deep finite recursion that wazero grows a heap stack
//     for can trap here.
//
// # Host functions
//
// The core imports are wasmtime.NewFunc closures made per store for the
// names the module imports, bound to the instance's current exchange. WASI
// preview 1 is linked only into modules that import it, with stdout and
// stderr sent synchronously to the InstanceConfig writers, the
// InstanceConfig's arguments and environment (none for ABI v1 handlers), its
// Stdin read in the guest's fd_read (fdRead), and no preopened directories.
//
// Without cgo the package still builds, and New returns ErrUnavailable.
package wasmtimeengine

import "errors"

// ErrUnavailable is returned by New in a build without cgo.
var ErrUnavailable = errors.New("wasmtime engine needs cgo; this bubblewasm was built with CGO_ENABLED=0")

// Available reports whether this build includes the wasmtime engine.
func Available() bool { return available }
