package wasmbin

import "fmt"

// Subsections of the "name" section.
const (
	nameModule    = 0
	nameFunctions = 1
	nameLocals    = 2
)

// custom reads a custom section: its name must fit and be UTF-8 (or the
// module is malformed); its contents are skipped, except those of the first
// "name" section, which are decoded into Names or, when malformed, ignored
// with the reason in NamesError.
func (p *parser) custom(c *cursor, at int) {
	start := c.pos
	name := c.name("custom section name")
	if !c.ok() {
		return
	}
	p.m.Customs = append(p.m.Customs, Custom{Name: name, Offset: at, Size: c.end - start})
	if name == "name" && p.m.Names == nil && p.m.NamesError == nil {
		nc := &cursor{b: c.b, pos: c.pos, end: c.end, section: `custom "name"`}
		names := readNames(nc)
		if nc.err != nil {
			p.m.NamesError = nc.err
		} else {
			p.m.Names = names
		}
	}
	c.pos = c.end
}

// readNames decodes a "name" section's subsections: each at most once, in
// increasing id order, each read exactly to its size; names UTF-8; function
// and local indices in increasing order. Unknown subsections (the extended
// name section's) are skipped by size.
func readNames(c *cursor) *Names {
	n := &Names{}
	last := -1
	for c.ok() && c.left() > 0 {
		at := c.pos
		id := c.byte()
		if c.ok() && int(id) <= last {
			c.pos = at
			c.fail("name subsection %d out of order or repeated", id)
			break
		}
		last = int(id)
		at = c.pos
		sc := c.sub(c.u32(), c.section, at)
		s := &sc
		if !c.ok() {
			break
		}
		switch id {
		case nameModule:
			n.Module, n.HasModule = s.name("module name"), true
		case nameFunctions:
			n.Funcs = nameMap(s, "function names")
		case nameLocals:
			for i, m, prev := 0, s.count("local name maps", 2), int64(-1); i < m && s.ok(); i++ {
				idx := orderedIndex(s, &prev, "local name maps")
				nameMap(s, fmt.Sprintf("local names of function %d", idx))
			}
		default:
			s.pos = s.end
		}
		s.done()
		if s.err != nil {
			c.err = s.err
		}
	}
	return n
}

// nameMap reads a name map: (index, name) pairs in increasing index order.
func nameMap(c *cursor, what string) []NameAssoc {
	m := c.count(what, 2)
	out := make([]NameAssoc, 0, m)
	prev := int64(-1)
	for i := 0; i < m && c.ok(); i++ {
		idx := orderedIndex(c, &prev, what)
		out = append(out, NameAssoc{Index: idx, Name: c.name(what)})
	}
	return out
}

func orderedIndex(c *cursor, prev *int64, what string) uint32 {
	at := c.pos
	idx := c.u32()
	if c.ok() && int64(idx) <= *prev {
		c.pos = at
		c.fail("%s: index %d out of order or repeated", what, idx)
	}
	*prev = int64(idx)
	return idx
}

// EncodeNames returns the body of a "name" custom section holding n's
// module name and function names (n.Funcs must be in increasing index
// order).
func EncodeNames(n *Names) []byte {
	out := AppendName(nil, "name")
	if n.HasModule {
		sub := AppendName(nil, n.Module)
		out = append(out, nameModule)
		out = AppendU32(out, uint32(len(sub)))
		out = append(out, sub...)
	}
	if len(n.Funcs) > 0 {
		sub := AppendU32(nil, uint32(len(n.Funcs)))
		for _, f := range n.Funcs {
			sub = AppendU32(sub, f.Index)
			sub = AppendName(sub, f.Name)
		}
		out = append(out, nameFunctions)
		out = AppendU32(out, uint32(len(sub)))
		out = append(out, sub...)
	}
	return out
}
