package wasm

import (
	"errors"
	"fmt"
)

// The load-time rewrites (tables.go, stackguard.go) need a wasm binary only
// at the level of its sections and a few vectors; the engine validates
// everything else.

// Section ids of the WebAssembly binary format.
const (
	secCustom   = 0
	secType     = 1
	secImport   = 2
	secFunction = 3
	secTable    = 4
	secMemory   = 5
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secElement  = 9
	secCode     = 10
	secData     = 11
	secDataCnt  = 12
	secTag      = 13
)

// sectionOrder is the position of each non-custom section in a module.
var sectionOrder = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5, secTag: 6,
	secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, secDataCnt: 11, secCode: 12, secData: 13,
}

type section struct {
	id   byte
	body []byte
}

var wasmHeader = []byte("\x00asm\x01\x00\x00\x00")

func readSections(bin []byte) ([]section, error) {
	if len(bin) < len(wasmHeader) || string(bin[:len(wasmHeader)]) != string(wasmHeader) {
		return nil, errors.New("not a WebAssembly 1.0 binary (bad magic number or version)")
	}
	var out []section
	pos := len(wasmHeader)
	for pos < len(bin) {
		size, n, err := uleb(bin[pos+1:])
		if err != nil {
			return nil, fmt.Errorf("section at byte %d: %w", pos, err)
		}
		start := pos + 1 + n
		end := start + int(size)
		if end > len(bin) {
			return nil, fmt.Errorf("section at byte %d runs past the end of the binary", pos)
		}
		out = append(out, section{id: bin[pos], body: bin[start:end]})
		pos = end
	}
	return out, nil
}

func writeSections(secs []section) []byte {
	n := len(wasmHeader)
	for _, s := range secs {
		n += 6 + len(s.body)
	}
	out := append(make([]byte, 0, n), wasmHeader...)
	for _, s := range secs {
		out = append(out, s.id)
		out = appendUleb(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out
}

// reader decodes the parts of a section body the rewrites need.
type reader struct {
	b   []byte
	pos int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *reader) u32() uint32 {
	if r.err != nil {
		return 0
	}
	v, n, err := uleb(r.b[r.pos:])
	if err != nil {
		r.fail("at byte %d: %w", r.pos, err)
		return 0
	}
	r.pos += n
	return uint32(v)
}

func (r *reader) byte() byte {
	if r.err != nil || r.pos >= len(r.b) {
		r.fail("unexpected end of section")
		return 0
	}
	b := r.b[r.pos]
	r.pos++
	return b
}

func (r *reader) bytes(n uint32) []byte {
	if r.err != nil || uint64(r.pos)+uint64(n) > uint64(len(r.b)) {
		r.fail("unexpected end of section")
		return nil
	}
	b := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b
}

func (r *reader) name() string { return string(r.bytes(r.u32())) }

// skipLimits skips memory or table limits.
func (r *reader) skipLimits() {
	flags := r.byte()
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
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

// appendSleb encodes a signed LEB128 number.
func appendSleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
