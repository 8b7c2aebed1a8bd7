package wasmbin

// Encode returns a binary module made of secs, in the order given.
func Encode(secs []Section) []byte {
	n := len(header)
	for _, s := range secs {
		n += 6 + len(s.Body)
	}
	out := append(make([]byte, 0, n), header...)
	for _, s := range secs {
		out = append(out, s.ID)
		out = AppendU32(out, uint32(len(s.Body)))
		out = append(out, s.Body...)
	}
	return out
}

// SetSection returns secs, non-custom sections in order, with the section
// of s's id replaced by s, or s inserted where the order puts it.
func SetSection(secs []Section, s Section) []Section {
	for i, t := range secs {
		switch {
		case t.ID == s.ID:
			secs[i] = s
			return secs
		case t.ID != SecCustom && order[t.ID] > order[s.ID]:
			return append(secs[:i], append([]Section{s}, secs[i:]...)...)
		}
	}
	return append(secs, s)
}

// EncodeExports returns the body of an export section that holds exports.
func EncodeExports(exports []Export) []byte {
	b := AppendU32(nil, uint32(len(exports)))
	for _, e := range exports {
		b = AppendName(b, e.Name)
		b = append(b, byte(e.Kind))
		b = AppendU32(b, e.Index)
	}
	return b
}

// EncodeData returns the body of a data section that holds segs.
func EncodeData(segs []DataSegment) []byte {
	n := 5
	for _, d := range segs {
		n += 16 + len(d.Offset) + len(d.Init)
	}
	b := AppendU32(make([]byte, 0, n), uint32(len(segs)))
	for _, d := range segs {
		switch {
		case d.Passive:
			b = append(b, 1)
		case d.Memory == 0:
			b = append(b, 0)
			b = append(b, d.Offset...)
		default:
			b = append(b, 2)
			b = AppendU32(b, d.Memory)
			b = append(b, d.Offset...)
		}
		b = AppendU32(b, uint32(len(d.Init)))
		b = append(b, d.Init...)
	}
	return b
}
