//go:build cgo

package wasmtimeengine

// #include <stddef.h>
// #include <stdint.h>
import "C"

import (
	"io"
	"runtime/cgo"
	"syscall"
	"unsafe"
)

// bubblewasmWasiWrite receives a guest's WASI stdout or stderr bytes, in the
// guest's fd_write call. handle names the io.Writer.
//
//export bubblewasmWasiWrite
func bubblewasmWasiWrite(handle C.uintptr_t, buf *C.uchar, n C.size_t) C.ptrdiff_t {
	w := cgo.Handle(handle).Value().(io.Writer)
	if _, err := w.Write(unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))); err != nil {
		return -C.ptrdiff_t(syscall.EIO) // a negative result is an OS error code
	}
	return C.ptrdiff_t(n)
}

// bubblewasmWasiRelease is called when wasmtime drops the output stream.
//
//export bubblewasmWasiRelease
func bubblewasmWasiRelease(handle C.uintptr_t) {
	cgo.Handle(handle).Delete()
	outputs.Add(-1)
}
