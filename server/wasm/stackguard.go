package wasm

import (
	"fmt"
	"strings"
)

// DefaultStackBytes is the default call-stack budget of a guest, in
// estimated bytes of frames.
const DefaultStackBytes = 4 << 20

// StackGlobal is the export name of the global that holds a guarded
// guest's current stack use, so a trap can be explained.
const StackGlobal = "bubblewasm.stack"

// frameOverhead is what a frame is estimated to cost beyond its parameters
// and locals (return address, spills, engine bookkeeping).
const frameOverhead = 64

// guardStack bounds the depth of a guest's call stack on any engine. Engines
// keep the wasm call stack in host memory and some (wazero's compiler) grow
// it by doubling up to a fixed ceiling of tens of MB, so one runaway
// recursion costs the host that much before it traps.
//
// Every function the module defines gets a wrapper of the same type that
// takes the function's index: exports, tables, the start function, ref.func
// and every call instruction reach the wrapper, which adds the callee's
// estimated frame size (8 bytes per parameter and local, plus
// frameOverhead) to a new mutable global, traps with unreachable once the
// total exceeds budget, calls the original (moved to a new index, its body
// untouched) and subtracts the size again on return. Nothing in a function
// body is decoded or changed.
//
// What it costs: one extra call per guest call. What it changes: function
// names stay on the wrappers and are copied to the originals; other debug
// sections (DWARF, local names) are dropped, since code offsets move. A
// tail call (return_call) to a defined function no longer shrinks the
// stack, so unbounded tail recursion hits the budget.
func guardStack(bin []byte, budget uint32) ([]byte, error) {
	secs, err := readSections(bin)
	if err != nil {
		return nil, err
	}
	m, err := scanModule(secs)
	if err != nil {
		return nil, fmt.Errorf("stack guard: %w", err)
	}
	n := uint32(len(m.funcTypes))
	if n == 0 {
		return bin, nil
	}
	depth := m.importedGlobals + m.definedGlobals // index of the new global
	var out []section
	addedGlobal, addedExport := false, false
	addExport := func(entries []byte) {
		out = append(out, section{id: secExport, body: appendExport(entries, depth)})
		addedExport = true
	}
	addGlobal := func() {
		out = append(out, section{id: secGlobal, body: appendGlobal(m.globalBody, m.definedGlobals)})
		addedGlobal = true
	}
	for _, s := range secs {
		if !addedGlobal && s.id != secCustom && sectionOrder[s.id] > sectionOrder[secGlobal] {
			addGlobal()
		}
		switch {
		case s.id == secGlobal:
			addGlobal()
		case s.id == secExport:
			addExport(s.body)
		case s.id == secFunction:
			body := appendUleb(nil, uint64(2*n))
			for range 2 {
				for _, t := range m.funcTypes {
					body = appendUleb(body, uint64(t))
				}
			}
			out = append(out, section{id: secFunction, body: body})
		case s.id == secCode:
			out = append(out, section{id: secCode, body: m.guardedCode(depth, budget)})
		case s.id == secCustom:
			if c, keep := rewriteCustom(s, m.importedFuncs, n); keep {
				out = append(out, c)
			}
		default:
			out = append(out, s)
		}
	}
	if !addedGlobal {
		addGlobal()
	}
	if !addedExport {
		// Place it before the first section that must follow exports.
		for i, s := range out {
			if s.id != secCustom && sectionOrder[s.id] > sectionOrder[secExport] {
				out = append(out[:i], append([]section{{id: secExport, body: appendExport(nil, depth)}}, out[i:]...)...)
				addedExport = true
				break
			}
		}
		if !addedExport {
			out = append(out, section{id: secExport, body: appendExport(nil, depth)})
		}
	}
	return writeSections(out), nil
}

// moduleLayout is what guardStack needs to know about a module.
type moduleLayout struct {
	paramCounts     []uint32 // per type
	importedFuncs   uint32
	importedGlobals uint32
	definedGlobals  uint32
	globalBody      []byte   // the global section's entries, without the count
	funcTypes       []uint32 // type index per defined function
	bodies          [][]byte // code entries, without their size prefix
}

func scanModule(secs []section) (*moduleLayout, error) {
	m := &moduleLayout{}
	for _, s := range secs {
		r := &reader{b: s.body}
		switch s.id {
		case secType:
			for range r.u32() {
				if form := r.byte(); form != 0x60 {
					return nil, fmt.Errorf("type encoding 0x%02x is not supported (GC proposal types)", form)
				}
				params := r.u32()
				r.bytes(params) // value types are one byte each without the GC proposal
				r.bytes(r.u32())
				m.paramCounts = append(m.paramCounts, params)
			}
		case secImport:
			for range r.u32() {
				r.name()
				r.name()
				switch kind := r.byte(); kind {
				case 0x00:
					r.u32()
					m.importedFuncs++
				case 0x01:
					r.byte()
					r.skipLimits()
				case 0x02:
					r.skipLimits()
				case 0x03:
					r.byte()
					r.byte()
					m.importedGlobals++
				case 0x04:
					r.byte()
					r.u32()
				default:
					return nil, fmt.Errorf("import kind 0x%02x is not supported", kind)
				}
			}
		case secFunction:
			for range r.u32() {
				t := r.u32()
				if int(t) >= len(m.paramCounts) {
					return nil, fmt.Errorf("function type index %d out of range", t)
				}
				m.funcTypes = append(m.funcTypes, t)
			}
		case secGlobal:
			m.definedGlobals = r.u32()
			m.globalBody = r.b[r.pos:]
		case secCode:
			for range r.u32() {
				m.bodies = append(m.bodies, r.bytes(r.u32()))
			}
		}
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, r.err)
		}
	}
	if len(m.bodies) != len(m.funcTypes) {
		return nil, fmt.Errorf("%d function declarations but %d bodies", len(m.funcTypes), len(m.bodies))
	}
	return m, nil
}

