package wasm

import (
	"errors"
	"fmt"
)

// DefaultTableElements caps every table a module defines. Each element is
// host memory (a pointer or more per element in the engines), and memory
// limits do not cover tables, so without a cap one table.grow loop can take
// gigabytes. Real modules use far fewer: a Go reactor's function table has a
// few thousand entries.
const DefaultTableElements = 100_000

// capTables returns bin with the declared maximum of every table it defines
// lowered to at most limit elements (or set, where a table has none), so that
// table.grow past the cap fails inside the guest as the spec says (it
// returns -1) on any engine. A table whose minimum already exceeds limit is
// refused. Tables a module imports need no cap: the host exports none.
func capTables(bin []byte, limit uint32) ([]byte, error) {
	secs, err := readSections(bin)
	if err != nil {
		return nil, err
	}
	for i, s := range secs {
		if s.id != secTable {
			continue
		}
		body, err := capTableSection(s.body, limit)
		if err != nil {
			return nil, err
		}
		secs[i].body = body
		return writeSections(secs), nil
	}
	return bin, nil
}

func capTableSection(sec []byte, limit uint32) ([]byte, error) {
	r := &reader{b: sec}
	count := r.u32()
	out := appendUleb(nil, uint64(count))
	for i := uint32(0); i < count && r.err == nil; i++ {
		reftype, flags := r.byte(), r.byte()
		if reftype != 0x70 && reftype != 0x6f {
			return nil, fmt.Errorf("table %d: element type 0x%02x is not supported", i, reftype)
		}
		if flags != 0 && flags != 1 {
			return nil, fmt.Errorf("table %d: limits flag 0x%02x is not supported (64-bit or shared tables)", i, flags)
		}
		lo, hi := r.u32(), limit
		if flags == 1 {
			hi = min(hi, r.u32())
		}
		if lo > limit {
			return nil, fmt.Errorf("table %d starts with %d elements, over the limit of %d", i, lo, limit)
		}
		out = append(out, reftype, 1)
		out = appendUleb(out, uint64(lo))
		out = appendUleb(out, uint64(hi))
	}
	if r.err != nil {
		return nil, fmt.Errorf("table section: %w", r.err)
	}
	if r.pos != len(sec) {
		return nil, errors.New("table section has trailing bytes")
	}
	return out, nil
}
