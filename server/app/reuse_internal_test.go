package app

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/internal/metrics"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// reuseApp serves routes r0..r9 from dir: r0 serves own.wasm, r9 gone.wasm
// (each a module no other route serves), the others shared.wasm.
type reuseApp struct {
	t       *testing.T
	dir     string
	cache   string
	app     *App
	url     string
	engine  *countingEngine // counts compiled modules closed
	timeout map[string]int  // route name -> timeout in seconds
	broken  bool
}

func startReuseApp(t *testing.T) *reuseApp {
	dir := t.TempDir()
	r := &reuseApp{t: t, dir: dir, cache: t.TempDir(), timeout: map[string]int{}}
	for name, greeting := range map[string]string{"own": "own\n", "gone": "gone\n", "shared": "shared\n"} {
		r.write(name, greeting)
	}
	opts := Options{newEngine: func(name, dir string) (wasm.Engine, error) {
		e, err := NewEngine(name, dir)
		r.engine = &countingEngine{Engine: e}
		return r.engine, err
	}}
	a, err := New(context.Background(), r.config(10), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs, err := a.Listen(ctx)
	if err != nil {
		cancel()
		a.Close(context.Background())
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close(context.Background())
	})
	r.app, r.url = a, testutil.URL(addrs[0])
	return r
}

// write writes NAME.wasm answering greeting, atomically.
func (r *reuseApp) write(name, greeting string) {
	path := filepath.Join(r.dir, name+".wasm")
	if err := os.WriteFile(path+".tmp", helloWAT(r.t, greeting), 0o644); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		r.t.Fatal(err)
	}
}

// config writes and loads the configuration of the first n routes, and
// of a route "broken" whose module is missing when r.broken.
func (r *reuseApp) config(n int) *config.Config {
	var body strings.Builder
	fmt.Fprintf(&body, "cache_dir = %q\nshutdown_timeout = \"5s\"\n[[listener]]\naddress = \"tcp://127.0.0.1:0\"\n", r.cache)
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
	path := filepath.Join(r.dir, "bubble.toml")
	if err := os.WriteFile(path, []byte(body.String()), 0o644); err != nil {
		r.t.Fatal(err)
	}
	cfg, err := config.LoadWith(path, config.Options{ValidatePattern: func(s string) error { _, err := server.ParsePattern(s); return err }})
	if err != nil {
		r.t.Fatal(err)
	}
	return cfg
}

// reload applies the configuration of the first n routes and waits until
// the replaced set is closed.
func (r *reuseApp) reload(n int) error {
	err := r.app.Reload(context.Background(), r.config(n))
	r.app.background.Wait()
	return err
}

// modules returns the loaded module of each route of the current set.
func (r *reuseApp) modules() map[string]*loadedModule {
	set := r.app.routes.Load()
	set.mu.Lock()
	defer set.mu.Unlock()
	return maps.Clone(set.modules)
}

// get checks that route answers want over HTTP.
func (r *reuseApp) get(route, want string) {
	r.t.Helper()
	resp, err := (&http.Client{Timeout: time.Minute}).Get(r.url + "/" + route)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || string(body) != want {
		r.t.Fatalf("/%s: %d %q %v, want %q", route, resp.StatusCode, body, err, want)
	}
}

// A reload keeps the loaded module of every route whose configuration and
// module file are unchanged; a route whose settings or whose module
// file's content changed loads again; a removed route's module is closed
// once; a reload that fails leaves the shared modules held and serving.
func TestReloadReusesUnchangedRoutes(t *testing.T) {
	r := startReuseApp(t)
	first := r.modules()
	closes := func() int32 { return r.engine.closes.Load() }

	// r5's timeout changes; r9 is removed; own.wasm is rewritten with
	// other content: r0 and r5 load again, the others are kept.
	r.timeout["r5"] = 1
	r.write("own", "own, rewritten\n")
	if err := r.reload(9); err != nil {
		t.Fatal(err)
	}
	second := r.modules()
	for name, m := range second {
		if changed := name == "r0" || name == "r5"; (m != first[name]) != changed {
			t.Errorf("%s: loaded again %v, want %v", name, m != first[name], changed)
		}
		if n := m.sets.Load(); n != 1 {
			t.Errorf("%s: held by %d sets once the replaced one is closed, want 1", name, n)
		}
	}
	if _, ok := second["r9"]; ok || len(second) != 9 {
		t.Fatalf("routes after the reload: %d, want 9 without r9", len(second))
	}
	for _, name := range []string{"r0", "r5", "r9"} {
		if n := first[name].sets.Load(); n != 0 {
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
	for name, m := range r.modules() {
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
	for name, m := range r.modules() {
		if m != second[name] || m.sets.Load() != 1 {
			t.Errorf("%s: after a failed reload, same %v, held by %d sets; want the same, held once", name, m == second[name], m.sets.Load())
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
	if m := r.modules()["r9"]; m == first["r9"] || m.handler == nil {
		t.Error("r9: the closed module was kept")
	}
	r.get("r9", "gone\n")
}

// A handler that two route sets hold is counted live until both remove
// it; then its counters stay in the sum.
func TestCountsOwnerHeldTwice(t *testing.T) {
	var k keyedCounts
	m := metrics.New()
	value := 5.0
	owner := new(int)
	read := func() []float64 { return []float64{value} }
	v := metrics.Value{Name: "things_total", Help: "Things.", Counter: true}
	removeOld, err := k.add(m, "route r", nil, owner, read, v)
	if err != nil {
		t.Fatal(err)
	}
	removeNew, err := k.add(m, "route r", nil, owner, read, v)
	if err != nil {
		t.Fatal(err)
	}
	c := k.byName["route r"]
	removeOld()
	value = 7
	if got := c.read(); got[0] != 7 {
		t.Fatalf("after the first set let go: %v, want the live 7", got)
	}
	removeNew()
	value = 100
	if got := c.read(); got[0] != 7 {
		t.Fatalf("after both let go: %v, want the 7 counted", got)
	}
}
