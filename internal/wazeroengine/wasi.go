package wazeroengine

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// WASI errno values of the functions fixStdio replaces.
const (
	errnoBadf   = 8
	errnoNotsup = 58
)

// fixStdio replaces, in a WASI host module being built, the functions that
// change the descriptor table or a descriptor's flags: fd_close,
// fd_renumber and fd_fdstat_set_flags fail with ENOTSUP on the standard
// streams, and with EBADF on any other descriptor (a handler has no
// other: no preopened directories, no sockets). See wasm.Limits.FixedStdio.
func fixStdio(b wazero.HostModuleBuilder) {
	refuse := func(ctx context.Context, mod api.Module, stack []uint64) {
		if uint32(stack[0]) <= 2 {
			stack[0] = errnoNotsup
		} else {
			stack[0] = errnoBadf
		}
	}
	i32 := api.ValueTypeI32
	for _, f := range []struct {
		name  string
		names []string
	}{
		{"fd_close", []string{"fd"}},
		{"fd_renumber", []string{"fd", "to"}},
		{"fd_fdstat_set_flags", []string{"fd", "flags"}},
	} {
		params := make([]api.ValueType, len(f.names))
		for k := range params {
			params[k] = i32
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(refuse), params, []api.ValueType{i32}).
			WithParameterNames(f.names...).WithResultNames("errno").Export(f.name)
	}
}
