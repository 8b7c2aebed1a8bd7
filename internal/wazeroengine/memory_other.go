//go:build !(linux || darwin)

package wazeroengine

import (
	"github.com/bubblewasm/bubblewasm/internal/memimage"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// newMappedMemory has no mapping to offer on this platform: the memory is a
// Go slice.
func newMappedMemory(uint64, wasm.MemoryMeter, *memimage.Image) *sliceMemory { return nil }
