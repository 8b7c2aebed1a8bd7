// Package imports_test checks the modules the C SDK builds: a module imports an
// extension only if it calls it (the server refuses a module that imports
// an extension its route does not grant), and every import matches the
// host's function. The SDK's own tests are test.sh (native, fake host) and
// the conformance kit (guest-sdk/conformance).
package imports_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/bubblewasm/bubblewasm/abi"
)

// httpModule is the outbound HTTP extension; until the host has it
// (abi.Modules), its functions' arity is that of its specification.
const httpModule = "bubblewasm_http_v1"

var httpFuncs = map[string]int{"request": 9, "status": 1, "headers": 3, "read": 3, "close": 1}

func TestExtensionImports(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm modules")
	}
	params := map[string]map[string]int{} // module, function: parameter count (one i32 result each)
	for _, m := range abi.Modules() {
		params[m.Name] = map[string]int{}
		for _, f := range m.Funcs {
			params[m.Name][f.Name] = len(f.Params)
		}
	}
	if params[httpModule] == nil {
		params[httpModule] = httpFuncs
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	dir := t.TempDir()
	for name, c := range map[string]struct {
		source string
		want   []string
	}{
		"hello": {"../../../modules/hello-c/hello.c", nil},
		"kit":   {"../kit/kit.c", []string{abi.PubSubModule, abi.SignalModule, abi.KVModule, abi.DialModule, abi.HTTPModule, abi.ParkModule}},
		"http":  {"testdata/http.c", []string{httpModule}},
	} {
		out := filepath.Join(dir, name+".wasm")
		if b, err := exec.Command("bash", "../build.sh", out, c.source).CombinedOutput(); err != nil {
			t.Fatalf("build.sh %s: %v\n%s", c.source, err, b)
		}
		bin, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		m, err := rt.CompileModule(ctx, bin)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, f := range m.ImportedFunctions() {
			mod, fn, _ := f.Import()
			funcs, known := params[mod]
			if !known || mod == abi.ModuleName {
				continue
			}
			if !slices.Contains(got, mod) {
				got = append(got, mod)
			}
			n, ok := funcs[fn]
			switch {
			case !ok:
				t.Errorf("%s imports %s.%s, which the host does not have", name, mod, fn)
			case len(f.ParamTypes()) != n || len(f.ResultTypes()) != 1:
				t.Errorf("%s imports %s.%s with %d params and %d results, the host has %d and 1",
					name, mod, fn, len(f.ParamTypes()), len(f.ResultTypes()), n)
			}
			for _, p := range append(f.ParamTypes(), f.ResultTypes()...) {
				if p != api.ValueTypeI32 {
					t.Errorf("%s imports %s.%s with a non-i32 type", name, mod, fn)
				}
			}
		}
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s imports the extensions %q, want %q", name, got, c.want)
		}
	}
}
