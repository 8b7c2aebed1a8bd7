package wasmbin

import "fmt"

// The readers of each section's contents and of the types, limits and
// constant expressions they hold.

func (p *parser) types(c *cursor) {
	n := c.count("types", 3)
	p.m.Types = make([]FuncType, 0, n)
	for i := 0; i < n && c.ok(); i++ {
		if form := c.byte(); c.ok() && form != 0x60 {
			c.pos--
			c.fail("type %d: form 0x%02x is not a function type (GC types are not supported)", i, form)
			return
		}
		params := valTypes(c, "parameters")
		results := valTypes(c, "results")
		p.m.Types = append(p.m.Types, FuncType{Params: params, Results: results})
	}
}

func (p *parser) imports(c *cursor) {
	n := c.count("imports", 4)
	p.m.Imports = make([]Import, 0, n)
	for i := 0; i < n && c.ok(); i++ {
		imp := Import{Module: c.name("import module name"), Name: c.name("import name")}
		at := c.pos
		imp.Kind = ExternKind(c.byte())
		switch imp.Kind {
		case KindFunc:
			imp.Func = p.typeIndex(c, func() string { return "import " + imp.Module + "." + imp.Name })
			p.m.funcImports = append(p.m.funcImports, imp.Func)
		case KindTable:
			imp.Table = tableType(c)
		case KindMemory:
			imp.Memory = memType(c)
		case KindGlobal:
			imp.Global = globalType(c)
			p.mutableImports = append(p.mutableImports, imp.Global.Mutable)
		case 4:
			c.pos = at
			c.fail("import %s.%s is a tag: exception handling is not supported", imp.Module, imp.Name)
		default:
			c.pos = at
			c.fail("import %s.%s has kind 0x%02x", imp.Module, imp.Name, byte(imp.Kind))
		}
		p.m.Imports = append(p.m.Imports, imp)
	}
}

// typeIndex reads a type index and checks that it names a type, since the
// rewrites need every function's type. what names the function in an
// error.
func (p *parser) typeIndex(c *cursor, what func() string) uint32 {
	at := c.pos
	t := c.u32()
	if c.ok() && int(t) >= len(p.m.Types) {
		c.pos = at
		c.fail("%s has type index %d, but there are %d types", what(), t, len(p.m.Types))
	}
	return t
}

func (p *parser) functions(c *cursor) {
	n := c.count("functions", 1)
	p.m.Funcs = make([]uint32, 0, n)
	for i := 0; i < n && c.ok(); i++ {
		p.m.Funcs = append(p.m.Funcs, p.typeIndex(c, func() string { return fmt.Sprintf("function %d", i) }))
	}
}

func (p *parser) exports(c *cursor) {
	n := c.count("exports", 3)
	p.m.Exports = make([]Export, 0, n)
	for i := 0; i < n && c.ok(); i++ {
		e := Export{Name: c.name("export name")}
		at := c.pos
		e.Kind = ExternKind(c.byte())
		e.Index = c.u32()
		if c.ok() && e.Kind > KindGlobal {
			c.pos = at
			if e.Kind == 4 {
				c.fail("export %q is a tag: exception handling is not supported", e.Name)
			} else {
				c.fail("export %q has kind 0x%02x", e.Name, byte(e.Kind))
			}
		}
		p.m.Exports = append(p.m.Exports, e)
	}
}

// elements reads the element section: every segment's mode, table,
// offset, element type and initializers (function indices or constant
// expressions).
func (p *parser) elements(c *cursor) {
	n := c.count("element segments", 3)
	for i := 0; i < n && c.ok(); i++ {
		at := c.pos
		flags := c.u32()
		if c.ok() && flags > 7 {
			c.pos = at
			c.fail("element segment %d has flags %d", i, flags)
			return
		}
		if flags&1 == 0 { // active
			if flags&2 != 0 {
				c.u32() // table index
			}
			p.constExpr(c)
		}
		exprs := flags&4 != 0
		if flags&3 != 0 { // an element kind or type is given
			at := c.pos
			switch k := c.byte(); {
			case !c.ok():
			case !exprs && k != 0x00:
				c.pos = at
				c.fail("element segment %d has element kind 0x%02x", i, k)
			case exprs && ValType(k) != FuncRef && ValType(k) != ExternRef:
				c.pos = at
				c.fail("element segment %d has element type 0x%02x", i, k)
			}
		}
		if exprs {
			for j, m := 0, c.count("element expressions", 1); j < m && c.ok(); j++ {
				p.constExpr(c)
			}
		} else {
			for j, m := 0, c.count("function indices", 1); j < m && c.ok(); j++ {
				c.u32()
			}
		}
		p.m.Elements++
	}
}

