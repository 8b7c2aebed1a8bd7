//go:build !cgo

package wasmtimeengine

import "github.com/bubblewasm/bubblewasm/server/wasm"

const available = false

// New returns ErrUnavailable: wasmtime is a C library, and this build has no
// cgo.
func New(cacheDir string) (wasm.Engine, error) { return nil, ErrUnavailable }

// MaxWasmStack is 0: there is no wasmtime in this build.
func MaxWasmStack() int { return 0 }
