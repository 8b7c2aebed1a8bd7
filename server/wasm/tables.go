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
	const header = 8
	if len(bin) < header {
		return nil, errors.New("not a wasm binary: shorter than its header")
	}
	pos := header
	for pos < len(bin) {
		id := bin[pos]
		size, n, err := uleb(bin[pos+1:])
		if err != nil {
			return nil, fmt.Errorf("section at byte %d: %w", pos, err)
		}
		start := pos + 1 + n
		end := start + int(size)
		if end > len(bin) || end < start {
			return nil, fmt.Errorf("section at byte %d runs past the end of the binary", pos)
		}
		if id == 4 { // the table section
			body, err := capTableSection(bin[start:end], limit)
			if err != nil {
				return nil, err
			}
			out := make([]byte, 0, len(bin)+16)
			out = append(out, bin[:pos+1]...)
			out = appendUleb(out, uint64(len(body)))
			out = append(out, body...)
			return append(out, bin[end:]...), nil
		}
		pos = end
	}
	return bin, nil
}

func capTableSection(sec []byte, limit uint32) ([]byte, error) {
	count, n, err := uleb(sec)
	if err != nil {
		return nil, fmt.Errorf("table section: %w", err)
	}
	out := appendUleb(nil, count)
	p := n
	for i := uint64(0); i < count; i++ {
		if p+2 > len(sec) {
			return nil, errors.New("table section is truncated")
		}
		reftype, flags := sec[p], sec[p+1]
		p += 2
		if reftype != 0x70 && reftype != 0x6f {
			return nil, fmt.Errorf("table %d: element type 0x%02x is not supported", i, reftype)
		}
		if flags != 0 && flags != 1 {
			return nil, fmt.Errorf("table %d: limits flag 0x%02x is not supported (64-bit or shared tables)", i, flags)
		}
		lo, n, err := uleb(sec[p:])
		if err != nil {
			return nil, fmt.Errorf("table %d: %w", i, err)
		}
		p += n
		hi := uint64(limit)
		if flags == 1 {
			declared, n, err := uleb(sec[p:])
			if err != nil {
				return nil, fmt.Errorf("table %d: %w", i, err)
			}
			p += n
			hi = min(hi, declared)
		}
		if lo > uint64(limit) {
			return nil, fmt.Errorf("table %d starts with %d elements, over the limit of %d", i, lo, limit)
		}
		out = append(out, reftype, 1)
		out = appendUleb(out, lo)
		out = appendUleb(out, hi)
	}
	if p != len(sec) {
		return nil, errors.New("table section has trailing bytes")
	}
	return out, nil
}

// uleb decodes an unsigned LEB128 number of at most 32 bits.
func uleb(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < 5 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if v > 1<<32-1 {
				return 0, 0, errors.New("LEB128 number overflows 32 bits")
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("malformed LEB128 number")
}

func appendUleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
