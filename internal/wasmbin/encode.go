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
