//go:build cgo && (linux || darwin || freebsd)

package wasmtimeengine

// #include <stddef.h>
// #include <stdint.h>
import "C"

import (
	"runtime/cgo"

	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// bubblewasmMemoryGrow charges n more bytes of a guest's memory to the
// meter that handle names; 0 refuses them. It runs in the guest's
// memory.grow (or its instantiation).
//
//export bubblewasmMemoryGrow
func bubblewasmMemoryGrow(handle C.uintptr_t, n C.size_t, must C.int) C.int {
	m, ok := cgo.Handle(handle).Value().(wasm.MemoryMeter)
	if ok && m.Grow(uint64(n), must != 0) {
		return 1
	}
	return 0
}
