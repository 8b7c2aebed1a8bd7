//go:build cgo

package wasmtimeengine

import (
	"errors"
	"reflect"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// wasmtime-go v39 gives the C object behind a Store or a Config to no one:
// there is Store.Context for the wasmtime_context_t, but no accessor for the
// wasmtime_store_t (wasmtime_store_epoch_deadline_callback needs it) or the
// wasm_config_t (wasmtime_config_host_memory_creator_set). Until wasmtime-go
// exports them (RATIONALE.md, "wasmtime-go: what the adapter reaches
// around"), cPointer reads the struct's first field, `_ptr`, and checkLayout
// makes sure at New that this is what the field is.

// cPointer returns the C object that v wraps.
func cPointer[T wasmtime.Store | wasmtime.Config](v *T) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(v))
}

// checkLayout makes sure that a Store and a Config begin with the pointer
// to their C object, which cPointer reads. A wasmtime-go upgrade that
// changes this fails New instead of crashing.
func checkLayout() error {
	for _, t := range []reflect.Type{reflect.TypeFor[wasmtime.Store](), reflect.TypeFor[wasmtime.Config]()} {
		f, ok := t.FieldByName("_ptr")
		if !ok || f.Offset != 0 || f.Type.Kind() != reflect.Pointer {
			return errors.New("wasmtime engine: this wasmtime-go's " + t.Name() + " layout is not the one the adapter was written for")
		}
	}
	return nil
}
