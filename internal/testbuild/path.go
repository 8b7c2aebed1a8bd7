package testbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Path builds the Go guest module whose main package is the directory dir
// (relative to the test's working directory, which is the test's package
// directory, or absolute) as a wasip1 reactor into a temporary directory,
// and returns the .wasm path, named after the directory. It is Module for
// modules that live outside modules/, such as an example's own:
//
//	wasm := testbuild.Path(t, "module") // examples/chat/module -> .../module.wasm
func Path(t testing.TB, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(abs)+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build module %s: %v\n%s", dir, err, msg)
	}
	return out
}
