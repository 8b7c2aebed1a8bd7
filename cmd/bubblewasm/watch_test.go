package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRunWatch edits the source of a route's module (a WAT file, whose
// recipe is wat2wasm) under `run --watch`: the module is rebuilt and the
// next response is the new one. A source that does not build changes
// nothing. It logs the time from the edit to the reload.
func TestRunWatch(t *testing.T) {
	dir := t.TempDir()
	buildWAT(t, dir, helloWAT) // m.wat and m.wasm
	cfg := filepath.Join(dir, "bubble.toml")
	os.WriteFile(cfg, []byte("[[listener]]\naddress = \"tcp://127.0.0.1:0\"\n\n[[route]]\nmodule = \"m.wasm\"\n"), 0o644)
	p := startProcess(t, exec.Command(buildCLI(t), "run", "--watch", "--log-format", "json", "-c", cfg))
	url := "http://" + p.waitLine(listeningAt)[1] + "/"
	p.waitLine(`"msg":"watching sources","routes":1`)
	getHello(t, http.DefaultClient, url)

	edited := time.Now()
	os.WriteFile(filepath.Join(dir, "m.wat"), []byte(strings.Replace(helloWAT, `hi from wasm\n`, `hi from edit\n`, 1)), 0o644)
	m := p.waitLine(`"msg":"--watch: rebuilt and reloaded","routes":"route1","edit_to_reload_ms":([0-9.]+)`)
	if body := httpGet(t, http.DefaultClient, url); body != "hi from edit\n" {
		t.Fatalf("after the edit: %q", body)
	}
	t.Logf("edit to new response: %v (logged edit to reload: %s ms)", time.Since(edited), m[1])

	os.WriteFile(filepath.Join(dir, "m.wat"), []byte("(module (func"), 0o644)
	p.waitLine(`"level":"ERROR","msg":"--watch: build failed: still serving the previous module","routes":"route1"`)
	if body := httpGet(t, http.DefaultClient, url); body != "hi from edit\n" {
		t.Fatalf("after a source that does not build: %q", body)
	}

	// An edit of the config alone reloads it.
	os.WriteFile(cfg, []byte("[[listener]]\naddress = \"tcp://127.0.0.1:0\"\n\n[[route]]\nname = \"renamed\"\nmodule = \"m.wasm\"\n"), 0o644)
	p.waitLine(`"msg":"reloaded","file":"` + regexp.QuoteMeta(cfg) + `"`)
	if body := httpGet(t, http.DefaultClient, url); body != "hi from edit\n" {
		t.Fatalf("after the config edit: %q", body)
	}
	p.stop()
}
