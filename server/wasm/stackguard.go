package wasm

import (
	"slices"
	"strconv"
	"strings"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
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

// Export names of the interrupt guard's globals (see guardStack): the flag
// that stops the guest, and the countdown to its next check, which a host
// sets to 1 with the flag so that the check comes at once.
const (
	InterruptGlobal      = "bubblewasm.interrupt"
	InterruptTicksGlobal = "bubblewasm.interrupt.ticks"
)

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
// total exceeds budget, calls the original (moved to a new index) and
// subtracts the size again on return. It returns secs (m's non-custom
// sections) rewritten, and the function names to keep, moved likewise.
//
// # The interrupt guard
//
// With interrupt set, it also adds two mutable globals: a flag, exported
// as InterruptGlobal, that only the host writes, and a countdown, exported
// as InterruptTicksGlobal. Every wrapper and every loop of the original
// functions (right after the loop instruction) counts down, and once every
// interruptTicks checks takes a slow path (interruptCheck) that returns to
// the host for an instant and traps with unreachable if the flag is set:
// an engine stops a running guest by setting the flag and the countdown to
// 1, and the guest traps at its next call or loop iteration (or, if the
// guest's own decrement overwrote the countdown, within interruptTicks). It costs a few instructions there — where
// wazero's own interruption (CloseOnContextDone) leaves the compiled code
// for Go at every loop iteration, which measured 45% of a Go guest's
// exchange. A guest that neither calls nor loops ends by itself. Only the
// loop instructions are decoded (wasmbin's instruction decoder finds
// them); every other byte of a body is copied.
//
// # Why original code cannot reach what the rewrite adds
//
// m has been validated by the engine before this runs (see prepare), so
// every index its code, element segments, global initializers, exports and
// start function name is below the counts of the original module: functions
// below I+n (I imported, n defined), globals below G (imported and
// defined). The rewrite keeps every such index's meaning: functions 0..I-1
// are the same imports; I..I+n-1 are the wrappers, each of the type of the
// function it stands for and calling it, so a call, call_indirect, ref.func
// or export reaches the same code, only counted; types, tables, memories,
// element and data segments, locals and labels keep their indices (no type
// is added: a wrapper uses its function's type). What is new sits past
// every index the original could name — the originals at I+n..I+2n-1, the
// counter global at G and the interrupt flag and countdown at G+1 and G+2
// — so only the wrappers call the originals, only the wrappers write the
// counter, only the guard's checks and the host write the countdown, and
// only the host writes the flag (the guard's code only reads it). An
// invalid module that names I+n or G was refused by validation;
// TestRewriteRefusesNewIndices proves it on both engines. The new export
// names begin with "bubblewasm.", which rewrite refuses in a module.
//
// What it costs: one extra call per guest call. What it changes: function
// names move with the originals and the wrappers are all named GuardFrame,
// which trimTrace leaves out of stack traces; other debug
// sections (DWARF, local names) are dropped, since code offsets move. A
// tail call (return_call) to a defined function no longer shrinks the
// stack, so unbounded tail recursion hits the budget.
func guardStack(m *wasmbin.Module, secs []wasmbin.Section, budget uint32, interrupt bool) ([]wasmbin.Section, *wasmbin.Names, error) {
	n := uint32(len(m.Funcs))
	if n == 0 {
		return secs, m.Names, nil
	}
	// The counter must not wrap: it never exceeds budget by more than one
	// frame, and a frame is well under 1 GiB (MaxFunctionLocals).
	budget = min(budget, 1<<31)
	imported := m.Imported(wasmbin.KindFunc)
	depth := m.Imported(wasmbin.KindGlobal) + uint32(len(m.Globals)) // index of the new global
	var check []byte                                                 // the interrupt guard's check
	if interrupt {
		check = interruptCheck(depth+1, depth+2, m.Imported(wasmbin.KindMemory)+uint32(len(m.Memories)) > 0)
		for j := range m.Code {
			code, err := m.InsertCode(j, func(in wasmbin.Instr) []byte {
				if in.Op == 0x03 { // loop
					return check
				}
				return nil
			})
			if err != nil {
				return nil, nil, err
			}
			m.Code[j] = code
		}
	}

	funcs := wasmbin.AppendU32(nil, 2*n)
	for range 2 {
		for _, t := range m.Funcs {
			funcs = wasmbin.AppendU32(funcs, t)
		}
	}
	added := []wasmbin.Export{{Name: StackGlobal, Kind: wasmbin.KindGlobal, Index: depth}}
	if interrupt {
		added = append(added, wasmbin.Export{Name: InterruptGlobal, Kind: wasmbin.KindGlobal, Index: depth + 1},
			wasmbin.Export{Name: InterruptTicksGlobal, Kind: wasmbin.KindGlobal, Index: depth + 2})
	}
	inits := []int64{0} // the counter
	if interrupt {
		inits = append(inits, 0, interruptTicks) // the flag, the countdown
	}
	globals := wasmbin.AppendU32(nil, uint32(len(m.Globals)+len(inits)))
	for _, g := range m.Globals {
		globals = append(globals, byte(g.Type), boolByte(g.Mutable))
		globals = append(globals, g.Init...)
	}
	for _, v := range inits {
		globals = append(globals, byte(wasmbin.I32), 1, 0x41) // (mut i32) (i32.const v)
		globals = append(wasmbin.AppendS64(globals, v), 0x0b)
	}
	exports := wasmbin.EncodeExports(append(m.Exports[:len(m.Exports):len(m.Exports)], added...))

	for _, s := range []wasmbin.Section{
		{ID: wasmbin.SecFunction, Body: funcs},
		{ID: wasmbin.SecGlobal, Body: globals},
		{ID: wasmbin.SecExport, Body: exports},
		{ID: wasmbin.SecCode, Body: guardedCode(m, imported, depth, budget, check)},
	} {
		secs = wasmbin.SetSection(secs, s)
	}
	return secs, movedNames(m.Names, imported, n), nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// guardedCode returns the code section: wrappers first (they keep the
// original indices), each starting with check, then the original entries.
func guardedCode(m *wasmbin.Module, imported, depth, budget uint32, check []byte) []byte {
	n := uint32(len(m.Code))
	out := wasmbin.AppendU32(nil, 2*n)
	var w []byte
	for j, code := range m.Code {
		params := uint32(len(m.Types[m.Funcs[j]].Params))
		cost := min(frameOverhead+8*(uint64(params)+uint64(code.Locals)), uint64(budget)+1)
		w = append(w[:0], 0x00) // no locals
		w = append(w, check...) // the interrupt guard, if any
		w = append(w, 0x23)     // global.get depth
		w = wasmbin.AppendU32(w, depth)
		w = append(w, 0x41) // i32.const cost
		w = wasmbin.AppendS64(w, int64(int32(uint32(cost))))
		w = append(w, 0x6a, 0x24) // i32.add; global.set depth
		w = wasmbin.AppendU32(w, depth)
		w = append(w, 0x23)
		w = wasmbin.AppendU32(w, depth)
		w = append(w, 0x41) // i32.const budget
		w = wasmbin.AppendS64(w, int64(int32(budget)))
		w = append(w, 0x4b, 0x04, 0x40, 0x00, 0x0b) // i32.gt_u; if; unreachable; end
		for p := range params {
			w = append(w, 0x20) // local.get p
			w = wasmbin.AppendU32(w, p)
		}
		w = append(w, 0x10) // call the original
		w = wasmbin.AppendU32(w, imported+n+uint32(j))
		w = append(w, 0x23)
		w = wasmbin.AppendU32(w, depth)
		w = append(w, 0x41)
		w = wasmbin.AppendS64(w, int64(int32(uint32(cost))))
		w = append(w, 0x6b, 0x24) // i32.sub; global.set depth
		w = wasmbin.AppendU32(w, depth)
		w = append(w, 0x0b)
		out = wasmbin.AppendU32(out, uint32(len(w)))
		out = append(out, w...)
	}
	for _, code := range m.Code {
		out = wasmbin.AppendU32(out, uint32(len(code.Entry)))
		out = append(out, code.Entry...)
	}
	return out
}

// GuardFrame is the name the rewrite gives each wrapper function (see
// guardStack) in the "name" section, so that traces can leave their frames
// out (trimTrace): every guest frame would show twice otherwise.
const GuardFrame = "bubblewasm.guard"

// movedNames returns the names of the rewritten module: imports keep
// theirs, the wrappers are all GuardFrame, and each original, at its new
// index, has the name it had (or "$I", its index in the module as built,
// when it had none, so that a trace names it as it would have).
func movedNames(names *wasmbin.Names, imported, n uint32) *wasmbin.Names {
	out := &wasmbin.Names{}
	var funcs []wasmbin.NameAssoc
	if names != nil {
		out.Module, out.HasModule, funcs = names.Module, names.HasModule, names.Funcs
	}
	for len(funcs) > 0 && funcs[0].Index < imported {
		out.Funcs = append(out.Funcs, funcs[0])
		funcs = funcs[1:]
	}
	for i := range n {
		out.Funcs = append(out.Funcs, wasmbin.NameAssoc{Index: imported + i, Name: GuardFrame})
	}
	for i := range n {
		name := "$" + strconv.FormatUint(uint64(imported+i), 10)
		if len(funcs) > 0 && funcs[0].Index == imported+i {
			name = funcs[0].Name
			funcs = funcs[1:]
		}
		out.Funcs = append(out.Funcs, wasmbin.NameAssoc{Index: imported + n + i, Name: name})
	}
	return out
}

// trimTrace returns err with the wasm stack trace in its text made
// readable: the frames of the stack guard's wrappers (GuardFrame) are left
// out, and the frames after them numbered anew where the engine numbers
// them (wasmtime). The trace of a Go guest's fatal panic or error
// (runtime.fatalpanic, runtime.fatalthrow) is left out whole: the Go
// runtime wrote the goroutine's trace, with files and lines, to stderr,
// which the host logs, and the frames would only repeat it. errors.Is and
// errors.As see err as it was.
func trimTrace(err error) error {
	if err == nil {
		return err
	}
	msg := err.Error()
	head, trace, ok := strings.Cut(msg, traceHeader)
	if !ok {
		return err
	}
	frames := strings.Split(strings.TrimPrefix(trace, "\n"), "\n")
	if slices.ContainsFunc(frames, goFatal) {
		return &trimmedError{msg: head + " (Go panic: its goroutine trace is in the guest's stderr)", err: err}
	}
	if !strings.Contains(trace, GuardFrame) {
		return err
	}
	var b strings.Builder
	b.WriteString(head + traceHeader)
	n := 0
	for _, line := range frames {
		if strings.HasPrefix(line, "\t") && strings.Contains(line, GuardFrame) {
			continue
		}
		if num, rest, ok := strings.Cut(strings.TrimPrefix(line, "\t"), ": "); ok && strings.HasPrefix(line, "\t") && isDigits(num) {
			line = "\t" + strconv.Itoa(n) + ": " + rest
			n++
		}
		b.WriteString("\n" + line)
	}
	return &trimmedError{msg: b.String(), err: err}
}

// traceHeader begins the wasm stack trace in an engine's error (both
// engines write it so).
const traceHeader = "\nwasm stack trace:"

// goFatal reports whether a frame of a trace is the Go runtime's fatal
// panic or error, which prints the goroutine's trace before it aborts.
func goFatal(frame string) bool {
	return strings.HasPrefix(frame, "\t") && (strings.Contains(frame, "runtime.fatalpanic") || strings.Contains(frame, "runtime.fatalthrow"))
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// trimmedError is an error with another text.
type trimmedError struct {
	msg string
	err error
}

func (e *trimmedError) Error() string { return e.msg }
func (e *trimmedError) Unwrap() error { return e.err }

// interruptTicks is how many checks of the interrupt guard pass between two
// visits of its slow path.
const interruptTicks = 1 << 14

// interruptCheck returns the interrupt guard's check, with flag the index
// of the interrupt global and ticks that of the countdown:
//
//	global.get ticks; i32.const 1; i32.sub; global.set ticks
//	global.get ticks; i32.eqz
//	if
//	  i32.const interruptTicks; global.set ticks
//	  i32.const 0; memory.grow 0; drop   ;; only when there is a memory
//	  global.get flag; if; unreachable; end
//	end
//
// The slow path runs once every interruptTicks checks. Its memory.grow of
// nothing is what lets a host stop the guest at all: compiled code cannot
// be preempted by the Go scheduler, so a guest that loops without calling
// the host would keep its thread (every thread, with as many such guests
// as GOMAXPROCS) and the timer that ends its context would never fire;
// wazero's compiled memory.grow returns to Go, where the scheduler can run
// other goroutines. A module with no memory (none that the ABI accepts)
// only checks the flag.
func interruptCheck(flag, ticks uint32, memory bool) []byte {
	b := []byte{0x23}
	b = wasmbin.AppendU32(b, ticks)
	b = append(b, 0x41, 0x01, 0x6b, 0x24) // i32.const 1; i32.sub; global.set
	b = wasmbin.AppendU32(b, ticks)
	b = append(b, 0x23)
	b = wasmbin.AppendU32(b, ticks)
	b = append(b, 0x45, 0x04, 0x40, 0x41) // i32.eqz; if; i32.const
	b = wasmbin.AppendS64(b, interruptTicks)
	b = append(b, 0x24)
	b = wasmbin.AppendU32(b, ticks)
	if memory {
		b = append(b, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0; memory.grow 0; drop
	}
	b = append(b, 0x23)
	b = wasmbin.AppendU32(b, flag)
	return append(b, 0x04, 0x40, 0x00, 0x0b, 0x0b) // if; unreachable; end; end
}
