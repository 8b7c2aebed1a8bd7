package wasm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
)

func wat2wasm(t testing.TB, src string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	os.WriteFile(in, []byte(src), 0o644)
	if msg, err := exec.Command("wat2wasm", "--enable-all", "--debug-names", in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	b, _ := os.ReadFile(out)
	return b
}

func TestCapTables(t *testing.T) {
	cases := []struct {
		name, tables string
		want         string // the tables as capTables should leave them, or an error
	}{
		{"no tables", ``, ``},
		{"no maximum gets the cap", `(table 3 funcref)`, `(table 3 1000 funcref)`},
		{"larger maximum is lowered", `(table 3 5000 funcref)`, `(table 3 1000 funcref)`},
		{"smaller maximum is kept", `(table 3 7 funcref)`, `(table 3 7 funcref)`},
		{"every table", `(table 1 funcref) (table 2 9 externref)`, `(table 1 1000 funcref) (table 2 9 externref)`},
		{"minimum over the cap", `(table 1001 funcref)`, `error: table 0 starts with 1001 elements, over the limit of 1000`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mod := func(tables string) []byte {
				return wat2wasm(t, `(module `+tables+` (memory (export "memory") 1) (func (export "f") (result i32) (i32.const 7)))`)
			}
			got, err := capTablesBin(t, mod(tc.tables), 1000)
			if msg, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || err.Error() != msg {
					t.Fatalf("err = %v, want %q", err, msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := capTablesBin(t, mod(tc.want), 1<<32-1); !bytes.Equal(got, want) {
				t.Fatalf("capTables rewrote the module to\n%x\nwant\n%x", got, want)
			}
		})
	}
}

// capTablesBin returns bin without custom sections and with its tables
// capped at limit.
func capTablesBin(t *testing.T, bin []byte, limit uint32) ([]byte, error) {
	m, err := wasmbin.Parse(bin)
	if err != nil {
		t.Fatal(err)
	}
	secs, err := capTables(m, m.NonCustom(), limit)
	if err != nil {
		return nil, err
	}
	return wasmbin.Encode(secs), nil
}
