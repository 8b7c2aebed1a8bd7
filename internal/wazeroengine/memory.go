package wazeroengine

import (
	"context"

	"github.com/tetratelabs/wazero/experimental"

	"github.com/bubblewasm/bubblewasm/internal/memimage"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// Linear memory. By default wazero keeps a guest's memory in a Go slice
// that grows by append: a growing memory is copied, so the old and the new
// array are both alive for a while (up to twice the cap), and the array
// stays in the Go heap until a collection and the scavenger give it back.
// The adapter gives wazero its own allocator instead (experimental's
// memory allocator hook): on Linux and macOS (memory_mmap.go) the memory's
// whole maximum is reserved as address space up front, pages are made
// accessible as it grows, so it grows in place with no copy, and the
// mapping is unmapped as soon as the instance is closed. Elsewhere it is a
// Go slice, as before. Either way every byte is charged to the
// instance's wasm.MemoryMeter before the guest gets it.
//
// An instance made from a snapshot (wasm.Image) gets a memory that starts
// as the snapshot's: its first bytes map the image copy-on-write
// (memimage), or hold a copy of it. wazero asks for the module's declared
// minimum first; Instantiate then grows the memory to the image's size,
// which uncovers the image's bytes, already there.

// memory is a linear memory the allocator made.
type memory interface {
	experimental.LinearMemory
	// mapsImage reports whether the memory maps its image copy-on-write.
	mapsImage() bool
}

// withAllocator makes the instance instantiated with ctx use the adapter's
// allocator, charging meter (nil: no charge) and starting from image (nil:
// zeroed). made receives the memory.
func withAllocator(ctx context.Context, meter wasm.MemoryMeter, image *memimage.Image, made func(memory)) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(_, max uint64) experimental.LinearMemory {
		var m memory
		if mm := newMappedMemory(max, meter, image); mm != nil {
			m = mm
		} else {
			m = newSliceMemory(max, meter, image)
		}
		made(m)
		return m
	}))
}

// sliceMemory is a linear memory in a Go slice, grown by append.
type sliceMemory struct {
	buf     []byte // the memory, or its image's copy while it is smaller
	size    uint64 // the memory's size
	max     uint64
	meter   wasm.MemoryMeter
	started bool // the initial allocation was made
}

func newSliceMemory(max uint64, meter wasm.MemoryMeter, image *memimage.Image) *sliceMemory {
	m := &sliceMemory{max: max, meter: meter}
	if image != nil && uint64(image.Len()) <= max {
		m.buf = append([]byte(nil), image.Bytes()...)
	}
	return m
}

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size > m.size {
		if m.meter != nil && !m.meter.Grow(size-m.size, !m.started) {
			return nil
		}
		if have := uint64(len(m.buf)); size > have {
			m.buf = append(m.buf, make([]byte, size-have)...)
		}
		m.size = size
	}
	m.started = true
	return m.buf[:size]
}

func (m *sliceMemory) Free()           { m.buf = nil }
func (m *sliceMemory) mapsImage() bool { return false }
