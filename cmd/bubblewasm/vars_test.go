package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVarsAtLoad: `run` stops at a variable it cannot resolve, naming it
// and not showing a value; `build` needs no secrets.
func TestVarsAtLoad(t *testing.T) {
	const secret = "cmd-Hv19-secret"
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"unset.toml": "[[listener]]\naddress = \"tcp://127.0.0.1:0\"\n[[route]]\nmodule = \"ok.wasm\"\n[route.vars]\ndb = { env = \"BUBBLEWASM_TEST_UNSET\" }\nkey = { file = \"big\" }\nok = \"" + secret + "\"\n",
		"big":        strings.Repeat(secret, 10000),
		"ok.wat":     watHandler,
	})
	t.Setenv("BUBBLEWASM_TEST_UNSET", "") // restored after the test
	os.Unsetenv("BUBBLEWASM_TEST_UNSET")
	cfg := filepath.Join(dir, "unset.toml")
	code, out := runCLI(t, "run", "-c", cfg)
	for _, want := range []string{
		cfg + ":6: route[1].vars.db.env: environment variable BUBBLEWASM_TEST_UNSET is not set",
		cfg + ":7: route[1].vars.key.file: " + filepath.Join(dir, "big") + " is larger than 64KiB",
	} {
		if code != exitConfig || !strings.Contains(out, want) {
			t.Errorf("run: exit %d, want %d and %q:\n%s", code, exitConfig, want, out)
		}
	}
	if strings.Contains(out, secret) {
		t.Errorf("run shows a value:\n%s", out)
	}
	code, out = runCLI(t, "build", "--dry-run", "-c", cfg)
	if code != exitOK || strings.Contains(out, secret) {
		t.Errorf("build: exit %d:\n%s", code, out)
	}
}
