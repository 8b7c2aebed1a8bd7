package wasm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bubblewasm/bubblewasm/abi"
)

// Validate checks a compiled module against ABI v1 before any instance is
// made: the required exports and their signatures, and that every import is
// a host function this server provides with the right signature.
func Validate(m Module) error {
	var problems []string
	exports := map[string]Signature{}
	for _, e := range m.Exports() {
		exports[e.Name] = e.Signature
	}
	i32 := []ValueType{I32}
	if sig, ok := exports[abi.ExportHandle]; !ok {
		if _, isCommand := exports[abi.ExportStart]; isCommand {
			problems = append(problems, fmt.Sprintf("it is a WASI command module (exports %s, not %s); serve it as a CGI program with abi = \"cgi\" or \"auto\" on its route", abi.ExportStart, abi.ExportHandle))
		} else {
			problems = append(problems, fmt.Sprintf("it does not export %s", abi.ExportHandle))
		}
	} else if !sameSig(sig, nil, i32) {
		problems = append(problems, fmt.Sprintf("export %s has type %s, want () -> (i32)", abi.ExportHandle, sig))
	}
	_, start := exports[abi.ExportStart]
	_, initialize := exports[abi.ExportInitialize]
	if _, handle := exports[abi.ExportHandle]; handle && start && !initialize {
		// A command's runtime is set up by _start, which a handler never
		// runs: a Go module's bubble_handle then fails with "wasmexport
		// function called before runtime initialization".
		problems = append(problems, fmt.Sprintf("it exports %s as well as %s: it was built as a command, not a reactor, so its runtime is never initialized "+
			"(Go: rebuild with -buildmode=c-shared, C: with -mexec-model=reactor, Rust: with --crate-type cdylib)", abi.ExportStart, abi.ExportHandle))
	}
	if sig, ok := exports[abi.ExportInit]; ok && !sameSig(sig, nil, i32) {
		problems = append(problems, fmt.Sprintf("export %s has type %s, want () -> (i32)", abi.ExportInit, sig))
	}
	if sig, ok := exports[abi.ExportInitialize]; ok && !sameSig(sig, nil, nil) {
		problems = append(problems, fmt.Sprintf("export %s has type %s, want () -> ()", abi.ExportInitialize, sig))
	}
	if !m.ExportsMemory(abi.ExportMemory) {
		problems = append(problems, fmt.Sprintf("it does not export its memory as %q", abi.ExportMemory))
	}
	host := map[string]abi.Func{}
	modules := map[string]bool{}
	for _, hm := range abi.Modules() {
		modules[hm.Name] = true
		for _, f := range hm.Funcs {
			host[hm.Name+"."+f.Name] = f
		}
	}
	for _, imp := range m.Imports() {
		switch {
		case modules[imp.Module]:
			f, ok := host[imp.Module+"."+imp.Name]
			if !ok {
				problems = append(problems, fmt.Sprintf("it imports %s.%s, which ABI v1 does not have", imp.Module, imp.Name))
				continue
			}
			want := Signature{Params: slices.Repeat(i32, len(f.Params)), Results: slices.Repeat(i32, f.Results)}
			if !sameSig(imp.Signature, want.Params, want.Results) {
				problems = append(problems, fmt.Sprintf("it imports %s.%s as %s, want %s", imp.Module, imp.Name, imp.Signature, want))
			}
		case imp.Module == "wasi_snapshot_preview1":
		default:
			problems = append(problems, fmt.Sprintf("it imports %s.%s from a module this server does not provide", imp.Module, imp.Name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("not a bubblewasm ABI v1 handler: %s", strings.Join(problems, "; "))
	}
	return nil
}

func sameSig(s Signature, params, results []ValueType) bool {
	return slices.Equal(s.Params, params) && slices.Equal(s.Results, results)
}

// String returns the signature in WebAssembly text style: (i32, i32) -> (i32).
func (s Signature) String() string {
	list := func(ts []ValueType) string {
		parts := make([]string, len(ts))
		for i, t := range ts {
			parts[i] = t.String()
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return list(s.Params) + " -> " + list(s.Results)
}
