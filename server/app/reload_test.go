package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// versionWAT is a module that answers "NAME\n".
const versionWAT = `(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "%s\n")
  (func (export "bubble_handle") (result i32)
    (drop (call $write (i32.const 0) (i32.const %d)))
    (i32.const 0)))`

// writeVersion writes the module answering version to path atomically
// (a rename), as a deploy should.
func writeVersion(t testing.TB, path, version string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, testutil.WAT(t, fmt.Sprintf(versionWAT, version, len(version)+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// reloadConfig writes bubble.toml in dir with the common header (its
// listener "web") and body, and returns it loaded.
func reloadConfig(t testing.TB, dir, body string) *config.Config {
	t.Helper()
	path := filepath.Join(dir, "bubble.toml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(header, "wazero", testCacheDir)+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return loadConfig(t, path)
}

const versionRoute = `
[[route]]
name = "version"
module = "version.wasm"
timeout = "30s"
`

// serveApp runs cfg until the test ends, once every listener serves.
func serveApp(t testing.TB, cfg *config.Config, opts app.Options) (*app.App, []server.Address) {
	t.Helper()
	a, addrs := testapp.StartApp(t, cfg, opts)
	if err := a.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a, addrs
}

// TestReloadAlternatesModules sends 10,000 requests from keep-alive and
// fresh-connection clients across 20 reloads that alternate two versions
// of a module: none fails, each is answered by one version or the other,
// and both are seen.
func TestReloadAlternatesModules(t *testing.T) {
	dir := t.TempDir()
	module := filepath.Join(dir, "version.wasm")
	writeVersion(t, module, "v1")
	logger, logs := testutil.CaptureLogger(t)
	a, addrs := serveApp(t, reloadConfig(t, dir, versionRoute), app.Options{Logger: logger})
	url := testutil.URL(addrs[0])

	const total, reloads, workers = 10000, 20, 8
	var sent, done atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	var failures []string
	var wg sync.WaitGroup
	for w := range workers {
		tr := &http.Transport{MaxIdleConnsPerHost: workers, DisableKeepAlives: w == 0} // one worker opens a connection per request
		t.Cleanup(tr.CloseIdleConnections)
		c := &http.Client{Transport: tr, Timeout: time.Minute}
		wg.Go(func() {
			for sent.Add(1) <= total {
				body, err := get(c, url)
				mu.Lock()
				if err != nil || (body != "v1\n" && body != "v2\n") {
					failures = append(failures, fmt.Sprintf("%q %v", body, err))
				}
				seen[body]++
				mu.Unlock()
				done.Add(1)
			}
		})
	}
	for i := range reloads {
		// Spread the reloads over the requests: wait for a share of them.
		testutil.Eventually(t, "requests between reloads", func() bool { return done.Load() >= int64(i+1)*total/(reloads+2) })
		writeVersion(t, module, []string{"v2", "v1"}[i%2])
		if err := a.Reload(context.Background(), reloadConfig(t, dir, versionRoute)); err != nil {
			t.Fatalf("reload %d: %v", i+1, err)
		}
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed, first: %s", len(failures), total, failures[0])
	}
	if seen["v1\n"] == 0 || seen["v2\n"] == 0 {
		t.Errorf("want both versions, saw %v", seen)
	}
	if got, _ := get(http.DefaultClient, url); got != "v1\n" { // the 20th reload loaded v1
		t.Errorf("after the last reload: %q, want v1", got)
	}
	if n := strings.Count(logs.String(), "msg=reloaded"); n != reloads {
		t.Errorf("%d reload lines, want %d", n, reloads)
	}
	t.Logf("v1 answered %d, v2 %d; a reload: %s", seen["v1\n"], seen["v2\n"], waitLog(t, logs, "msg=reloaded", "routes=1"))
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), err
}

// TestReloadFailureChangesNothing: a module that does not load, a missing
// one, a setting only a restart applies and an address that cannot be
// bound each fail the reload, and the old routes keep answering.
func TestReloadFailureChangesNothing(t *testing.T) {
	dir := t.TempDir()
	module := filepath.Join(dir, "version.wasm")
	writeVersion(t, module, "v1")
	a, addrs := serveApp(t, reloadConfig(t, dir, versionRoute), app.Options{Logger: testutil.Logger(t)})
	url := testutil.URL(addrs[0])
	taken := testutil.Listen(t, "tcp://127.0.0.1:0")
	for _, tc := range []struct {
		name, body, garbage, want string
	}{
		{"broken module", versionRoute, "not wasm", "route version"},
		{"missing module", strings.Replace(versionRoute, "version.wasm", "gone.wasm", 1), "", "gone.wasm"},
		{"restart only", versionRoute + "\n[limits]\nmemory_budget = \"64MiB\"\n", "", "[limits]"},
		{"bind fails", versionRoute + fmt.Sprintf("\n[[listener]]\nname = \"taken\"\naddress = \"tcp://%s\"\n", taken.Addr()), "", "listener taken"},
		{"listener setting", strings.Replace(versionRoute, "[[route]]", "max_connections = 7\n\n[[route]]", 1), "", "restart to change them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeVersion(t, module, "v2")
			if tc.garbage != "" {
				os.WriteFile(module, []byte(tc.garbage), 0o644)
			}
			err := a.Reload(context.Background(), reloadConfig(t, dir, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("reload: %v, want an error with %q", err, tc.want)
			}
			if got, err := get(http.DefaultClient, url); got != "v1\n" {
				t.Errorf("after the failed reload: %q %v, want v1", got, err)
			}
		})
	}
	writeVersion(t, module, "v2") // and a good reload still works
	if err := a.Reload(context.Background(), reloadConfig(t, dir, versionRoute)); err != nil {
		t.Fatal(err)
	}
	if got, err := get(http.DefaultClient, url); got != "v2\n" {
		t.Errorf("after the reload: %q %v, want v2", got, err)
	}
}

// TestReloadListeners: a listener added by a reload binds and serves, a
// removed one stops accepting, and one whose settings change keeps its
// socket and serves with its new transport.
func TestReloadListeners(t *testing.T) {
	dir := t.TempDir()
	writeVersion(t, filepath.Join(dir, "version.wasm"), "v1")
	sock := func(name string) string { return "unix://" + filepath.Join(dir, name+".sock") }
	listener := func(name, extra string) string {
		return fmt.Sprintf("\n[[listener]]\nname = %q\naddress = %q\n%s\n", name, sock(name), extra)
	}
	a, addrs := serveApp(t, reloadConfig(t, dir, listener("old", "")+listener("kept", "")+versionRoute), app.Options{Logger: testutil.Logger(t)})
	old, kept := testutil.HTTPClient(t, addrs[1]), testutil.HTTPClient(t, addrs[2])
	for _, c := range []*http.Client{old, kept} {
		if got, err := get(c, "http://unix/"); got != "v1\n" {
			t.Fatalf("before: %q %v", got, err)
		}
	}
	// "kept" changes a transport setting: its body limit.
	if err := a.Reload(context.Background(), reloadConfig(t, dir, listener("kept", "max_body_bytes = 4")+listener("new", "")+versionRoute)); err != nil {
		t.Fatal(err)
	}
	added, err := server.ParseAddress(sock("new"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := get(testutil.HTTPClient(t, added), "http://unix/"); got != "v1\n" {
		t.Errorf("added listener: %q %v", got, err)
	}
	testutil.Eventually(t, "the removed listener to refuse connections", func() bool {
		conn, err := addrs[1].Dial(context.Background())
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	if got, err := get(kept, "http://unix/"); got != "v1\n" {
		t.Errorf("kept listener: %q %v", got, err)
	}
	resp, err := kept.Post("http://unix/", "text/plain", strings.NewReader("longer than four bytes"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("kept listener's new max_body_bytes: status %d, want 413", resp.StatusCode)
	}
}

// TestReloadKeepsRunningExchanges: an exchange that started before a
// reload (a guest waiting for a signal) finishes on the routes it started
// on, woken by a route of the new set; the replaced set is closed only
// after it ends.
func TestReloadKeepsRunningExchanges(t *testing.T) {
	path := writeConfig(t, "wazero", signalRoutes, "wait", "send")
	a, addrs := serveApp(t, loadConfig(t, path), app.Options{Logger: testutil.Logger(t)})
	base := testutil.URL(addrs[0])
	_, r := startWait(t, context.Background(), base+"/wait?inflight")
	testutil.Eventually(t, "the guest to park", func() bool { return parkedIn(signalWait) == 1 })
	for range 3 {
		if err := a.Reload(context.Background(), loadConfig(t, path)); err != nil {
			t.Fatal(err)
		}
	}
	sendUntil(t, base, "inflight", "across reloads", 1)
	if rest, err := io.ReadAll(r); err != nil || string(rest) != "signalled: across reloads\n" {
		t.Fatalf("the exchange that began before the reloads: %q, %v", rest, err)
	}
}

// TestReloadMetrics reloads an app that has an admin listener, with its
// routes changed between versions (one module rewritten, one route
// removed, one added, then the first set again): every reload succeeds,
// /metrics still parses (no series collected twice), and a route's
// counters keep counting across reloads under its name.
func TestReloadMetrics(t *testing.T) {
	dir := t.TempDir()
	module := filepath.Join(dir, "version.wasm")
	writeVersion(t, module, "v1")
	const admin = `
[admin]
address = "tcp://127.0.0.1:0"
`
	route := func(name, path string) string {
		return fmt.Sprintf("\n[[route]]\nname = %q\nmatch = { PATH_INFO = %q }\nmodule = \"version.wasm\"\ntimeout = \"30s\"\n", name, path)
	}
	first := admin + route("version", "/v") + route("old", "/old")
	second := admin + route("version", "/v") + route("new", "/new")
	logger, _ := testutil.CaptureLogger(t)
	a, addrs := serveApp(t, reloadConfig(t, dir, first), app.Options{Logger: logger})
	base := testutil.URL(addrs[0])
	adminAddr, ok := a.AdminAddress()
	if !ok {
		t.Fatal("no admin address")
	}
	adminURL := testutil.URL(adminAddr)
	expect := func(path string, status int, body string) {
		t.Helper()
		if s, b := do(t, "GET", base+path, ""); s != status || (body != "" && b != body) {
			t.Fatalf("GET %s: %d %q, want %d %q", path, s, b, status, body)
		}
	}
	reload := func(body string) {
		t.Helper()
		if err := a.Reload(context.Background(), reloadConfig(t, dir, body)); err != nil {
			t.Fatal(err)
		}
	}

	expect("/v", 200, "v1\n")
	expect("/v", 200, "v1\n")
	expect("/old", 200, "v1\n")
	expect("/nowhere", 404, "")
	writeVersion(t, module, "v2")
	reload(second)
	expect("/v", 200, "v2\n")
	expect("/new", 200, "v2\n")
	expect("/old", 404, "") // removed: unrouted now
	reload(first)           // "old" back, "new" gone: names registered before
	expect("/v", 200, "v2\n")
	expect("/old", 200, "v2\n")

	m := scrape(t, adminURL) // fails on a series collected twice (a 500)
	expectValues(t, m, []metricWant{
		{"bubblewasm_exchanges_total", []string{"route=version", "status=200"}, 4},
		{"bubblewasm_exchanges_total", []string{"route=old", "status=200"}, 2},
		{"bubblewasm_exchanges_total", []string{"route=new", "status=200"}, 1},
		{"bubblewasm_exchanges_total", []string{"route=(none)", "status=404"}, 2},
	})
	// Two handlers of "version" served (the last reload kept the second's:
	// its module did not change); each made an instance for its exchanges,
	// and the counts of the one replaced stay in the counter.
	if got := value(m, "bubblewasm_instances_created_total", "route=version"); got < 2 {
		t.Errorf("instances_created_total{route=version} = %v, want at least 2 (one per handler that served)", got)
	}
	if h := sample(m, "bubblewasm_exchange_duration_seconds", "route=version"); h.GetHistogram().GetSampleCount() != 4 {
		t.Errorf("exchange_duration_seconds{route=version} count = %d, want 4", h.GetHistogram().GetSampleCount())
	}
	if status, body := do(t, "GET", adminURL+"/readyz", ""); status != 200 {
		t.Errorf("/readyz after reloads: %d %q", status, body)
	}
	// [admin] is bound once: changing it takes a restart.
	err := a.Reload(context.Background(), reloadConfig(t, dir, strings.Replace(first, "127.0.0.1:0", "127.0.0.1:1", 1)))
	if err == nil || !strings.Contains(err.Error(), "[admin]") {
		t.Errorf("reload changing [admin]: %v, want a restart error naming [admin]", err)
	}
	expect("/v", 200, "v2\n")
	if got := value(scrape(t, adminURL), "bubblewasm_exchanges_total", "route=version", "status=200"); got != 5 {
		t.Errorf("after a failed reload: exchanges_total{route=version} = %v, want 5", got)
	}
}
