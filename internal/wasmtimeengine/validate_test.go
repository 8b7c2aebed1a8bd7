//go:build cgo

package wasmtimeengine_test

import (
	"context"
	"os"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testbuild"
)

// BenchmarkValidate measures wasmtime's validation of a Go module, which
// the host runs at every load before rewriting the module.
func BenchmarkValidate(b *testing.B) {
	bin, err := os.ReadFile(testbuild.Module(b, "hello"))
	if err != nil {
		b.Fatal(err)
	}
	e := newEngine(b, "")
	for b.Loop() {
		if err := e.Validate(context.Background(), bin); err != nil {
			b.Fatal(err)
		}
	}
}
