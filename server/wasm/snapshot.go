package wasm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
)

// The snapshot lifecycle (Snapshot) serves every exchange on an instance
// in the state it had right after initialization: its memory (contents
// and size) and every mutable global as the start function, _initialize
// and bubble_init left them. It takes that state once, at load, from an
// instance that ran the initialization (the snapshot), and afterwards
//
//   - makes new instances from it without running any initialization
//     (their memory starts as the snapshot's, mapped copy-on-write where
//     the platform allows; their globals are set to its values), as a
//     pre-initializer such as Wizer does;
//   - resets an instance after each exchange it served: the memory pages
//     the exchange wrote are copied back from the snapshot and every
//     mutable global is set again. An exchange that failed in any way
//     (trap, timeout, non-zero result) or grew the memory discards its
//     instance instead; the next exchange gets one made from the snapshot.
//
// # What a snapshot captures, and what it cannot
//
// The state of an instance is its memory, its globals, its tables, which
// of its data and element segments were dropped, and the WASI state the
// host keeps for it. A snapshot captures the first two. The rest is made
// impossible to change, so that the snapshot need not capture it:
//
//   - Tables and segments: a module whose code contains an instruction
//     that changes a table or a segment — table.set, table.grow,
//     table.fill, table.copy, table.init, elem.drop, data.drop — cannot be
//     snapshotted (the engines offer no way to read or restore a table),
//     nor one whose memory.init copies from an active data segment (the
//     rewrite below keeps those segments undropped). Guest toolchains do
//     not emit these without threads (Go, TinyGo, C, Rust and
//     AssemblyScript modules have none); function tables are filled by
//     element segments at instantiation, identically in every instance.
//   - Globals of type v128, funcref or externref that are mutable: the
//     engines' APIs cannot set them. Such a module cannot be snapshotted.
//   - WASI: the only per-instance WASI state a handler can change is its
//     descriptor table (stdin, stdout, stderr: there are no preopened
//     directories and no sockets). Both adapters refuse fd_close,
//     fd_renumber and fd_fdstat_set_flags on those descriptors for ABI v1
//     handlers of every lifecycle (StdioFixed).
//
// What lies outside the instance is not part of it: the KV store, pub/sub
// channels and signals a route grants are shared on purpose. And what the
// snapshot holds, every exchange starts from: a generator seeded during
// initialization (Go's runtime and math/rand, Rust's HashMap keys)
// produces the same sequence in every exchange, so anything that must
// differ between exchanges must come from random_get (crypto/rand), which
// the host answers afresh each call.
//
// A module the snapshot cannot capture is refused at load when the route
// asked for instances = "snapshot", and served with fresh instances, with
// a log line saying why, when snapshot is only the default.
//
// # The load-time rewrite
//
// snapshotRewrite changes the module so that an instance can be made
// without running any initialization, and its state read and set:
//
//   - every mutable global the module defines is also exported, as
//     "bubblewasm.global.N" (N its index), so that the host can read it
//     after initialization and set it in every new or reset instance
//     through the engines' public APIs;
//   - the start function, which exportStart made an export
//     (StartExport) for every lifecycle, is called for the instance that
//     initializes, and never for one made from the snapshot;
//   - every active data segment becomes an empty passive one (indices are
//     kept), and the host writes its bytes into the initializing instance's
//     memory itself, where the engine would have (InstanceConfig.Data): an
//     instance made from the snapshot gets its memory from the snapshot,
//     and nothing may write the original data over it. No instruction can
//     tell the difference: an active segment is dropped after
//     instantiation, and the analysis refused memory.init of one and every
//     data.drop.
//
// Only names that begin with "bubblewasm." are added; a module that
// exports such a name itself is refused (rewrite).

// Reserved export names of the snapshot rewrite.
const (
	// StartExport is the export name of a module's start function (see
	// exportStart).
	StartExport = "bubblewasm.start"
	// GlobalExportPrefix begins the export names of a snapshotted module's
	// mutable globals: "bubblewasm.global.N", N the global's index.
	GlobalExportPrefix = "bubblewasm.global."
	// reservedPrefix begins every export name the host adds.
	reservedPrefix = "bubblewasm."
)

// DataInit is an active data segment that the host writes into an
// initializing instance's memory (InstanceConfig.Data).
type DataInit struct {
	Offset uint32
	Bytes  []byte
}

// snapshotPlan is what the snapshot rewrite did to a module.
type snapshotPlan struct {
	// globals are the export names of the module's mutable globals, the
	// stack guard's counter included.
	globals []string
	// data are the module's active data segments, in order.
	data []DataInit
}

