package wazeroengine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// TestConcurrentCompilesFromFileCache: routes that serve one module with
// different limits compile it at once, each in a runtime of its own, from
// one compilation cache. wazero publishes a module it reads from the file
// cache before it has compiled its entry preambles, so a second compile
// of the same bytes at that moment got a module an instantiation could
// panic on (and -race reported the unsynchronised write). The engine
// compiles one binary at a time; every module here instantiates and runs.
func TestConcurrentCompilesFromFileCache(t *testing.T) {
	dir := t.TempDir()
	var src strings.Builder
	src.WriteString("(module (memory 1)\n")
	for i := range 40 { // many function types: many entry preambles
		params := strings.Repeat(" i32", i%8) + strings.Repeat(" i64", i/8)
		fmt.Fprintf(&src, "(func (export \"f%d\") (param%s) (result i32) (i32.const %d))\n", i, params, i)
	}
	src.WriteString(`(func (export "bubble_handle") (result i32) (i32.const 0)))`)
	bin := testutil.WAT(t, src.String())
	ctx := context.Background()

	warm := newEngine(t, dir)
	m, err := warm.Compile(ctx, bin, wasm.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m.Close(ctx)

	for round := range 20 {
		e := newEngine(t, dir) // a new process: the module is on disk only
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				m, err := e.Compile(ctx, bin, wasm.Limits{MemoryPages: uint32(1 + i)})
				if err != nil {
					t.Errorf("round %d compile %d: %v", round, i, err)
					return
				}
				defer m.Close(ctx)
				inst, err := m.Instantiate(ctx, wasm.InstanceConfig{})
				if err != nil {
					t.Errorf("round %d instantiate %d: %v", round, i, err)
					return
				}
				inst.Close(ctx)
			})
		}
		wg.Wait()
		e.Close(ctx)
	}
}
