package wasm

import (
	"context"
	"fmt"
	"strings"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
)

// prepare and rewrite turn a module binary into the one the engine
// compiles:
//
//  1. the bounded reader (internal/wasmbin) reads it, so nothing it refuses
//     reaches an engine, and no count in the binary makes the host loop or
//     allocate beyond a small multiple of the binary's size;
//  2. the engine validates the module as written (its custom sections left
//     out), so the rewrites cannot turn an invalid module into a valid one
//     (see guardStack for why no index the module names changes meaning);
//  3. then the rewrites (rewrite) cap tables (capTables), make the start
//     function an export (exportStart), prepare the module for the
//     snapshot lifecycle (snapshotRewrite) and bound the call stack
//     (guardStack, with the interrupt guard).
//
// Of the custom sections only a well-formed "name" section reaches the
// engine, re-encoded from what the reader decoded (module and function
// names, moved with the functions): the others are opaque to the host,
// code offsets move anyway (DWARF), and the engines differ on what they
// accept there (wazero refuses a module whose last custom section is empty,
// and a malformed name section, which wasmtime and the specification
// ignore). Dropping them makes both engines see the same thing.
func prepare(ctx context.Context, engine Engine, bin []byte) (*wasmbin.Module, error) {
	m, err := wasmbin.Parse(bin)
	if err != nil {
		return nil, fmt.Errorf("malformed module: %w", err)
	}
	if err := engine.Validate(ctx, wasmbin.Encode(m.NonCustom())); err != nil {
		return nil, fmt.Errorf("invalid module: %w", err)
	}
	return m, nil
}

// rewrite applies the load-time rewrites to a module that the engine
// validated: capTables; exportStart; the snapshot rewrite when snapshot is
// set (it returns what it did; m must have passed notSnapshottable); then
// guardStack, with the interrupt guard when limits.InterruptGuard is set.
// Export names that begin with "bubblewasm." are the host's: a module
// that exports one is refused.
func rewrite(m *wasmbin.Module, limits Limits, snapshot bool) ([]byte, *snapshotPlan, error) {
	for _, e := range m.Exports {
		if strings.HasPrefix(e.Name, reservedPrefix) {
			return nil, nil, fmt.Errorf("export name %q is reserved: names beginning with %q are the host's", e.Name, reservedPrefix)
		}
	}
	secs, err := capTables(m, m.NonCustom(), limits.TableElements)
	if err != nil {
		return nil, nil, err
	}
	secs = exportStart(m, secs)
	var plan *snapshotPlan
	if snapshot {
		secs, plan = snapshotRewrite(m, secs)
	}
	secs, names, err := guardStack(m, secs, limits.StackBytes, limits.InterruptGuard)
	if err != nil {
		return nil, nil, err
	}
	if plan != nil && len(m.Funcs) > 0 {
		plan.globals = append(plan.globals, StackGlobal)
		if limits.InterruptGuard {
			plan.globals = append(plan.globals, InterruptGlobal)
		}
	}
	if names != nil {
		secs = append(secs, wasmbin.Section{ID: wasmbin.SecCustom, Body: wasmbin.EncodeNames(names)})
	}
	return wasmbin.Encode(secs), plan, nil
}

// exportStart removes m's start section, if it has one, and exports its
// function as StartExport instead: every adapter calls that export right
// after instantiation, where the engine would have called the start
// function, but with the call's context bounding it as any other guest
// call (an engine cannot interrupt what runs inside its instantiation),
// and the snapshot lifecycle can make an instance without calling it.
func exportStart(m *wasmbin.Module, secs []wasmbin.Section) []wasmbin.Section {
	if !m.HasStart {
		return secs
	}
	m.Exports = append(m.Exports[:len(m.Exports):len(m.Exports)], wasmbin.Export{Name: StartExport, Kind: wasmbin.KindFunc, Index: m.Start})
	secs = removeSection(secs, wasmbin.SecStart)
	return wasmbin.SetSection(secs, wasmbin.Section{ID: wasmbin.SecExport, Body: wasmbin.EncodeExports(m.Exports)})
}
