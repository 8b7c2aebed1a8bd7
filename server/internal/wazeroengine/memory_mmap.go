//go:build linux || darwin

package wazeroengine

import (
	"syscall"

	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// mappedMemory is a linear memory in an anonymous mapping that reserves
// its maximum: the first size bytes are readable and writable, the rest
// inaccessible until the memory grows into them.
type mappedMemory struct {
	buf     []byte // the whole reservation
	size    uint64 // accessible bytes
	meter   wasm.MemoryMeter
	started bool
}

// newMappedMemory reserves max bytes of address space (nothing is
// committed), or returns nil when it cannot (then the caller falls back to
// a slice).
func newMappedMemory(max uint64, meter wasm.MemoryMeter) *mappedMemory {
	if max == 0 || max > 1<<32 {
		return nil
	}
	buf, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|mapNoReserve)
	if err != nil {
		return nil
	}
	return &mappedMemory{buf: buf, meter: meter}
}

// Reallocate makes size bytes accessible, in place: the address of the
// memory never changes.
func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	if size > m.size {
		if m.meter != nil && !m.meter.Grow(size-m.size, !m.started) {
			return nil
		}
		if err := syscall.Mprotect(m.buf[m.size:size], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			return nil
		}
		m.size = size
	}
	m.started = true
	return m.buf[:size:size]
}

// Free unmaps the memory: its pages go back to the operating system at
// once. wazero calls it when the instance is closed, from the goroutine
// that runs (or last ran) the guest.
func (m *mappedMemory) Free() {
	if m.buf != nil {
		syscall.Munmap(m.buf)
		m.buf, m.size = nil, 0
	}
}
