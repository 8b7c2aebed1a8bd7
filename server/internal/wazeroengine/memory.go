package wazeroengine

import (
	"context"

	"github.com/tetratelabs/wazero/experimental"

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

// withAllocator makes the instance instantiated with ctx use the adapter's
// allocator, charging meter (nil: no charge).
func withAllocator(ctx context.Context, meter wasm.MemoryMeter) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(_, max uint64) experimental.LinearMemory {
		if m := newMappedMemory(max, meter); m != nil {
			return m
		}
		return &sliceMemory{max: max, meter: meter}
	}))
}

// sliceMemory is a linear memory in a Go slice, grown by append.
type sliceMemory struct {
	buf     []byte
	max     uint64
	meter   wasm.MemoryMeter
	started bool // the initial allocation was made
}

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if have := uint64(len(m.buf)); size > have {
		if m.meter != nil && !m.meter.Grow(size-have, !m.started) {
			return nil
		}
		m.buf = append(m.buf, make([]byte, size-have)...)
	}
	m.started = true
	return m.buf[:size]
}

func (m *sliceMemory) Free() { m.buf = nil }