// notSnapshottable explains why a module cannot be snapshotted (nil when
// it can). It decodes every function body.
func notSnapshottable(m *wasmbin.Module) error {
	var why []string
	for _, imp := range m.Imports {
		if imp.Kind != wasmbin.KindFunc {
			why = append(why, fmt.Sprintf("it imports %s %s.%s", imp.Kind, imp.Module, imp.Name))
		}
	}
	for i, g := range m.Globals {
		if g.Mutable && g.Type != wasmbin.I32 && g.Type != wasmbin.I64 && g.Type != wasmbin.F32 && g.Type != wasmbin.F64 {
			why = append(why, fmt.Sprintf("global %d is a mutable %s, which the engines cannot set", int(m.Imported(wasmbin.KindGlobal))+i, g.Type))
		}
	}
	for i, d := range m.DataSegments {
		if _, ok := dataOffset(d); !d.Passive && !ok {
			why = append(why, fmt.Sprintf("data segment %d has an offset that is not a constant", i))
		}
	}
	imported := m.Imported(wasmbin.KindFunc)
	for i := range m.Code {
		var bad string
		err := m.Instructions(i, func(in wasmbin.Instr) bool {
			bad = changesSegmentsOrTables(m, in)
			return bad == ""
		})
		switch {
		case err != nil:
			why = append(why, fmt.Sprintf("its code could not be decoded (%v)", err))
		case bad != "":
			why = append(why, fmt.Sprintf("function %d %s", imported+uint32(i), bad))
		}
		if err != nil || bad != "" {
			break // one function is reason enough
		}
	}
	if len(why) == 0 {
		return nil
	}
	return errors.New(strings.Join(why, "; "))
}

// changesSegmentsOrTables returns what in does that a snapshot cannot
// undo, or "".
func changesSegmentsOrTables(m *wasmbin.Module, in wasmbin.Instr) string {
	switch in.Op {
	case wasmbin.OpTableSet, wasmbin.OpTableGrow, wasmbin.OpTableFill, wasmbin.OpTableCopy, wasmbin.OpTableInit:
		return fmt.Sprintf("changes table %d (instruction %s at byte %d)", in.Index, in.Op, in.Offset)
	case wasmbin.OpElemDrop:
		return fmt.Sprintf("drops element segment %d (elem.drop at byte %d)", in.Index, in.Offset)
	case wasmbin.OpDataDrop:
		return fmt.Sprintf("drops data segment %d (data.drop at byte %d)", in.Index, in.Offset)
	case wasmbin.OpMemoryInit:
		if uint64(in.Index) < uint64(len(m.DataSegments)) && !m.DataSegments[in.Index].Passive {
			return fmt.Sprintf("copies from active data segment %d (memory.init at byte %d)", in.Index, in.Offset)
		}
	}
	return ""
}

// dataOffset evaluates an active data segment's offset: an i32.const
// (a global.get could only read an imported global, and the host provides
// none).
func dataOffset(d wasmbin.DataSegment) (uint32, bool) {
	e := d.Offset
	if len(e) < 3 || e[0] != 0x41 || e[len(e)-1] != 0x0b {
		return 0, false
	}
	v, n := readS32(e[1 : len(e)-1])
	return uint32(v), n == len(e)-2
}

// readS32 decodes a signed LEB128 number of at most 32 bits, returning the
// bytes used (0 when b does not hold one).
func readS32(b []byte) (int32, int) {
	var v uint32
	for i := 0; i < 5 && i < len(b); i++ {
		v |= uint32(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if shift := 7 * (i + 1); shift < 32 && b[i]&0x40 != 0 {
				v |= ^uint32(0) << shift
			}
			return int32(v), i + 1
		}
	}
	return 0, 0
}

// snapshotRewrite applies the snapshot rewrite to secs, m's sections, and
// to m.Exports (the stack guard, which runs after it, encodes the export
// section from them). m must have passed notSnapshottable.
func snapshotRewrite(m *wasmbin.Module, secs []wasmbin.Section) ([]wasmbin.Section, *snapshotPlan) {
	plan := &snapshotPlan{}
	exports := m.Exports[:len(m.Exports):len(m.Exports)]
	first := m.Imported(wasmbin.KindGlobal)
	for i, g := range m.Globals {
		if g.Mutable {
			name := GlobalExportPrefix + strconv.Itoa(int(first)+i)
			exports = append(exports, wasmbin.Export{Name: name, Kind: wasmbin.KindGlobal, Index: first + uint32(i)})
			plan.globals = append(plan.globals, name)
		}
	}
	m.Exports = exports
	secs = wasmbin.SetSection(secs, wasmbin.Section{ID: wasmbin.SecExport, Body: wasmbin.EncodeExports(exports)})
	if len(m.DataSegments) > 0 {
		segs := make([]wasmbin.DataSegment, len(m.DataSegments))
		for i, d := range m.DataSegments {
			if d.Passive {
				segs[i] = d
				continue
			}
			off, _ := dataOffset(d)
			plan.data = append(plan.data, DataInit{Offset: off, Bytes: d.Init})
			segs[i] = wasmbin.DataSegment{Passive: true}
		}
		secs = wasmbin.SetSection(secs, wasmbin.Section{ID: wasmbin.SecData, Body: wasmbin.EncodeData(segs)})
	}
	return secs, plan
}

// removeSection returns secs without the section of id.
func removeSection(secs []wasmbin.Section, id byte) []wasmbin.Section {
	out := secs[:0]
	for _, s := range secs {
		if s.ID != id {
			out = append(out, s)
		}
	}
	return out
}
