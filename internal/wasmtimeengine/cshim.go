//go:build cgo

package wasmtimeengine

// wasmtime-go does not expose three parts of wasmtime's C API that the
// adapter needs, so it calls them itself. libwasmtime is linked into the
// binary by wasmtime-go's cgo flags; the functions are declared in cshim.h
// (a test checks the declarations against wasmtime's headers).
//
//   - wasi_config_set_stdout_custom/stderr_custom: a guest's WASI stdout and
//     stderr go to a callback, called synchronously in the guest's fd_write,
//     instead of a file path (all wasmtime-go offers). So output reaches the
//     InstanceConfig writers with no pipe, file or goroutine in between.
//   - wasmtime_store_epoch_deadline_callback: at every epoch tick the running
//     guest checks a per-store flag (a load, no Go call) and stops when the
//     call's context has ended; see interrupt. It takes the wasmtime_store_t,
//     which wasmtime-go keeps unexported (see cpointer.go).
//   - the rest of the WASI configuration (argv, env) on a wasi_config_t the
//     adapter owns, given to the store with wasmtime_context_set_wasi through
//     the public Store.Context.

/*
#include <stdlib.h>
#ifndef _WIN32
#include <pthread.h>
#endif
#include "cshim.h"

// bw_thread_stack returns the stack size of the threads cgo makes: Go's
// runtime/cgo creates them with a default pthread_attr_t. 0 when unknown.
static size_t bw_thread_stack(void) {
	size_t n = 0;
#ifndef _WIN32
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_getstacksize(&attr, &n);
		pthread_attr_destroy(&attr);
	}
#endif
	return n;
}

// Defined in export.go.
extern ptrdiff_t bubblewasmWasiWrite(uintptr_t, unsigned char *, size_t);
extern void bubblewasmWasiRelease(uintptr_t);

static ptrdiff_t bw_write(void *data, const unsigned char *buf, size_t n) {
	return bubblewasmWasiWrite((uintptr_t)data, (unsigned char *)buf, n);
}

static void bw_release(void *data) { bubblewasmWasiRelease((uintptr_t)data); }

static void bw_set_output(wasi_config_t *c, int fd, uintptr_t handle) {
	if (fd == 1) {
		wasi_config_set_stdout_custom(c, bw_write, (void *)handle, bw_release);
	} else {
		wasi_config_set_stderr_custom(c, bw_write, (void *)handle, bw_release);
	}
}

// bw_epoch runs in the guest's thread each time the store's epoch deadline
// passes (every tick, since the deadline is always one tick ahead).
static wasmtime_error_t *bw_epoch(wasmtime_context_t *cx, void *data, uint64_t *delta,
                                  wasmtime_update_deadline_kind_t *kind) {
	if (__atomic_load_n((int32_t *)data, __ATOMIC_ACQUIRE)) {
		return wasmtime_error_new("bubblewasm: guest interrupted");
	}
	*delta = 1;
	*kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
	return NULL;
}

// bw_watch installs bw_epoch on a store; the flag lives (and is freed) with
// the store.
static int32_t *bw_watch(wasmtime_store_t *store) {
	int32_t *flag = calloc(1, sizeof *flag);
	if (flag != NULL) {
		wasmtime_store_epoch_deadline_callback(store, bw_epoch, flag, free);
	}
	return flag;
}
*/
import "C"

import (
	"errors"
	"io"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// threadStack is the native stack size of the threads Go makes for cgo
// calls, in which wasmtime runs guests; 0 when unknown.
func threadStack() int { return int(C.bw_thread_stack()) }

func contextPtr(s *wasmtime.Store) *C.wasmtime_context_t {
	return (*C.wasmtime_context_t)(unsafe.Pointer(s.Context()))
}

// interrupt is a store's stop flag, read by bw_epoch at every epoch tick.
// It is C memory, freed with the store.
type interrupt struct{ flag *int32 }

func watch(s *wasmtime.Store) (interrupt, error) {
	p := C.bw_watch((*C.wasmtime_store_t)(cPointer(s)))
	runtime.KeepAlive(s)
	if p == nil {
		return interrupt{}, errors.New("out of memory")
	}
	return interrupt{flag: (*int32)(unsafe.Pointer(p))}, nil
}

func (i interrupt) set()        { atomic.StoreInt32(i.flag, 1) }
func (i interrupt) reset()      { atomic.StoreInt32(i.flag, 0) }
func (i interrupt) isSet() bool { return atomic.LoadInt32(i.flag) != 0 }

// wasiOptions is what a store's WASI context gets. There are never
// preopened directories, and nothing is inherited from the host process.
type wasiOptions struct {
	stdout, stderr io.Writer
	args, environ  []string
}

// setWasi gives the store a WASI context. Every store whose module imports
// WASI needs one: wasmtime aborts the process when a WASI function runs in a
// store without it.
func setWasi(s *wasmtime.Store, o wasiOptions) error {
	c := C.wasi_config_new()
	if len(o.args) > 0 {
		args, free := cStrings(o.args)
		ok := C.wasi_config_set_argv(c, C.size_t(len(o.args)), &args[0])
		free()
		if !ok {
			C.wasi_config_delete(c)
			return errors.New("WASI arguments must be valid UTF-8")
		}
	}
	if len(o.environ) > 0 {
		keys, values := make([]string, len(o.environ)), make([]string, len(o.environ))
		for i, kv := range o.environ {
			keys[i], values[i], _ = strings.Cut(kv, "=")
		}
		k, freeK := cStrings(keys)
		v, freeV := cStrings(values)
		ok := C.wasi_config_set_env(c, C.size_t(len(keys)), &k[0], &v[0])
		freeK()
		freeV()
		if !ok {
			C.wasi_config_delete(c)
			return errors.New("the WASI environment must be valid UTF-8")
		}
	}
	// Without a writer, wasmtime's default output discards what it gets.
	if o.stdout != nil {
		outputs.Add(1)
		C.bw_set_output(c, 1, C.uintptr_t(cgo.NewHandle(o.stdout)))
	}
	if o.stderr != nil {
		outputs.Add(1)
		C.bw_set_output(c, 2, C.uintptr_t(cgo.NewHandle(o.stderr)))
	}
	if err := C.wasmtime_context_set_wasi(contextPtr(s), c); err != nil {
		C.wasmtime_error_delete(err)
		return errors.New("WASI context could not be set")
	}
	runtime.KeepAlive(s)
	return nil
}

// outputs counts the WASI output writers wasmtime holds (their handles are
// released when it drops them), for the tests.
var outputs atomic.Int64

// cStrings copies ss to C strings; free releases them.
func cStrings(ss []string) ([]*C.char, func()) {
	out := make([]*C.char, len(ss))
	for i, s := range ss {
		out[i] = C.CString(s)
	}
	return out, func() {
		for _, p := range out {
			C.free(unsafe.Pointer(p))
		}
	}
}
