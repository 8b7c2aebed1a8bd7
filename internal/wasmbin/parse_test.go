package wasmbin_test

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin/wasmbintest"
)

// allocBound is what Parse may allocate for an input of n bytes: a
// constant, plus a small multiple of the input (the decoded structure is at
// most a few words per byte of binary that encodes it).
func allocBound(n int) uint64 { return 16<<10 + 64*uint64(n) }

// allocated returns the bytes f allocates (as the runtime counts them; the
// test runs nothing else meanwhile).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestParseHostile reads the count bombs and the other hostile binaries:
// each is refused with an error that names its section and offset, or
// (a malformed name section) read with the name section ignored, and
// reading takes memory bounded by the input's size whatever it claims.
func TestParseHostile(t *testing.T) {
	for _, c := range wasmbintest.Hostile() {
		t.Run(c.Name, func(t *testing.T) {
			var m *wasmbin.Module
			var err error
			if n := allocated(func() { m, err = wasmbin.Parse(c.Bin) }); n > allocBound(len(c.Bin)) {
				t.Errorf("parsing %d bytes allocated %d bytes, over the bound of %d", len(c.Bin), n, allocBound(len(c.Bin)))
			}
			switch {
			case c.Reader != "":
				var e *wasmbin.Error
				if !errors.As(err, &e) || !strings.Contains(err.Error(), c.Reader) || !strings.Contains(err.Error(), " at byte ") {
					t.Fatalf("err = %v, want a *wasmbin.Error containing %q", err, c.Reader)
				}
				if e.Offset < 0 || e.Offset > len(c.Bin) {
					t.Fatalf("error offset %d outside the %d-byte binary", e.Offset, len(c.Bin))
				}
				t.Logf("refused: %v", err)
			case err != nil:
				t.Fatalf("refused a binary the engine is to judge: %v", err)
			case c.Names && (m.Names != nil || m.NamesError == nil):
				t.Fatalf("malformed name section: Names %+v, NamesError %v; want it ignored with a reason", m.Names, m.NamesError)
			case c.Names:
				t.Logf("name section ignored: %v", m.NamesError)
			}
		})
	}
}

