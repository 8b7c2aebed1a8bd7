//go:build !cgo

package wasmtimeengine

import (
	"errors"
	"testing"
)

// Run with CGO_ENABLED=0: the package builds, and New says why there is no
// engine.
func TestNewWithoutCgo(t *testing.T) {
	e, err := New(t.TempDir())
	if e != nil || !errors.Is(err, ErrUnavailable) || Available() {
		t.Fatalf("New = %v, %v; Available = %v", e, err, Available())
	}
	if want := "wasmtime engine needs cgo; this bubblewasm was built with CGO_ENABLED=0"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}
