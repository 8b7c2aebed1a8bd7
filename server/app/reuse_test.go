package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// reuseApp serves routes r0..r9 from dir: r0 serves own.wasm, r9 gone.wasm
// (each a module no other route serves), the others shared.wasm.
type reuseApp struct {
	t       *testing.T
	dir     string
	app     *app.App
	url     string
	closes  func() int32   // compiled modules closed
	timeout map[string]int // route name -> timeout added to 30 s
	broken  bool           // add a route whose module is missing
}

func startReuseApp(t *testing.T) *reuseApp {
	r := &reuseApp{t: t, dir: t.TempDir(), timeout: map[string]int{}}
	for _, name := range []string{"own", "gone", "shared"} {
		writeVersion(t, filepath.Join(r.dir, name+".wasm"), name)
	}
	opts, closes := app.CountingClosedModules(app.Options{})
	a, addrs := testapp.StartApp(t, r.config(10), opts)
	r.app, r.url, r.closes = a, testutil.URL(addrs[0]), closes
	return r
}

// config writes and loads the configuration of the first n routes, and
// of a route "broken" whose module is missing when r.broken.
func (r *reuseApp) config(n int) *config.Config {
	var body strings.Builder
	for i := range n {
		name := fmt.Sprintf("r%d", i)
		module := map[int]string{0: "own", 9: "gone"}[i]
		if module == "" {
			module = "shared"
		}
		fmt.Fprintf(&body, "\n[[route]]\nname = %q\nmodule = \"%s.wasm\"\nmatch = { PATH_INFO = \"/%s\" }\ntimeout = \"%ds\"\n",
			name, module, name, 30+r.timeout[name])
	}
	if r.broken {
		body.WriteString("\n[[route]]\nname = \"broken\"\nmodule = \"missing.wasm\"\n")
	}
	return reloadConfig(r.t, r.dir, body.String())
}

// reload applies the configuration of the first n routes and waits until
// the replaced set is closed.
func (r *reuseApp) reload(n int) error {
	err := r.app.Reload(context.Background(), r.config(n))
	r.app.WaitReplaced()
	return err
}

// get checks that route answers want over HTTP.
func (r *reuseApp) get(route, want string) {
	r.t.Helper()
	if status, got := do(r.t, "GET", r.url+"/"+route, ""); status != 200 || got != want {
		r.t.Fatalf("/%s: %d %q, want %q", route, status, got, want)
	}
}

// A reload keeps the loaded module of every route whose configuration and
// module file are unchanged; a route whose settings or whose module
// file's content changed loads again; a removed route's module is closed
// once; a reload that fails leaves the shared modules held and serving.
func TestReloadReusesUnchangedRoutes(t *testing.T) {
	r := startReuseApp(t)
	first := r.app.LoadedModules()
	closes := r.closes

	// r5's timeout changes; r9 is removed; own.wasm is rewritten with
	// other content: r0 and r5 load again, the others are kept.
	r.timeout["r5"] = 1
	writeVersion(t, filepath.Join(r.dir, "own.wasm"), "own, rewritten")
	if err := r.reload(9); err != nil {
		t.Fatal(err)
	}
	second := r.app.LoadedModules()
	for name, m := range second {
		if changed := name == "r0" || name == "r5"; (m != first[name]) != changed {
			t.Errorf("%s: loaded again %v, want %v", name, m != first[name], changed)
		}
		if n := m.Sets(); n != 1 {
			t.Errorf("%s: held by %d sets once the replaced one is closed, want 1", name, n)
		}
	}
	if _, ok := second["r9"]; ok || len(second) != 9 {
		t.Fatalf("routes after the reload: %d, want 9 without r9", len(second))
	}
	for _, name := range []string{"r0", "r5", "r9"} {
		if n := first[name].Sets(); n != 0 {
			t.Errorf("the replaced module of %s is held by %d sets, want 0 (closed)", name, n)
		}
	}
	// gone.wasm and the first own.wasm were compiled for r9 and r0 alone:
	// both closed, once.
	if n := closes(); n != 2 {
		t.Errorf("%d compiled modules closed, want 2 (r9's and r0's old one)", n)
	}
	r.get("r0", "own, rewritten\n")
	r.get("r1", "shared\n")
	r.get("r5", "shared\n")

	// A second reload in a row, nothing changed: everything is kept.
	if err := r.reload(9); err != nil {
		t.Fatal(err)
	}
	for name, m := range r.app.LoadedModules() {
		if m != second[name] {
			t.Errorf("%s: loaded again by a reload that changes nothing", name)
		}
	}

	// A reload that fails (a route's module is missing) after taking the
	// kept modules changes nothing: they are held once, and serve.
	r.broken = true
	if err := r.reload(9); err == nil || !strings.Contains(err.Error(), "missing.wasm") {
		t.Fatalf("reload with a missing module: %v", err)
	}
	for name, m := range r.app.LoadedModules() {
		if m != second[name] || m.Sets() != 1 {
			t.Errorf("%s: after a failed reload, same %v, held by %d sets; want the same, held once", name, m == second[name], m.Sets())
		}
	}
	if n := closes(); n != 2 {
		t.Errorf("%d compiled modules closed after a failed reload, want still 2", n)
	}
	r.get("r0", "own, rewritten\n")
	r.get("r8", "shared\n")

	// r9 comes back: loaded anew, as a route never seen.
	r.broken = false
	if err := r.reload(10); err != nil {
		t.Fatal(err)
	}
	if m := r.app.LoadedModules()["r9"]; m == first["r9"] || m.Sets() != 1 {
		t.Error("r9: the closed module was kept")
	}
	r.get("r9", "gone\n")
}