// TestParseErrors checks the error of each kind of malformed structure:
// its section, its offset and its reason.
func TestParseErrors(t *testing.T) {
	M, S, U := wasmbintest.Module, wasmbintest.Section, wasmbintest.U32
	voidType := S(wasmbin.SecType, U(1), []byte{0x60, 0, 0})
	cases := []struct {
		name string
		bin  []byte
		want string
	}{
		{"empty", nil, "header at byte 0: no \\0asm magic number (not a WebAssembly binary)"},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), "header at byte 4: binary format version 02000000, want 1 (a component, or a newer format?)"},
		{"unknown section", M([]byte{14, 0}), "module at byte 8: unknown section id 14"},
		{"tag section", M(S(13, U(0))), "module at byte 8: tag section: exception handling is not supported"},
		{"order", M(voidType, voidType), "module at byte 14: type section out of order or repeated"},
		{"trailing bytes", M(S(wasmbin.SecType, U(0), []byte{0})), "type section at byte 11: section size mismatch: 1 bytes left unread"},
		{"overlong u32", M(S(wasmbin.SecType, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0})), "type section at byte 10: integer representation too long"},
		{"u32 too large", M(S(wasmbin.SecType, []byte{0x80, 0x80, 0x80, 0x80, 0x10})), "type section at byte 10: integer too large"},
		{"GC type", M(S(wasmbin.SecType, U(1), []byte{0x5e, 0x7f, 0})), "type section at byte 11: type 0: form 0x5e is not a function type (GC types are not supported)"},
		{"value type", M(S(wasmbin.SecType, U(1), []byte{0x60, 1, 0x64, 0})), "type section at byte 13: value type 0x64 is not a WebAssembly 2.0 type"},
		{"import kind", M(S(wasmbin.SecImport, U(1), wasmbintest.Name("a"), wasmbintest.Name("b"), []byte{5})), `import section at byte 15: import a.b has kind 0x05`},
		{"import type index", M(S(wasmbin.SecImport, U(1), wasmbintest.Name("a"), wasmbintest.Name("b"), []byte{0, 0})), "import section at byte 16: import a.b has type index 0, but there are 0 types"},
		{"bad UTF-8 name", M(S(wasmbin.SecExport, U(1), []byte{2, 0xc3, 0x28, 0, 0})), "export section at byte 11: export name is not valid UTF-8"},
		{"memory64", M(S(wasmbin.SecMemory, U(1), []byte{4, 0})), "memory section at byte 11: memory limits flags 0x04 are not supported (64-bit memories)"},
		{"table limits", M(S(wasmbin.SecTable, U(1), []byte{0x70, 2, 0})), "table section at byte 12: table limits flags 0x02 are not supported (64-bit or shared tables)"},
		{"mutability", M(S(wasmbin.SecGlobal, U(1), []byte{0x7f, 2, 0x41, 0, 0x0b})), "global section at byte 12: global mutability 0x02 is not 0 or 1"},
		{"extended const", M(S(wasmbin.SecGlobal, U(1), []byte{0x7f, 0, 0x41, 1, 0x41, 2, 0x6a, 0x0b})), "global section at byte 17: instruction 0x6a is not allowed in a constant expression"},
		{"unterminated const", M(S(wasmbin.SecGlobal, U(1), []byte{0x7f, 0, 0x41, 0})), "global section at byte 15: unexpected end of section"},
		{"export kind", M(S(wasmbin.SecExport, U(1), wasmbintest.Name("x"), []byte{7, 0})), `export section at byte 13: export "x" has kind 0x07`},
		{"element flags", M(S(wasmbin.SecElement, U(1), U(8), []byte{0, 0})), "element section at byte 11: element segment 0 has flags 8"},
		{"element kind", M(S(wasmbin.SecElement, U(1), U(1), []byte{1, 0})), "element section at byte 12: element segment 0 has element kind 0x01"},
		{"data flags", M(S(wasmbin.SecData, U(1), U(3), []byte{0})), "data section at byte 11: data segment 0 has flags 3"},
		{"functions without bodies", M(voidType, S(wasmbin.SecFunction, U(1), U(0))), "module at byte 18: function and code section have inconsistent lengths: 1 functions declared, 0 bodies"},
		{"body without end", M(voidType, S(wasmbin.SecFunction, U(1), U(0)), S(wasmbin.SecCode, U(1), U(2), []byte{0, 0x01})),
			"code section at byte 24: function body 0 does not end with an end instruction"},
		{"body past its section", M(voidType, S(wasmbin.SecFunction, U(1), U(0)), S(wasmbin.SecCode, U(1), U(9), []byte{0, 0x0b})),
			"code section at byte 21: function body 0: code of 9 bytes runs past the end of the section (2 bytes left)"},
		{"custom section name", M(S(wasmbin.SecCustom, U(4), []byte("ab"))), "custom section at byte 10: custom section name of 4 bytes runs past the end of the section (2 bytes left)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := wasmbin.Parse(c.bin)
			if err == nil || err.Error() != c.want {
				t.Fatalf("err = %v\nwant %s", err, c.want)
			}
		})
	}
}

// TestParseSpecCorpus reads every binary module of the specification
// tests: every valid module is read, and no malformed or invalid one makes
// the reader panic or take more than its bound. The malformed ones it
// accepts are malformed inside function bodies, which the engine decodes.
func TestParseSpecCorpus(t *testing.T) {
	counts := map[string][2]int{} // kind -> read, refused
	for _, sm := range wasmbintest.SpecCorpus(t) {
		bin, err := os.ReadFile(sm.Path)
		if err != nil {
			t.Fatal(err)
		}
		var m *wasmbin.Module
		if n := allocated(func() { m, err = wasmbin.Parse(bin) }); n > allocBound(len(bin)) {
			t.Errorf("%s: parsing %d bytes allocated %d", sm.Path, len(bin), n)
		}
		c := counts[sm.Kind]
		if err != nil {
			c[1]++
		} else {
			c[0]++
		}
		counts[sm.Kind] = c
		if sm.Kind == "module" && err != nil {
			t.Errorf("%s: valid module refused: %v", sm.Path, err)
		}
		if err == nil {
			roundTrip(t, sm.Path, m)
		}
	}
	t.Logf("read/refused by kind: %v", counts)
}

// roundTrip checks that a module rebuilt from its sections reads the same.
func roundTrip(t *testing.T, name string, m *wasmbin.Module) {
	t.Helper()
	again, err := wasmbin.Parse(wasmbin.Encode(m.Sections))
	if err != nil {
		t.Fatalf("%s: rebuilt from its sections, it no longer reads: %v", name, err)
	}
	if len(again.Sections) != len(m.Sections) || len(again.Funcs) != len(m.Funcs) || len(again.Imports) != len(m.Imports) ||
		len(again.Exports) != len(m.Exports) || len(again.Customs) != len(m.Customs) || (again.Names == nil) != (m.Names == nil) {
		t.Fatalf("%s: rebuilt module reads differently", name)
	}
}
