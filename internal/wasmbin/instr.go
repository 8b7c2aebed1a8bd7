package wasmbin

import "fmt"

// Opcode identifies an instruction: the opcode byte of a one-byte
// instruction, or a prefix byte (0xfc, 0xfd) in the top byte and the
// instruction's sub-opcode in the low bits.
type Opcode uint32

// Prefixed returns the opcode of sub-opcode sub of prefix.
func Prefixed(prefix byte, sub uint32) Opcode { return Opcode(prefix)<<24 | Opcode(sub) }

// The opcodes that read or change tables and segments, which the snapshot
// analysis (server/wasm) looks for.
const (
	OpTableGet   Opcode = 0x25
	OpTableSet   Opcode = 0x26
	OpMemoryInit        = Opcode(0xfc)<<24 | 8
	OpDataDrop          = Opcode(0xfc)<<24 | 9
	OpTableInit         = Opcode(0xfc)<<24 | 12
	OpElemDrop          = Opcode(0xfc)<<24 | 13
	OpTableCopy         = Opcode(0xfc)<<24 | 14
	OpTableGrow         = Opcode(0xfc)<<24 | 15
	OpTableSize         = Opcode(0xfc)<<24 | 16
	OpTableFill         = Opcode(0xfc)<<24 | 17
)

// String returns the opcode in hex: "0x26", "0xfc 8".
func (op Opcode) String() string {
	if p := byte(op >> 24); p != 0 {
		return fmt.Sprintf("0x%02x %d", p, uint32(op&0xffffff))
	}
	return fmt.Sprintf("0x%02x", uint32(op))
}

// Instr is one decoded instruction.
type Instr struct {
	Op Opcode
	// Offset is where its opcode is in the parsed binary.
	Offset int
	// Index is its first index immediate (a function, table, global,
	// local, type, label, data or element segment index) when it has one,
	// else 0: the data segment of memory.init and data.drop, the element
	// segment of table.init and elem.drop, the table of table.set,
	// table.grow and the other table instructions (the destination of
	// table.copy).
	Index uint32
}

// Instructions decodes the body of the i-th defined function and calls
// yield with each instruction in order, until yield returns false. It
// decodes every instruction of WebAssembly 2.0 with its immediates (the
// 0xfc and 0xfd prefixes included) and the tail calls; anything else
// (exception handling, threads, GC, an unknown opcode) is an error that
// names the offset. Its work is linear in the body's size: it checks the
// encoding of immediates, not validation rules (types, index ranges, block
// nesting), which are the engine's.
func (m *Module) Instructions(i int, yield func(Instr) bool) error {
	code := m.Code[i]
	c := &cursor{b: code.expr.b, pos: code.expr.pos, end: code.expr.end, section: "code"}
	for c.ok() && c.left() > 0 {
		at := c.pos
		in := Instr{Offset: at}
		in.Op, in.Index = instr(c)
		if c.ok() && !yield(in) {
			return nil
		}
	}
	if c.err != nil {
		c.err.Reason = fmt.Sprintf("function body %d: %s", i, c.err.Reason)
		return c.err
	}
	return nil
}

// instr decodes one instruction at c and returns its opcode and first index
// immediate.
func instr(c *cursor) (Opcode, uint32) {
	at := c.pos
	op := c.byte()
	switch {
	case !c.ok():
		return 0, 0
	case op == 0xfc:
		return miscInstr(c, at)
	case op == 0xfd:
		return vectorInstr(c, at)
	}
	var idx uint32
	switch op {
	case 0x00, 0x01, 0x05, 0x0b, 0x0f, 0x1a, 0x1b, 0xd1: // unreachable nop else end return drop select ref.is_null
	case 0x02, 0x03, 0x04: // block loop if
		blockType(c)
	case 0x0c, 0x0d, 0x10, 0x12, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xd2:
		// br br_if call return_call local.* global.* table.get table.set ref.func
		idx = c.u32()
	case 0x0e: // br_table
		for j, n := 0, c.count("br_table targets", 1); j < n && c.ok(); j++ {
			c.u32()
		}
		c.u32() // default target
	case 0x11, 0x13: // call_indirect return_call_indirect: type, table
		idx = c.u32()
		c.u32()
	case 0x1c: // select t*
		for j, n := 0, c.count("select types", 1); j < n && c.ok(); j++ {
			valType(c)
		}
	case 0x3f, 0x40: // memory.size memory.grow
		idx = c.u32()
	case 0x41:
		c.s32()
	case 0x42:
		c.s64()
	case 0x43:
		c.take(4, "f32 constant", c.pos)
	case 0x44:
		c.take(8, "f64 constant", c.pos)
	case 0xd0: // ref.null
		refType(c)
	default:
		switch {
		case op >= 0x28 && op <= 0x3e: // loads and stores
			idx = memArg(c)
		case op >= 0x45 && op <= 0xc4: // numeric, no immediates
		case op >= 0x06 && op <= 0x09, op == 0x18, op == 0x19, op == 0x1f:
			c.pos = at
			c.fail("instruction 0x%02x: exception handling is not supported", op)
		case op == 0xfe:
			c.pos = at
			c.fail("instruction 0xfe: atomics (threads) are not supported")
		default:
			c.pos = at
			c.fail("unknown instruction 0x%02x", op)
		}
	}
	return Opcode(op), idx
}