// code reads the code entries: each entry's size and local declarations.
// The instructions are left to the engine's validation, but the body must
// end with an end instruction.
func (p *parser) code(c *cursor) {
	n := c.count("code entries", 3)
	p.m.Code = make([]Code, 0, n)
	for i := 0; i < n && c.ok(); i++ {
		at := c.pos
		ec := c.sub(c.u32(), "code", at)
		e := &ec
		if !c.ok() {
			c.err.Reason = fmt.Sprintf("function body %d: %s", i, c.err.Reason)
			return
		}
		start := e.pos
		var locals uint64
		for j, decls := 0, e.count("local declarations", 2); j < decls && e.ok(); j++ {
			at := e.pos
			locals += uint64(e.u32())
			if t := ValType(e.byte()); e.ok() && !validValType(t) {
				e.pos--
				e.fail("function body %d: local type 0x%02x is not a WebAssembly 2.0 type", i, byte(t))
			}
			if e.ok() && locals > MaxFunctionLocals {
				e.pos = at
				e.fail("function body %d declares more than %d locals", i, MaxFunctionLocals)
			}
		}
		p.locals += locals
		if e.ok() && p.locals > MaxModuleLocals {
			e.fail("the functions up to body %d declare %d locals, over the module limit of %d", i, p.locals, MaxModuleLocals)
		}
		if e.ok() && (e.left() == 0 || e.b[e.end-1] != 0x0b) {
			e.pos = e.end
			e.fail("function body %d does not end with an end instruction", i)
		}
		if e.err != nil {
			c.err = e.err
			return
		}
		p.m.Code = append(p.m.Code, Code{Locals: uint32(locals), Entry: e.b[start:e.end], expr: span{b: e.b, pos: e.pos, end: e.end}})
	}
}

func (p *parser) data(c *cursor) {
	n := c.count("data segments", 2)
	p.m.DataSegments = make([]DataSegment, 0, n)
	for i := 0; i < n && c.ok(); i++ {
		at := c.pos
		var d DataSegment
		switch flags := c.u32(); {
		case !c.ok():
		case flags == 0:
			d.Offset = p.constExpr(c)
		case flags == 1:
			d.Passive = true
		case flags == 2:
			d.Memory = c.u32()
			d.Offset = p.constExpr(c)
		default:
			c.pos = at
			c.fail("data segment %d has flags %d", i, flags)
			return
		}
		at = c.pos
		d.Init = c.take(c.u32(), "data segment", at)
		p.m.DataSegments = append(p.m.DataSegments, d)
		p.m.Data++
	}
}

func validValType(t ValType) bool {
	switch t {
	case I32, I64, F32, F64, V128, FuncRef, ExternRef:
		return true
	}
	return false
}

func valType(c *cursor) ValType {
	t := ValType(c.byte())
	if c.ok() && !validValType(t) {
		c.pos--
		c.fail("value type 0x%02x is not a WebAssembly 2.0 type", byte(t))
	}
	return t
}

func valTypes(c *cursor, what string) []ValType {
	n := c.count(what, 1)
	if n == 0 {
		return nil
	}
	ts := make([]ValType, 0, n)
	for i := 0; i < n && c.ok(); i++ {
		ts = append(ts, valType(c))
	}
	return ts
}

func refType(c *cursor) ValType {
	t := ValType(c.byte())
	if c.ok() && t != FuncRef && t != ExternRef {
		c.pos--
		c.fail("reference type 0x%02x is not funcref or externref", byte(t))
	}
	return t
}

// limits reads limits whose flags may set the bits in allowed: 1 (a
// maximum follows) and, for memories, 2 (shared). note says what other
// flags would mean.
func limits(c *cursor, allowed byte, what, note string) Limits {
	at := c.pos
	flags := c.byte()
	if c.ok() && flags&^allowed != 0 {
		c.pos = at
		c.fail("%s limits flags 0x%02x are not supported (%s)", what, flags, note)
		return Limits{}
	}
	l := Limits{Min: c.u32(), HasMax: flags&1 != 0, Shared: flags&2 != 0}
	if l.HasMax {
		l.Max = c.u32()
	}
	return l
}

func tableType(c *cursor) TableType {
	t := refType(c)
	return TableType{Elem: t, Limits: limits(c, 1, "table", "64-bit or shared tables")}
}

func memType(c *cursor) Limits { return limits(c, 3, "memory", "64-bit memories") }

func globalType(c *cursor) GlobalType {
	t := valType(c)
	at := c.pos
	mut := c.byte()
	if c.ok() && mut > 1 {
		c.pos = at
		c.fail("global mutability 0x%02x is not 0 or 1", mut)
	}
	return GlobalType{Type: t, Mutable: mut == 1}
}

// constExpr reads a constant expression up to and including its end: the
// instructions WebAssembly 2.0 allows there (the extended-const proposal's
// arithmetic is refused: wazero does not enable it), global.get only of an
// imported immutable global (2.0's rule, which wasmtime applies and wazero
// does not). It returns the expression's bytes.
func (p *parser) constExpr(c *cursor) []byte {
	start := c.pos
	for c.ok() {
		at := c.pos
		switch op := c.byte(); op {
		case 0x0b: // end
			return c.b[start:c.pos]
		case 0x41: // i32.const
			c.s32()
		case 0x42: // i64.const
			c.s64()
		case 0x43: // f32.const
			c.take(4, "f32 constant", c.pos)
		case 0x44: // f64.const
			c.take(8, "f64 constant", c.pos)
		case 0x23: // global.get
			if g := c.u32(); c.ok() && (uint64(g) >= uint64(len(p.mutableImports)) || p.mutableImports[g]) {
				c.pos = at
				c.fail("a constant expression reads global %d, which is not an imported immutable global", g)
			}
		case 0xd0: // ref.null
			refType(c)
		case 0xd2: // ref.func
			c.u32()
		case 0xfd: // v128.const
			if sub := c.u32(); c.ok() && sub != 12 {
				c.pos = at
				c.fail("instruction 0xfd %d is not allowed in a constant expression", sub)
				break
			}
			c.take(16, "v128 constant", c.pos)
		default:
			if c.ok() {
				c.pos = at
				c.fail("instruction 0x%02x is not allowed in a constant expression", op)
			}
		}
	}
	return nil
}
