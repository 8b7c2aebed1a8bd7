package app_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// TestResidentModules: with [limits] resident_modules = 2, a server of
// four routes of distinct modules answers every route right in turn over
// HTTP, loading modules again as it goes, and /metrics shows at most two
// loaded and the evictions and loads per route.
func TestResidentModules(t *testing.T) {
	const routes = 4
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			var body strings.Builder
			body.WriteString("[admin]\naddress = \"tcp://127.0.0.1:0\"\n[limits]\nresident_modules = 2\n")
			for i := range routes {
				fmt.Fprintf(&body, "[[route]]\nname = \"r%d\"\nmatch = { PATH_INFO = \"/r%d\" }\nmodule = \"m%d.wasm\"\ntimeout = \"60s\"\n", i, i, i)
			}
			path := writeConfig(t, engine, body.String())
			writeRouteModules(t, filepath.Dir(path), routes)
			cfg, err := config.LoadWith(path, app.ConfigOptions())
			if err != nil {
				t.Fatal(err)
			}
			logger, _ := testutil.CaptureLogger(t)
			a, addrs := testapp.StartApp(t, cfg, app.Options{Logger: logger})
			adminAddr, _ := a.AdminAddress()
			base, admin := testutil.URL(addrs[0]), testutil.URL(adminAddr)
			if n := value(scrape(t, admin), "bubblewasm_resident_modules"); n != 2 {
				t.Fatalf("after the start: %v modules loaded, want 2", n)
			}
			for round := range 3 {
				for i := range routes {
					if status, got := do(t, "GET", fmt.Sprintf("%s/r%d", base, i), ""); status != 200 || got != fmt.Sprintf("hello from r%d\n", i) {
						t.Fatalf("round %d, r%d: %d %q", round, i, status, got)
					}
				}
			}
			m := scrape(t, admin)
			if n := value(m, "bubblewasm_resident_modules"); n > 2 {
				t.Fatalf("%v modules loaded, want at most 2", n)
			}
			// Cycling through four routes with two places, every request
			// after the start's two resident routes loads its module again.
			var restores float64
			for i := range routes {
				route := fmt.Sprintf("route=r%d", i)
				restores += value(m, "bubblewasm_module_restores_total", route)
				if value(m, "bubblewasm_module_evictions_total", route) == 0 {
					t.Errorf("r%d was never unloaded", i)
				}
			}
			if restores < 10 {
				t.Fatalf("%v loads again in 12 requests cycling 4 routes with 2 resident, want at least 10", restores)
			}
		})
	}
}

// TestResidentModulesWithoutCacheDir: the start warns that unloaded
// modules will be compiled from scratch.
func TestResidentModulesWithoutCacheDir(t *testing.T) {
	dir := namedConfig(t, "[limits]\nresident_modules = 5\n")
	cfg, err := config.LoadWith(filepath.Join(dir, "bubble.toml"), app.ConfigOptions())
	if err != nil {
		t.Fatal(err)
	}
	logger, logs := testutil.CaptureLogger(t)
	testapp.StartApp(t, cfg, app.Options{Logger: logger})
	waitLog(t, logs, "resident_modules without cache_dir", "resident_modules=5")
}

// namedConfig writes, in a new directory it returns, named.wasm
// (testdata/named.wat) and a bubble.toml of head, then a loopback listener
// and one route serving named.wasm.
func namedConfig(t *testing.T, head string) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/named.wat")
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFiles(t, dir, map[string]string{
		"named.wasm":  string(testutil.WAT(t, string(src))),
		"bubble.toml": head + "[[listener]]\naddress = \"tcp://127.0.0.1:0\"\n[[route]]\nmodule = \"named.wasm\"\n",
	})
	return dir
}

// TestResidentModulesUnderSweep: 300 routes of distinct modules (every
// other one pooled), 8 resident, and 16 clients asking random routes at
// once over HTTP: every request gets its own route's answer while modules
// are unloaded and loaded again under it, and at most 8 stay loaded.
func TestResidentModulesUnderSweep(t *testing.T) {
	const routes, resident, clients, requests = 300, 8, 16, 60
	var body strings.Builder
	fmt.Fprintf(&body, "[admin]\naddress = \"tcp://127.0.0.1:0\"\n[limits]\nresident_modules = %d\n", resident)
	for i := range routes {
		fmt.Fprintf(&body, "[[route]]\nname = \"r%d\"\nmatch = { PATH_INFO = \"/r%d\" }\nmodule = \"m%d.wasm\"\ntimeout = \"120s\"\n", i, i, i)
		if i%2 == 1 {
			body.WriteString("instances = \"pool\"\n")
		}
	}
	path := writeConfig(t, "wazero", body.String())
	writeRouteModules(t, filepath.Dir(path), routes)
	cfg, err := config.LoadWith(path, app.ConfigOptions())
	if err != nil {
		t.Fatal(err)
	}
	logger, _ := testutil.CaptureLogger(t)
	a, addrs := testapp.StartApp(t, cfg, app.Options{Logger: logger})
	adminAddr, _ := a.AdminAddress()
	base, admin := testutil.URL(addrs[0]), testutil.URL(adminAddr)

	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for n := range requests {
				i := rng.IntN(routes)
				status, got, err := doErr("GET", fmt.Sprintf("%s/r%d", base, i), "")
				if err != nil {
					t.Errorf("client %d, request %d, r%d: %v", c, n, i, err)
					return
				}
				if want := fmt.Sprintf("hello from r%d\n", i); status != 200 || got != want {
					t.Errorf("client %d, request %d, r%d: %d %q, want 200 %q", c, n, i, status, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	m := scrape(t, admin)
	if n := value(m, "bubblewasm_resident_modules"); n > resident {
		t.Fatalf("%v modules loaded, want at most %d", n, resident)
	}
	var restores float64
	for i := range routes {
		restores += value(m, "bubblewasm_module_restores_total", fmt.Sprintf("route=r%d", i))
	}
	// 960 requests over 300 routes with 8 places: almost every one loads.
	if restores < clients*requests/2 {
		t.Fatalf("%v loads again in %d requests, want at least half", restores, clients*requests)
	}
	t.Logf("%d requests, %v loads again", clients*requests, restores)
}

// writeRouteModules writes m0.wasm … m(n-1).wasm in dir, module i
// answering "hello from ri\n": distinct bytes, so no two routes share a
// compilation.
func writeRouteModules(t *testing.T, dir string, n int) {
	t.Helper()
	for i := range n {
		msg := fmt.Sprintf("hello from r%d\n", i)
		wat := fmt.Sprintf(`(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) %q)
  (func (export "bubble_handle") (result i32)
    (drop (call $write (i32.const 0) (i32.const %d)))
    (i32.const 0)))`, msg, len(msg))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%d.wasm", i)), testutil.WAT(t, wat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
