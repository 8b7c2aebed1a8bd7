package bubble_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/bubblewasm/bubblewasm/abi"
)

// A module imports an extension only if it calls it: the server refuses a
// module that imports an extension its route does not grant. The
// extension imports the SDK declares also match abi/ext.go.
func TestExtensionImports(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm modules")
	}
	// go test runs this test, so the go command of its GOROOT is there.
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	host := map[string]map[string]abi.Func{}
	for _, m := range abi.Modules() {
		host[m.Name] = map[string]abi.Func{}
		for _, f := range m.Funcs {
			host[m.Name][f.Name] = f
		}
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	dir := t.TempDir()
	for prog, want := range map[string][]string{
		"none":    nil,
		"session": {abi.KVModule},
		"all":     {abi.PubSubModule, abi.SignalModule, abi.KVModule, abi.DialModule, abi.HTTPModule, abi.ParkModule},
	} {
		out := filepath.Join(dir, prog+".wasm")
		cmd := exec.Command(goCmd, "build", "-buildmode=c-shared", "-o", out, "./testdata/imports/"+prog)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", prog, err, b)
		}
		bin, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		m, err := rt.CompileModule(ctx, bin)
		if err != nil {
			t.Fatalf("%s: %v", prog, err)
		}
		var got []string
		for _, f := range m.ImportedFunctions() {
			mod, name, _ := f.Import()
			funcs, ext := host[mod]
			if !ext || mod == abi.ModuleName {
				continue
			}
			if !slices.Contains(got, mod) {
				got = append(got, mod)
			}
			hf, ok := funcs[name]
			if !ok {
				t.Errorf("%s imports %s.%s, which the host does not have", prog, mod, name)
				continue
			}
			if len(f.ParamTypes()) != len(hf.Params) || len(f.ResultTypes()) != hf.Results {
				t.Errorf("%s imports %s.%s with %d params and %d results, the host has %d and %d",
					prog, mod, name, len(f.ParamTypes()), len(f.ResultTypes()), len(hf.Params), hf.Results)
			}
			for _, p := range append(f.ParamTypes(), f.ResultTypes()...) {
				if p != api.ValueTypeI32 {
					t.Errorf("%s imports %s.%s with a non-i32 type", prog, mod, name)
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s imports the extensions %q, want %q", prog, got, want)
		}
	}
}
