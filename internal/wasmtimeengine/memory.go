//go:build cgo && (linux || darwin || freebsd)

package wasmtimeengine

// Linear memory. wasmtime's store limiter is a fixed number per store, so
// the adapter gives the engine a memory creator of its own
// (wasmtime_config_host_memory_creator_set) to charge a guest's memory to
// its instance's wasm.MemoryMeter as it grows, and refuse growth that the
// meter refuses: wasmtime then makes memory.grow return -1.
//
// The memories are what wasmtime's own would be: an anonymous mapping of
// the reservation wasmtime asks for plus its guard region, inaccessible
// until the memory grows into it (so compiled code keeps its bounds checks
// elided), unmapped when the store is dropped. The creator is called in
// wasmtime_instance_new with no way to tell which instance it is for, so
// instantiate pins its goroutine to its thread and names the meter in a
// thread-local variable for the call (bw_meter).
//
// An instance made from a snapshot whose memory image is a memfd
// (memimage.Image.Mapped) gets the image mapped copy-on-write over the
// start of its reservation, named the same way (bw_image_fd,
// bw_image_len); the bytes are there, readable and writable, before the
// memory has grown over them (Instantiate grows it to the image's size
// right after). A copied image is copied in by Instantiate.

/*
#include <stdlib.h>
#include <sys/mman.h>
#include "cshim.h"

// Defined in memory_export.go.
extern int bubblewasmMemoryGrow(uintptr_t, size_t, int);

// bw_meter is the meter (a cgo.Handle) of the instance this thread is
// creating, 0 for none.
static __thread uintptr_t bw_meter;

static void bw_set_meter(uintptr_t m) { bw_meter = m; }

// bw_image_fd and bw_image_len name the memory image (a memfd) that the
// memory this thread is creating starts with; bw_image_len is 0 for none.
static __thread int bw_image_fd;
static __thread size_t bw_image_len;

static void bw_set_image(int fd, size_t len) {
	bw_image_fd = fd;
	bw_image_len = len;
}

typedef struct {
	uint8_t *base;
	size_t size;     // the memory's size
	size_t open;     // accessible bytes (an image's, before size grows over them)
	size_t reserved; // bytes the memory may grow to in place
	size_t mapped;   // the whole mapping: reserved plus the guard region
	uintptr_t meter;
} bw_memory;

static uint8_t *bw_mem_get(void *env, size_t *size, size_t *capacity) {
	bw_memory *m = env;
	*size = m->size;
	*capacity = m->reserved;
	return m->base;
}

static wasmtime_error_t *bw_mem_grow_to(bw_memory *m, size_t new_size, int must) {
	if (new_size <= m->size) {
		return NULL;
	}
	if (new_size > m->reserved) {
		return wasmtime_error_new("bubblewasm: memory cannot grow past its reservation");
	}
	if (m->meter != 0 && !bubblewasmMemoryGrow(m->meter, new_size - m->size, must)) {
		return wasmtime_error_new("bubblewasm: the process's memory budget is used up");
	}
	if (new_size > m->open) {
		if (mprotect(m->base + m->open, new_size - m->open, PROT_READ | PROT_WRITE) != 0) {
			return wasmtime_error_new("bubblewasm: mprotect failed");
		}
		m->open = new_size;
	}
	m->size = new_size;
	return NULL;
}

static wasmtime_error_t *bw_mem_grow(void *env, size_t new_size) {
	return bw_mem_grow_to(env, new_size, 0);
}

static void bw_mem_free(void *env) {
	bw_memory *m = env;
	munmap(m->base, m->mapped);
	free(m);
}

static wasmtime_error_t *bw_new_memory(void *env, const wasm_memorytype_t *ty, size_t minimum,
                                       size_t maximum, size_t reserved, size_t guard,
                                       wasmtime_linear_memory_t *ret) {
	const size_t max32 = (size_t)1 << 32;
	if (reserved == 0) { // a memory that may move: reserve its maximum instead
		reserved = maximum < max32 ? maximum : max32;
	}
	if (minimum > reserved || reserved > SIZE_MAX - guard || reserved + guard == 0) {
		return wasmtime_error_new("bubblewasm: memory reservation out of range");
	}
	bw_memory *m = calloc(1, sizeof *m);
	if (m == NULL) {
		return wasmtime_error_new("bubblewasm: out of memory");
	}
	m->mapped = reserved + guard;
	m->reserved = reserved;
	m->meter = bw_meter;
	void *p = mmap(NULL, m->mapped, PROT_NONE, MAP_PRIVATE | MAP_ANON
#ifdef MAP_NORESERVE
		| MAP_NORESERVE
#endif
		, -1, 0);
	if (p == MAP_FAILED) {
		free(m);
		return wasmtime_error_new("bubblewasm: cannot reserve address space for a memory");
	}
	m->base = p;
	if (bw_image_len > 0) {
		if (bw_image_len > reserved || mmap(p, bw_image_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, bw_image_fd, 0) == MAP_FAILED) {
			bw_mem_free(m);
			return wasmtime_error_new("bubblewasm: cannot map the memory's snapshot");
		}
		m->open = bw_image_len;
	}
	wasmtime_error_t *err = bw_mem_grow_to(m, minimum, 1); // admitted already: not refused
	if (err != NULL) {
		bw_mem_free(m);
		return err;
	}
	ret->env = m;
	ret->get_memory = bw_mem_get;
	ret->grow_memory = bw_mem_grow;
	ret->finalizer = bw_mem_free;
	return NULL;
}

static void bw_use_memory_creator(wasm_config_t *cfg) {
	wasmtime_memory_creator_t c = {0};
	c.new_memory = bw_new_memory;
	wasmtime_config_host_memory_creator_set(cfg, &c);
}
*/
import "C"

import (
	"runtime"
	"runtime/cgo"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/bubblewasm/bubblewasm/internal/memimage"
)

// useMemoryCreator makes cfg's engine create linear memories with
// bw_new_memory, and reports true.
func useMemoryCreator(cfg *wasmtime.Config) bool {
	C.bw_use_memory_creator((*C.wasm_config_t)(cPointer(cfg)))
	runtime.KeepAlive(cfg)
	// Copy-on-write memory images work only with wasmtime's own memories
	// (with a creator, wasmtime 39 aborts on "memory_image is Some only for
	// mmap-based memories"): data segments are copied in instead.
	cfg.SetMemoryInitCOWSet(false)
	return true
}

// metered runs create (which makes the store's memories) with the
// instance's meter and memory image named to the memory creator, and keeps
// the meter's handle for the memories' growth until the instance is
// closed. It reports whether the memory maps image.
func (i *instance) metered(image *memimage.Image, create func() error) (mapped bool, err error) {
	mapped = image != nil && image.Mapped() && i.m.e.metered
	if i.meter == nil && !mapped {
		return false, create()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if i.meter != nil && i.meterHandle == 0 {
		i.meterHandle = cgo.NewHandle(i.meter)
	}
	C.bw_set_meter(C.uintptr_t(i.meterHandle))
	defer C.bw_set_meter(0)
	if mapped {
		C.bw_set_image(C.int(image.Fd()), C.size_t(image.Len()))
		defer C.bw_set_image(-1, 0)
	}
	return mapped, create()
}

// releaseMeter deletes the meter's handle once the store (and with it every
// memory that could call the meter) is gone.
func (i *instance) releaseMeter() {
	if i.meterHandle != 0 {
		i.meterHandle.Delete()
		i.meterHandle = 0
	}
}
