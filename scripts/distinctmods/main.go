// Command distinctmods writes N distinct copies of a module, for
// measuring servers of many modules (scripts/many-modules.sh):
//
//	go run ./scripts/distinctmods MODULE N DIR
//
// writes DIR/0.wasm … DIR/N-1.wasm, each MODULE with its name section's
// module name set to "uid-I". The host keeps a well-formed name section
// (module and function names) through its load-time rewrites and drops
// every other custom section, so the copies stay distinct where it
// matters: each is compiled on its own, under its own compilation-cache
// key. Code, data and exports are unchanged.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/bubblewasm/bubblewasm/internal/wasmbin"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "distinctmods:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: distinctmods MODULE N DIR")
	}
	bin, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 {
		return fmt.Errorf("N: want a positive number, not %q", args[1])
	}
	m, err := wasmbin.Parse(bin)
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	names := m.Names
	if names == nil {
		names = &wasmbin.Names{}
	}
	secs := m.NonCustom()
	if err := os.MkdirAll(args[2], 0o755); err != nil {
		return err
	}
	for i := range n {
		names.Module, names.HasModule = "uid-"+strconv.Itoa(i), true
		out := wasmbin.Encode(append(secs[:len(secs):len(secs)], wasmbin.Section{ID: wasmbin.SecCustom, Body: wasmbin.EncodeNames(names)}))
		if err := os.WriteFile(filepath.Join(args[2], strconv.Itoa(i)+".wasm"), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}
