//go:build cgo && !(linux || darwin || freebsd)

package wasmtimeengine

import (
	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/bubblewasm/bubblewasm/internal/memimage"
)

// useMemoryCreator has no memory creator to offer on this platform: guest
// memory is wasmtime's own, bounded by the store limiter only.
func useMemoryCreator(*wasmtime.Config) bool { return false }

func (i *instance) metered(_ *memimage.Image, create func() error) (bool, error) {
	return false, create()
}

func (i *instance) releaseMeter() {}
