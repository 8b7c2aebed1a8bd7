package app_test

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
)

// cacheFiles lists the files under dir with their size and modification
// time.
func cacheFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[path] = fmt.Sprintf("%d bytes, %s", info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// The on-disk compilation cache stays warm across starts and across a
// rebuild that writes the same module again: the load-time rewrites are
// deterministic and the cache keys on content, so a second start compiles
// nothing and writes nothing. Two routes of one module with different
// stack budgets are rewritten differently: two entries, each reused.
// (wazero: wasmtime's cache keeps usage statistics that change on every
// hit; its key is the module's bytes and the compiler's settings.)
func TestCompilationCacheStaysWarm(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	module := filepath.Join(dir, "hello.wasm")
	bin := namedHello(t)
	if err := os.WriteFile(module, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bubble.toml")
	cfgText := fmt.Sprintf(`cache_dir = %q
[[listener]]
address = "tcp://127.0.0.1:0"

[[route]]
name = "small-stack"
match = { PATH_INFO = "/small" }
module = "hello.wasm"
max_stack = "64KiB"

[[route]]
name = "default"
module = "hello.wasm"
`, cache)
	if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func() {
		t.Helper()
		cfg := loadConfig(t, path)
		a, err := app.New(context.Background(), cfg, app.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a.Close(context.Background())
	}
	start()
	cold := cacheFiles(t, cache)
	compiled := 0
	for p := range cold {
		if dir := filepath.Dir(p); filepath.Dir(dir) == cache && strings.HasPrefix(filepath.Base(dir), "wazero-") {
			compiled++
		}
	}
	if compiled != 2 {
		t.Errorf("cold start: %d compiled modules in the cache, want 2 (one per stack budget): %v", compiled, cold)
	}
	start()
	if warm := cacheFiles(t, cache); !maps.Equal(cold, warm) {
		t.Errorf("a warm start changed the cache:\ncold %v\nwarm %v", cold, warm)
	}
	// A rebuild with identical output: the file is new, its bytes are not.
	later := time.Now().Add(time.Hour)
	if err := os.WriteFile(module, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(module, later, later)
	start()
	if warm := cacheFiles(t, cache); !maps.Equal(cold, warm) {
		t.Errorf("a start after rewriting the module with the same bytes changed the cache:\ncold %v\nwarm %v", cold, warm)
	}
}

// Three routes of one module (examples/chat's shape) serve, each with its
// own limits where they differ.
func TestRoutesShareAModule(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "hello.wasm"), namedHello(t), 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "bubble.toml")
			cfgText := fmt.Sprintf(header, engine, testCacheDir) + `
[[route]]
name = "one"
match = { PATH_INFO = "/one" }
module = "hello.wasm"
instances = "pool"

[[route]]
name = "two"
match = { PATH_INFO = "/two" }
module = "hello.wasm"

[[route]]
name = "three"
module = "hello.wasm"
memory = "1MiB"
`
			if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
				t.Fatal(err)
			}
			addrs := testapp.Start(t, loadConfig(t, path), app.Options{})
			for _, p := range []string{"/one", "/two", "/three", "/one"} {
				if code, body := do(t, "GET", testutil.URL(addrs[0])+p, ""); code != 200 || body != "hello\n" {
					t.Errorf("GET %s: %d %q", p, code, body)
				}
			}
		})
	}
}

// namedHello is a handler with named functions and a call, so that the
// stack guard rewrites it and its name section is re-encoded.
func namedHello(t *testing.T) []byte {
	src, err := os.ReadFile(filepath.Join("testdata", "named.wat"))
	if err != nil {
		t.Fatal(err)
	}
	return testutil.WAT(t, string(src))
}
