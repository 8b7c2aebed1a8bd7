//go:build linux || darwin

package wazeroengine

import (
	"syscall"

	"github.com/bubblewasm/bubblewasm/internal/memimage"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// mappedMemory is a linear memory in an anonymous mapping that reserves
// its maximum: the first size bytes are the memory, the bytes up to open
// are readable and writable (an image's, before the memory has grown over
// them), the rest inaccessible until the memory grows into them.
type mappedMemory struct {
	buf     []byte // the whole reservation
	size    uint64 // the memory's size
	open    uint64 // accessible bytes
	meter   wasm.MemoryMeter
	started bool
	mapped  bool // buf starts with a copy-on-write mapping of an image
}

// newMappedMemory reserves max bytes of address space (nothing is
// committed) and, with an image, maps or copies it into the first bytes.
// It returns nil when it cannot (then the caller falls back to a slice).
func newMappedMemory(max uint64, meter wasm.MemoryMeter, image *memimage.Image) *mappedMemory {
	if max == 0 || max > 1<<32 {
		return nil
	}
	buf, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|mapNoReserve)
	if err != nil {
		return nil
	}
	m := &mappedMemory{buf: buf, meter: meter}
	if image != nil {
		n := uint64(image.Len())
		ok := n <= max
		if ok && !image.Mapped() {
			ok = syscall.Mprotect(buf[:n], syscall.PROT_READ|syscall.PROT_WRITE) == nil
		}
		if ok {
			m.mapped, err = image.Init(buf[:n])
			ok = err == nil
		}
		if !ok {
			syscall.Munmap(buf)
			return nil
		}
		m.open = n
	}
	return m
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
		if size > m.open {
			if err := syscall.Mprotect(m.buf[m.open:size], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
				return nil
			}
			m.open = size
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
		m.buf, m.size, m.open = nil, 0, 0
	}
}

func (m *mappedMemory) mapsImage() bool { return m.mapped }
