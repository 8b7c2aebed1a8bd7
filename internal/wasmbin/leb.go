package wasmbin

import "errors"

// The errors of LEB128 decoding, worded as the specification's test suite
// words them.
var (
	errEnd     = errors.New("unexpected end")
	errTooLong = errors.New("integer representation too long")
	errTooBig  = errors.New("integer too large")
)

// readU32 decodes an unsigned LEB128 number of at most 32 bits: at most 5
// bytes, the last of which may use only its low 4 bits.
func readU32(b []byte) (uint32, int, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		if i >= len(b) {
			return 0, 0, errEnd
		}
		c := b[i]
		if i == 4 {
			if c&0x80 != 0 {
				return 0, 0, errTooLong
			}
			if c&0x70 != 0 {
				return 0, 0, errTooBig
			}
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errTooLong // not reached: the fifth byte returns
}

// readS32 decodes a signed LEB128 number of at most 32 bits: at most 5
// bytes, the last of which must sign-extend its low 4 bits.
func readS32(b []byte) (int32, int, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		if i >= len(b) {
			return 0, 0, errEnd
		}
		c := b[i]
		if i == 4 {
			if c&0x80 != 0 {
				return 0, 0, errTooLong
			}
			if hi := c & 0x70; (c&0x08 == 0 && hi != 0) || (c&0x08 != 0 && hi != 0x70) {
				return 0, 0, errTooBig
			}
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if shift := 7 * (i + 1); shift < 32 && c&0x40 != 0 {
				v |= ^uint32(0) << shift
			}
			return int32(v), i + 1, nil
		}
	}
	return 0, 0, errTooLong
}

// readS64 decodes a signed LEB128 number of at most 64 bits: at most 10
// bytes, the last of which must sign-extend its lowest bit.
func readS64(b []byte) (int64, int, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		if i >= len(b) {
			return 0, 0, errEnd
		}
		c := b[i]
		if i == 9 {
			if c&0x80 != 0 {
				return 0, 0, errTooLong
			}
			if hi := c & 0x7e; (c&0x01 == 0 && hi != 0) || (c&0x01 != 0 && hi != 0x7e) {
				return 0, 0, errTooBig
			}
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if shift := 7 * (i + 1); shift < 64 && c&0x40 != 0 {
				v |= ^uint64(0) << shift
			}
			return int64(v), i + 1, nil
		}
	}
	return 0, 0, errTooLong
}

// AppendU32 appends v as an unsigned LEB128 number.
func AppendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// AppendS64 appends v as a signed LEB128 number (it encodes i32.const
// immediates too: a 32-bit value sign-extended to 64 bits encodes the same).
func AppendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendName appends a name: its length, then its bytes.
func AppendName(b []byte, s string) []byte {
	return append(AppendU32(b, uint32(len(s))), s...)
}
