package wasmbin_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin/wasmbintest"
)

// FuzzParse checks that the reader never panics, allocates at most
// allocBound for any input, reports errors inside the input, and reads the
// same module again from the sections it returned (and the same names from
// a name section it re-encodes).
func FuzzParse(f *testing.F) {
	wasmbintest.Seeds(f)
	f.Fuzz(func(t *testing.T, bin []byte) {
		var m *wasmbin.Module
		var err error
		if n := allocated(func() { m, err = wasmbin.Parse(bin) }); n > allocBound(len(bin)) {
			t.Fatalf("parsing %d bytes allocated %d, over the bound of %d", len(bin), n, allocBound(len(bin)))
		}
		if err != nil {
			var e *wasmbin.Error
			if !errors.As(err, &e) || e.Offset < 0 || e.Offset > len(bin) || e.Section == "" || e.Reason == "" {
				t.Fatalf("error %#v (%v) does not locate the problem in the %d-byte input", e, err, len(bin))
			}
			return
		}
		roundTrip(t, "input", m)
		if m.Names != nil {
			rebuilt := wasmbintest.Module(wasmbintest.Section(wasmbin.SecCustom, wasmbin.EncodeNames(m.Names)))
			again, err := wasmbin.Parse(rebuilt)
			if err != nil || again.Names == nil || again.Names.Module != m.Names.Module || len(again.Names.Funcs) != len(m.Names.Funcs) {
				t.Fatalf("re-encoded names read differently: %v, %+v", err, again)
			}
		}
		if !bytes.Equal(wasmbin.Encode(m.Sections)[:8], bin[:8]) {
			t.Fatal("header changed")
		}
	})
}
