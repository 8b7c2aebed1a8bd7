package wasmbin_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin/wasmbintest"
)

// bodyModule returns a module with one function of type () -> () whose
// instructions are expr (its final end added).
func bodyModule(expr ...byte) []byte {
	M, S, U := wasmbintest.Module, wasmbintest.Section, wasmbintest.U32
	body := append([]byte{0}, expr...) // no locals
	body = append(body, 0x0b)
	return M(S(wasmbin.SecType, U(1), []byte{0x60, 0, 0}), S(wasmbin.SecFunction, U(1), U(0)),
		S(wasmbin.SecCode, U(1), U(uint32(len(body))), body))
}

// decode parses bin and decodes its first function.
func decode(t testing.TB, bin []byte) ([]wasmbin.Instr, error) {
	t.Helper()
	m, err := wasmbin.Parse(bin)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var out []wasmbin.Instr
	err = m.Instructions(0, func(in wasmbin.Instr) bool {
		out = append(out, in)
		return true
	})
	return out, err
}

// TestInstructions decodes one instruction of each immediate shape and
// checks its opcode, index and where the next one starts.
func TestInstructions(t *testing.T) {
	lane := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name string
		expr []byte
		op   wasmbin.Opcode
		idx  uint32
	}{
		{"nop", []byte{0x01}, 0x01, 0},
		{"block empty", []byte{0x02, 0x40, 0x0b}, 0x02, 0},
		{"loop i32", []byte{0x03, 0x7f, 0x0b}, 0x03, 0},
		{"if type index", []byte{0x41, 0, 0x04, 0x80, 0x01, 0x0b}, 0x41, 0}, // block type 128 as s33
		{"br_table", []byte{0x0e, 3, 0, 1, 2, 0}, 0x0e, 0},
		{"call", []byte{0x10, 0xe5, 0x8e, 0x26}, 0x10, 624485},
		{"call_indirect", []byte{0x11, 2, 1}, 0x11, 2},
		{"return_call_indirect", []byte{0x13, 2, 1}, 0x13, 2},
		{"select t", []byte{0x1c, 1, 0x7f}, 0x1c, 0},
		{"global.set", []byte{0x24, 7}, 0x24, 7},
		{"table.set", []byte{0x26, 3}, wasmbin.OpTableSet, 3},
		{"i64.store", []byte{0x37, 3, 0x80, 0x80, 0x04}, 0x37, 0},
		{"load with memory index", []byte{0x28, 0x42, 1, 8}, 0x28, 1},
		{"memory.grow", []byte{0x40, 0}, 0x40, 0},
		{"i32.const", []byte{0x41, 0x7f}, 0x41, 0},
		{"i64.const", []byte{0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, 0x42, 0},
		{"f32.const", []byte{0x43, 1, 2, 3, 4}, 0x43, 0},
		{"f64.const", []byte{0x44, 1, 2, 3, 4, 5, 6, 7, 8}, 0x44, 0},
		{"ref.null", []byte{0xd0, 0x70}, 0xd0, 0},
		{"ref.func", []byte{0xd2, 5}, 0xd2, 5},
		{"i32.trunc_sat_f32_s", []byte{0xfc, 0}, wasmbin.Prefixed(0xfc, 0), 0},
		{"memory.init", []byte{0xfc, 8, 4, 0}, wasmbin.OpMemoryInit, 4},
		{"data.drop", []byte{0xfc, 9, 4}, wasmbin.OpDataDrop, 4},
		{"memory.copy", []byte{0xfc, 10, 0, 0}, wasmbin.Prefixed(0xfc, 10), 0},
		{"memory.fill", []byte{0xfc, 11, 0}, wasmbin.Prefixed(0xfc, 11), 0},
		{"table.init", []byte{0xfc, 12, 2, 1}, wasmbin.OpTableInit, 2},
		{"elem.drop", []byte{0xfc, 13, 2}, wasmbin.OpElemDrop, 2},
		{"table.copy", []byte{0xfc, 14, 1, 0}, wasmbin.OpTableCopy, 1},
		{"table.grow", []byte{0xfc, 15, 1}, wasmbin.OpTableGrow, 1},
		{"table.size", []byte{0xfc, 16, 1}, wasmbin.OpTableSize, 1},
		{"table.fill", []byte{0xfc, 17, 1}, wasmbin.OpTableFill, 1},
		{"table.fill, sub-opcode in two bytes", []byte{0xfc, 0x91, 0x00, 1}, wasmbin.OpTableFill, 1},
		{"v128.load", []byte{0xfd, 0, 4, 0}, wasmbin.Prefixed(0xfd, 0), 0},
		{"v128.const", cat([]byte{0xfd, 12}, lane), wasmbin.Prefixed(0xfd, 12), 0},
		{"i8x16.shuffle", cat([]byte{0xfd, 13}, lane), wasmbin.Prefixed(0xfd, 13), 0},
		{"i8x16.extract_lane_s", []byte{0xfd, 21, 15}, wasmbin.Prefixed(0xfd, 21), 0},
		{"v128.load8_lane", []byte{0xfd, 84, 0, 0, 3}, wasmbin.Prefixed(0xfd, 84), 0},
		{"v128.load64_zero", []byte{0xfd, 93, 3, 16}, wasmbin.Prefixed(0xfd, 93), 0},
		{"f64x2.promote_low_f32x4", []byte{0xfd, 0xdf, 0x01}, wasmbin.Prefixed(0xfd, 0xdf), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The instruction, then a marker the decoder must land on.
			got, err := decode(t, bodyModule(append(slices.Clone(c.expr), 0x01)...))
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Op != c.op || got[0].Index != c.idx {
				t.Fatalf("first instruction %v index %d, want %v index %d", got[0].Op, got[0].Index, c.op, c.idx)
			}
			if n := len(got); n < 3 || got[n-2].Op != 0x01 || got[n-1].Op != 0x0b {
				t.Fatalf("decoding lost its place: %+v", got)
			}
		})
	}
}

