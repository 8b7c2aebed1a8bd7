package wasm

import (
	"context"
	"fmt"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
)

// prepare turns a module binary into the one the engine compiles:
//
//  1. the bounded reader (internal/wasmbin) reads it, so nothing it refuses
//     reaches an engine, and no count in the binary makes the host loop or
//     allocate beyond a small multiple of the binary's size;
//  2. the engine validates the module as written (its custom sections left
//     out), so the rewrites cannot turn an invalid module into a valid one
//     (see guardStack for why no index the module names changes meaning);
//  3. then (rewrite) the snapshot rewrite prepares a module for the
//     snapshot lifecycle (snapshotRewrite), and the rewrites cap tables
//     (capTables) and bound the call stack (guardStack).
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
// validated: the snapshot rewrite when snapshot is set (it returns what it
// did; m must have passed notSnapshottable), then capTables and
// guardStack.
func rewrite(m *wasmbin.Module, limits Limits, snapshot bool) ([]byte, *snapshotPlan, error) {
	secs, err := capTables(m, m.NonCustom(), limits.TableElements)
	if err != nil {
		return nil, nil, err
	}
	var plan *snapshotPlan
	if snapshot {
		secs, plan = snapshotRewrite(m, secs)
	}
	secs, names, err := guardStack(m, secs, limits.StackBytes)
	if err != nil {
		return nil, nil, err
	}
	if plan != nil && len(m.Funcs) > 0 {
		plan.globals = append(plan.globals, StackGlobal)
	}
	if names != nil {
		secs = append(secs, wasmbin.Section{ID: wasmbin.SecCustom, Body: wasmbin.EncodeNames(names)})
	}
	return wasmbin.Encode(secs), plan, nil
}
