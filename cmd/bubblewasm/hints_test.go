package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoCommandModule builds a Go SDK handler the wrong way, as a command
// (no -buildmode=c-shared): it exports _start and bubble_handle, and its
// bubble_handle would fail with "wasmexport function called before
// runtime initialization". inspect calls it not loadable and validate and
// run refuse it, each saying how to rebuild it.
func TestGoCommandModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go module")
	}
	dir := t.TempDir()
	writeTree(t, dir, goHandler(t, "gocommand"))
	mod := filepath.Join(dir, "gocommand.wasm")
	build := exec.Command("go", "build", "-o", mod, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	const hint = "it exports _start as well as bubble_handle: it was built as a command, not a reactor, so its runtime is never initialized (Go: rebuild with -buildmode=c-shared"

	in := inspectJSON(t, mod)
	if in.Loadable || len(in.Problems) != 1 || !strings.HasPrefix(in.Problems[0], hint) {
		t.Fatalf("inspect: loadable %v, problems %q", in.Loadable, in.Problems)
	}
	for _, cmd := range []string{"validate", "run"} {
		code, out := runCLI(t, cmd, mod)
		if code != exitConfig || !strings.Contains(out, "route gocommand: module "+mod+": not a bubblewasm ABI v1 handler: "+hint) {
			t.Fatalf("%s: exit %d, want %d and the hint:\n%s", cmd, code, exitConfig, out)
		}
	}
}
