//go:build cgo

package wasmtimeengine

import "github.com/bytecodealliance/wasmtime-go/v39"

// WASI errno values of refuseStdio.
const (
	errnoBadf   = 8
	errnoNotsup = 58
)

// fixedStdio are the WASI functions that change the descriptor table or a
// descriptor's flags, which Limits.FixedStdio replaces with refuseStdio.
var fixedStdio = map[string]bool{"fd_close": true, "fd_renumber": true, "fd_fdstat_set_flags": true}

// refuseStdio fails a call to one of fixedStdio: ENOTSUP on the standard
// streams, EBADF on any other descriptor (a handler has no other: no
// preopened directories, no sockets).
func refuseStdio(_ *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	errno := int32(errnoBadf)
	if len(args) > 0 && args[0].Kind() == wasmtime.KindI32 && uint32(args[0].I32()) <= 2 {
		errno = errnoNotsup
	}
	return []wasmtime.Val{wasmtime.ValI32(errno)}, nil
}
