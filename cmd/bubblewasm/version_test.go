package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersionListsEngines checks that `version` names both engines.
func TestVersionListsEngines(t *testing.T) {
	code, out := runCLI(t, "version")
	both := regexp.MustCompile(`(?m)^engines: wazero v\S+, wasmtime (v39\.\S+|unavailable: .+)$`)
	if code != 0 || !both.MatchString(out) {
		t.Fatalf("exit %d, output does not match %s:\n%s", code, both, out)
	}
}

// TestWithoutCgo builds the CLI with CGO_ENABLED=0: `version` and a route
// on wasmtime must say clearly that this build has no wasmtime.
func TestWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI without cgo")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bubblewasm")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	const reason = "wasmtime engine needs cgo; this bubblewasm was built with CGO_ENABLED=0"

	out, err := exec.Command(bin, "version").CombinedOutput()
	if want := regexp.MustCompile(`(?m)^engines: wazero v\S+, wasmtime unavailable: ` + reason + `$`); err != nil || !want.Match(out) {
		t.Fatalf("version: %v; output does not match %s:\n%s", err, want, out)
	}

	mod := buildWAT(t, dir, helloWAT)
	cfg := filepath.Join(dir, "bubble.toml")
	os.WriteFile(cfg, []byte("[[listener]]\naddress = \"tcp://"+freePort(t)+"\"\n[[route]]\nname = \"hello\"\nmodule = \""+mod+"\"\nengine = \"wasmtime\"\n"), 0o644)
	out, err = exec.Command(bin, "run", "-c", cfg).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitConfig || !strings.Contains(string(out), "route hello: engine not available in this build: "+reason) {
		t.Fatalf("run with a wasmtime route: %v, want exit %d and the reason; output:\n%s", err, exitConfig, out)
	}
}
