package wasm

import (
	"fmt"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
)

// DefaultTableElements caps every table a module defines. Each element is
// host memory (a pointer or more per element in the engines), and memory
// limits do not cover tables, so without a cap one table.grow loop can take
// gigabytes. Real modules use far fewer: a Go reactor's function table has a
// few thousand entries.
const DefaultTableElements = 100_000

// capTables returns secs with the declared maximum of every table m
// defines lowered to at most limit elements (or set, where a table has
// none), so that table.grow past the cap fails inside the guest as the spec
// says (it returns -1) on any engine. A table whose minimum already exceeds
// limit is refused. Tables a module imports need no cap: the host exports
// none.
func capTables(m *wasmbin.Module, secs []wasmbin.Section, limit uint32) ([]wasmbin.Section, error) {
	if len(m.Tables) == 0 {
		return secs, nil
	}
	body := wasmbin.AppendU32(nil, uint32(len(m.Tables)))
	for i, t := range m.Tables {
		if t.Min > limit {
			return nil, fmt.Errorf("table %d starts with %d elements, over the limit of %d", i, t.Min, limit)
		}
		hi := limit
		if t.HasMax {
			hi = min(hi, t.Max)
		}
		body = append(body, byte(t.Elem), 1)
		body = wasmbin.AppendU32(body, t.Min)
		body = wasmbin.AppendU32(body, hi)
	}
	return wasmbin.SetSection(secs, wasmbin.Section{ID: wasmbin.SecTable, Body: body}), nil
}