// TestInstructionErrors checks that what 2.0 does not define is an error
// naming the function and the offset, never a wrong decoding.
func TestInstructionErrors(t *testing.T) {
	cases := []struct {
		name string
		expr []byte
		want string
	}{
		{"unknown opcode", []byte{0x27}, "code section at byte 23: function body 0: unknown instruction 0x27"},
		{"try", []byte{0x06, 0x40}, "exception handling is not supported"},
		{"atomics", []byte{0xfe, 0}, "atomics (threads) are not supported"},
		{"unknown 0xfc", []byte{0xfc, 18}, "unknown instruction 0xfc 18"},
		{"reserved 0xfd", []byte{0xfd, 0x9a, 0x01}, "unknown instruction 0xfd 154"},
		{"relaxed SIMD", []byte{0xfd, 0x80, 0x02}, "unknown instruction 0xfd 256"},
		{"truncated v128.const", []byte{0xfd, 12, 1, 2}, "vector immediate of 16 bytes runs past the end"},
		{"br_table count", []byte{0x0e, 0xff, 0xff, 0xff, 0xff, 0x0f}, "4294967295 br_table targets do not fit"},
		{"block type too long", []byte{0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, "block type: integer representation too long"},
		{"negative block type", []byte{0x02, 0x41}, "block type -63 is neither a value type nor a type index"},
		{"select type", []byte{0x1c, 1, 0x60}, "value type 0x60 is not a WebAssembly 2.0 type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decode(t, bodyModule(c.expr...))
			var e *wasmbin.Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "function body 0") {
				t.Fatalf("err = %v, want a *wasmbin.Error containing %q", err, c.want)
			}
		})
	}
}

// TestInstructionsSpecCorpus decodes every function of every valid module
// of the specification tests, and of the guest modules the repository
// builds: a decoder that misreads one immediate loses its place and fails
// on what follows.
func TestInstructionsSpecCorpus(t *testing.T) {
	decoded := 0
	for _, sm := range wasmbintest.SpecCorpus(t) {
		if sm.Kind != "module" {
			continue
		}
		bin, err := os.ReadFile(sm.Path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := wasmbin.Parse(bin)
		if err != nil {
			t.Fatalf("%s: %v", sm.Path, err)
		}
		for i := range m.Code {
			if err := m.Instructions(i, func(wasmbin.Instr) bool { decoded++; return true }); err != nil {
				t.Errorf("%s: %v", sm.Path, err)
			}
		}
	}
	t.Logf("%d instructions decoded", decoded)
}

// FuzzInstructions checks that decoding any function body never panics
// and reports errors inside the body.
func FuzzInstructions(f *testing.F) {
	f.Add([]byte{0x02, 0x40, 0x0b})
	f.Add([]byte{0xfd, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte{0x0e, 2, 0, 1, 0})
	f.Add([]byte{0xfc, 8, 0, 0, 0xfc, 9, 0})
	f.Fuzz(func(t *testing.T, expr []byte) {
		bin := bodyModule(expr...)
		m, err := wasmbin.Parse(bin)
		if err != nil {
			return
		}
		last := -1
		err = m.Instructions(0, func(in wasmbin.Instr) bool {
			if in.Offset <= last || in.Offset >= len(bin) {
				t.Fatalf("instruction at %d after one at %d in %d bytes", in.Offset, last, len(bin))
			}
			last = in.Offset
			return true
		})
		var e *wasmbin.Error
		if err != nil && (!errors.As(err, &e) || e.Offset < 0 || e.Offset > len(bin)) {
			t.Fatalf("error %v does not locate the problem in the %d-byte input", err, len(bin))
		}
	})
}

// TestInsertCode checks that InsertCode puts bytes after the instructions
// it is asked to, immediates included, keeps the local declarations, and
// that the result decodes again.
func TestInsertCode(t *testing.T) {
	cases := []struct {
		name       string
		expr, want []byte
	}{
		{"no loop", []byte{0x41, 0x7f, 0x1a}, []byte{0x41, 0x7f, 0x1a}},
		{"loop", []byte{0x03, 0x40, 0x0c, 0x00, 0x0b}, []byte{0x03, 0x40, 0x01, 0x0c, 0x00, 0x0b}},
		{"nested loops", []byte{0x03, 0x40, 0x03, 0x7f, 0x41, 0x00, 0x0b, 0x1a, 0x0b},
			[]byte{0x03, 0x40, 0x01, 0x03, 0x7f, 0x01, 0x41, 0x00, 0x0b, 0x1a, 0x0b}},
		{"loop with a type index", []byte{0x03, 0x00, 0x0b}, []byte{0x03, 0x00, 0x01, 0x0b}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := wasmbin.Parse(bodyModule(c.expr...))
			if err != nil {
				t.Fatal(err)
			}
			code, err := m.InsertCode(0, func(in wasmbin.Instr) []byte {
				if in.Op == 0x03 {
					return []byte{0x01} // nop
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]byte{0}, c.want...), 0x0b) // no locals; the final end
			if !bytes.Equal(code.Entry, want) || code.Locals != 0 {
				t.Fatalf("entry % x, locals %d; want % x, 0", code.Entry, code.Locals, want)
			}
			m.Code[0] = code
			var n int
			if err := m.Instructions(0, func(wasmbin.Instr) bool { n++; return true }); err != nil {
				t.Fatalf("the result does not decode: %v", err)
			}
		})
	}
}