// blockType reads a block type: empty (0x40), a value type, or a type
// index as a signed 33-bit number.
func blockType(c *cursor) {
	if c.left() > 0 {
		switch b := c.b[c.pos]; {
		case b == 0x40, validValType(ValType(b)):
			c.pos++
			return
		}
	}
	at := c.pos
	switch v := c.s64(); {
	case !c.ok():
	case c.pos-at > 5:
		c.pos = at
		c.fail("block type: integer representation too long")
	case v < 0:
		c.pos = at
		c.fail("block type %d is neither a value type nor a type index", v)
	}
}

// memArg reads a memory argument (alignment, then offset; a memory index
// between them when bit 6 of the alignment is set) and returns the memory
// index.
func memArg(c *cursor) uint32 {
	align := c.u32()
	var mem uint32
	if align&0x40 != 0 {
		mem = c.u32()
	}
	c.u32()
	return mem
}

// miscInstr decodes an instruction of the 0xfc prefix.
func miscInstr(c *cursor, at int) (Opcode, uint32) {
	sub := c.u32()
	if !c.ok() {
		return 0, 0
	}
	var idx uint32
	switch sub {
	case 0, 1, 2, 3, 4, 5, 6, 7: // saturating truncations
	case 8: // memory.init data mem
		idx = c.u32()
		c.u32()
	case 9, 13, 15, 16, 17: // data.drop elem.drop table.grow table.size table.fill
		idx = c.u32()
	case 10: // memory.copy mem mem
		idx = c.u32()
		c.u32()
	case 11: // memory.fill mem
		idx = c.u32()
	case 12, 14: // table.init elem table, table.copy dst src
		idx = c.u32()
		c.u32()
	default:
		c.pos = at
		c.fail("unknown instruction 0xfc %d", sub)
	}
	return Prefixed(0xfc, sub), idx
}

// vectorInstr decodes an instruction of the 0xfd prefix (SIMD).
func vectorInstr(c *cursor, at int) (Opcode, uint32) {
	sub := c.u32()
	if !c.ok() {
		return 0, 0
	}
	var idx uint32
	switch {
	case sub <= 11, sub == 92, sub == 93: // loads and v128.store; load32_zero, load64_zero
		idx = memArg(c)
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		c.take(16, "vector immediate", c.pos)
	case sub >= 21 && sub <= 34: // extract_lane, replace_lane
		c.byte()
	case sub >= 84 && sub <= 91: // load_lane, store_lane
		idx = memArg(c)
		c.byte()
	case sub <= 255 && !reservedVector[sub]:
	default:
		c.pos = at
		c.fail("unknown instruction 0xfd %d", sub)
	}
	return Prefixed(0xfd, sub), idx
}

// reservedVector marks the sub-opcodes below 256 of the 0xfd prefix that
// WebAssembly 2.0 leaves unassigned.
var reservedVector = func() (r [256]bool) {
	for _, op := range []int{0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee} {
		r[op] = true
	}
	return r
}()

// InsertCode returns the i-th code entry with, after each instruction
// (after its immediates), the bytes that after returns for it (nil for
// none). The local declarations are kept. The returned Code does not alias
// the parsed binary, and its instructions can be decoded again with
// Module.Instructions once it replaces m.Code[i].
func (m *Module) InsertCode(i int, after func(Instr) []byte) (Code, error) {
	code := m.Code[i]
	e := code.expr
	out := make([]byte, 0, len(code.Entry)+len(code.Entry)/4)
	out = append(out, code.Entry[:len(code.Entry)-(e.end-e.pos)]...) // the local declarations
	start := len(out)
	c := &cursor{b: e.b, pos: e.pos, end: e.end, section: "code"}
	for c.ok() && c.left() > 0 {
		in := Instr{Offset: c.pos}
		in.Op, in.Index = instr(c)
		if !c.ok() {
			break
		}
		out = append(out, e.b[in.Offset:c.pos]...)
		out = append(out, after(in)...)
	}
	if c.err != nil {
		c.err.Reason = fmt.Sprintf("function body %d: %s", i, c.err.Reason)
		return Code{}, c.err
	}
	return Code{Locals: code.Locals, Entry: out, expr: span{b: out, pos: start, end: len(out)}}, nil
}
