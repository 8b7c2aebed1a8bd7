// Package testbuild builds the repository's Go guest modules for tests, so
// a test always runs the current source and needs no prior `make build`.
package testbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Module builds modules/NAME as a wasip1 reactor into a temporary directory
// and returns the .wasm path. The Go build cache makes repeated builds cheap.
func Module(t testing.TB, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, "./modules/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build module %s: %v\n%s", name, err, msg)
	}
	return out
}