// appendGlobal returns a global section with the module's globals and one
// more: the stack counter, a mutable i32 starting at 0.
func appendGlobal(entries []byte, count uint32) []byte {
	body := appendUleb(nil, uint64(count+1))
	body = append(body, entries...)
	return append(body, 0x7f, 0x01, 0x41, 0x00, 0x0b)
}

// appendExport returns an export section with the given one's entries (or
// none) and the stack global.
func appendExport(sec []byte, global uint32) []byte {
	var count uint32
	var entries []byte
	if sec != nil {
		r := &reader{b: sec}
		count = r.u32()
		entries = r.b[r.pos:]
	}
	body := appendUleb(nil, uint64(count+1))
	body = append(body, entries...)
	body = appendUleb(body, uint64(len(StackGlobal)))
	body = append(body, StackGlobal...)
	body = append(body, 0x03)
	return appendUleb(body, uint64(global))
}

// guardedCode returns the code section: wrappers first (they keep the
// original indices), then the original bodies unchanged.
func (m *moduleLayout) guardedCode(depth, budget uint32) []byte {
	n := uint32(len(m.bodies))
	out := appendUleb(nil, uint64(2*n))
	for j, body := range m.bodies {
		params := m.paramCounts[m.funcTypes[j]]
		cost := min(frameOverhead+8*(uint64(params)+localCount(body)), uint64(budget)+1)
		w := []byte{0x00} // no locals
		w = append(w, 0x23)
		w = appendUleb(w, uint64(depth))
		w = append(w, 0x41)
		w = appendSleb(w, int64(cost))
		w = append(w, 0x6a, 0x24) // i32.add; global.set
		w = appendUleb(w, uint64(depth))
		w = append(w, 0x23)
		w = appendUleb(w, uint64(depth))
		w = append(w, 0x41)
		w = appendSleb(w, int64(budget))
		w = append(w, 0x4b, 0x04, 0x40, 0x00, 0x0b) // i32.gt_u; if; unreachable; end
		for p := range params {
			w = append(w, 0x20)
			w = appendUleb(w, uint64(p))
		}
		w = append(w, 0x10)
		w = appendUleb(w, uint64(m.importedFuncs+n+uint32(j)))
		w = append(w, 0x23)
		w = appendUleb(w, uint64(depth))
		w = append(w, 0x41)
		w = appendSleb(w, int64(cost))
		w = append(w, 0x6b, 0x24) // i32.sub; global.set
		w = appendUleb(w, uint64(depth))
		w = append(w, 0x0b)
		out = appendUleb(out, uint64(len(w)))
		out = append(out, w...)
	}
	for _, body := range m.bodies {
		out = appendUleb(out, uint64(len(body)))
		out = append(out, body...)
	}
	return out
}

// localCount sums a body's local declarations (a malformed body counts 0;
// the engine rejects it anyway).
func localCount(body []byte) uint64 {
	r := &reader{b: body}
	var total uint64
	for range r.u32() {
		total += uint64(r.u32())
		r.byte()
	}
	if r.err != nil {
		return 0
	}
	return min(total, 1<<20)
}

// rewriteCustom keeps the function names of a "name" section valid for the
// moved functions and drops sections that point into the code by offset.
func rewriteCustom(s section, imported, n uint32) (section, bool) {
	r := &reader{b: s.body}
	name := r.name()
	switch {
	case r.err != nil:
		return s, true
	case strings.HasPrefix(name, ".debug_") || name == "sourceMappingURL":
		return s, false
	case name != "name":
		return s, true
	}
	out := append(appendUleb(nil, uint64(len(name))), name...)
	for r.err == nil && r.pos < len(r.b) {
		id := r.byte()
		sub := r.bytes(r.u32())
		switch id {
		case 0: // module name
			out = append(out, 0)
			out = appendUleb(out, uint64(len(sub)))
			out = append(out, sub...)
		case 1: // function names: copy each defined function's to its original
			body, ok := duplicateNames(sub, imported, n)
			if !ok {
				continue
			}
			out = append(out, 1)
			out = appendUleb(out, uint64(len(body)))
			out = append(out, body...)
		}
	}
	if r.err != nil {
		return s, false
	}
	return section{id: secCustom, body: out}, true
}

func duplicateNames(sub []byte, imported, n uint32) ([]byte, bool) {
	r := &reader{b: sub}
	type entry struct {
		idx  uint32
		name []byte
	}
	var entries, moved []entry
	for range r.u32() {
		e := entry{r.u32(), r.bytes(r.u32())}
		entries = append(entries, e)
		if e.idx >= imported && e.idx < imported+n {
			moved = append(moved, entry{e.idx + n, e.name})
		}
	}
	if r.err != nil {
		return nil, false
	}
	all := append(entries, moved...)
	out := appendUleb(nil, uint64(len(all)))
	for _, e := range all {
		out = appendUleb(out, uint64(e.idx))
		out = appendUleb(out, uint64(len(e.name)))
		out = append(out, e.name...)
	}
	return out, true
}
