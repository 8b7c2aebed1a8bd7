package wasmbin

import "fmt"

// MaxFunctionLocals caps the locals one function declares. It is the limit
// of wasmtime's parser (and of the WebAssembly JS API), so the two engines
// agree on it; wazero has none and allocates a byte per declared local.
const MaxFunctionLocals = 50_000

// MaxModuleLocals caps the locals all functions declare together, so that
// a small binary cannot declare MaxFunctionLocals in each of thousands of
// tiny functions (80 KB of code for 500 million locals). Real modules
// declare about one local per 100 bytes of binary (a 1.9 MB Go module:
// 5,571): the cap leaves them room.
const MaxModuleLocals = 1 << 20

var header = []byte("\x00asm\x01\x00\x00\x00")

// order ranks the non-custom sections in the order a module must have them.
var order = [...]int{
	SecType: 1, SecImport: 2, SecFunction: 3, SecTable: 4, SecMemory: 5, SecGlobal: 6,
	SecExport: 7, SecStart: 8, SecElement: 9, SecDataCount: 10, SecCode: 11, SecData: 12,
}

var sectionNames = [...]string{
	SecCustom: "custom", SecType: "type", SecImport: "import", SecFunction: "function",
	SecTable: "table", SecMemory: "memory", SecGlobal: "global", SecExport: "export",
	SecStart: "start", SecElement: "element", SecCode: "code", SecData: "data",
	SecDataCount: "data count",
}

// Parse reads the structure of a binary module (see the package
// documentation for what it checks). The returned Module aliases bin. An
// error is an *Error.
func Parse(bin []byte) (*Module, error) {
	p := &parser{m: &Module{}}
	if err := p.parse(bin); err != nil {
		return nil, err
	}
	return p.m, nil
}

type parser struct {
	m      *Module
	locals uint64 // declared in all functions so far
	// mutableImports has, per imported global, whether it is mutable.
	mutableImports []bool
}

func (p *parser) parse(bin []byte) error {
	if len(bin) < 4 || string(bin[:4]) != string(header[:4]) {
		return &Error{Section: "header", Reason: "no \\0asm magic number (not a WebAssembly binary)"}
	}
	if len(bin) < 8 || string(bin[4:8]) != string(header[4:]) {
		return &Error{Section: "header", Offset: 4, Reason: fmt.Sprintf("binary format version %x, want 1 (a component, or a newer format?)", bin[4:min(8, len(bin))])}
	}
	m := p.m
	sections, customs := countSections(bin)
	m.Sections = make([]Section, 0, sections)
	m.Customs = make([]Custom, 0, customs)
	top := &cursor{b: bin, pos: len(header), end: len(bin), section: "module"}
	last := 0 // rank of the last non-custom section
	for top.ok() && top.left() > 0 {
		at := top.pos
		id := top.byte()
		if int(id) >= len(sectionNames) {
			top.pos = at
			if id == 13 {
				top.fail("tag section: exception handling is not supported")
			} else {
				top.fail("unknown section id %d", id)
			}
			break
		}
		name := sectionNames[id]
		top.section = name
		size := top.u32()
		if top.ok() && uint64(size) > uint64(top.left()) {
			top.fail("section size %d runs past the end of the binary (%d bytes left)", size, top.left())
		}
		if !top.ok() {
			break
		}
		top.section = "module"
		sc := top.sub(size, name, top.pos)
		c := &sc
		if id != SecCustom {
			if order[id] <= last {
				top.pos = at
				top.fail("%s section out of order or repeated", name)
				break
			}
			last = order[id]
		}
		m.Sections = append(m.Sections, Section{ID: id, Offset: at, Body: bin[c.pos:c.end]})
		switch id {
		case SecCustom:
			p.custom(c, at)
		case SecType:
			p.types(c)
		case SecImport:
			p.imports(c)
		case SecFunction:
			p.functions(c)
		case SecTable:
			n := c.count("tables", 3)
			m.Tables = make([]TableType, 0, n)
			for i := 0; i < n && c.ok(); i++ {
				m.Tables = append(m.Tables, tableType(c))
			}
		case SecMemory:
			n := c.count("memories", 2)
			m.Memories = make([]Limits, 0, n)
			for i := 0; i < n && c.ok(); i++ {
				m.Memories = append(m.Memories, memType(c))
			}
		case SecGlobal:
			n := c.count("globals", 3)
			m.Globals = make([]Global, 0, n)
			for i := 0; i < n && c.ok(); i++ {
				t := globalType(c)
				m.Globals = append(m.Globals, Global{GlobalType: t, Init: p.constExpr(c)})
			}
		case SecExport:
			p.exports(c)
		case SecStart:
			m.Start, m.HasStart = c.u32(), true
		case SecElement:
			p.elements(c)
		case SecDataCount:
			m.DataCount, m.HasDataCount = c.u32(), true
		case SecCode:
			p.code(c)
		case SecData:
			p.data(c)
		}
		c.done()
		if c.err != nil {
			return c.err
		}
	}
	if top.err != nil {
		return top.err
	}
	if len(m.Funcs) != len(m.Code) {
		return &Error{Section: "module", Offset: len(bin), Reason: fmt.Sprintf("function and code section have inconsistent lengths: %d functions declared, %d bodies", len(m.Funcs), len(m.Code))}
	}
	if m.HasDataCount && int(m.DataCount) != m.Data {
		return &Error{Section: "module", Offset: len(bin), Reason: fmt.Sprintf("data count and data section have inconsistent lengths: data count %d, %d segments", m.DataCount, m.Data)}
	}
	return nil
}

// countSections counts the sections of bin, and the custom ones, as far as
// their headers can be read, so that the lists of them are allocated once.
func countSections(bin []byte) (sections, customs int) {
	for pos := len(header); pos < len(bin); sections++ {
		if bin[pos] == SecCustom {
			customs++
		}
		size, n, err := readU32(bin[pos+1:])
		if err != nil || uint64(size) > uint64(len(bin)-pos-1-n) {
			return sections + 1, customs
		}
		pos += 1 + n + int(size)
	}
	return sections, customs
}
