package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// TestPreparedCacheWarmStart: the second start on the same cache_dir finds
// its module prepared (read, validated, rewritten) and serves it.
func TestPreparedCacheWarmStart(t *testing.T) {
	dir := namedConfig(t, "cache_dir = \"cache\"\n[admin]\naddress = \"tcp://127.0.0.1:0\"\n")
	for start, want := range []struct{ hits, misses float64 }{{0, 1}, {1, 0}} {
		cfg, err := config.LoadWith(filepath.Join(dir, "bubble.toml"), app.ConfigOptions())
		if err != nil {
			t.Fatal(err)
		}
		logger, _ := testutil.CaptureLogger(t)
		a, addrs := testapp.StartApp(t, cfg, app.Options{Logger: logger})
		adminAddr, _ := a.AdminAddress()
		m := scrape(t, testutil.URL(adminAddr))
		hits, misses := value(m, "bubblewasm_prepared_cache_hits_total"), value(m, "bubblewasm_prepared_cache_misses_total")
		if hits != want.hits || misses != want.misses {
			t.Fatalf("start %d: %v hits, %v misses; want %v and %v", start, hits, misses, want.hits, want.misses)
		}
		if status, body := do(t, "GET", testutil.URL(addrs[0])+"/", ""); status != 200 || body != "hello\n" {
			t.Fatalf("start %d: %d %q", start, status, body)
		}
	}
}

// TestPreparedCachePruned: entries of the prepared-module cache unused for
// a week (a module no route serves, an earlier build's) are removed when
// the server starts and after a reload; the entry the route uses stays.
func TestPreparedCachePruned(t *testing.T) {
	dir := namedConfig(t, "cache_dir = \"cache\"\n")
	prepared := filepath.Join(dir, "cache", "prepared")
	old := time.Now().Add(-wasm.PreparedMaxAge - time.Minute)
	stale := func(b byte) string {
		t.Helper()
		path := filepath.Join(prepared, strings.Repeat(string("0123456789abcdef"[b]), 64))
		if err := os.MkdirAll(prepared, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		return path
	}
	gone := func(path string) bool { _, err := os.Lstat(path); return os.IsNotExist(err) }
	first := stale(1)
	cfg, err := config.LoadWith(filepath.Join(dir, "bubble.toml"), app.ConfigOptions())
	if err != nil {
		t.Fatal(err)
	}
	logger, logs := testutil.CaptureLogger(t)
	a, addrs := testapp.StartApp(t, cfg, app.Options{Logger: logger})
	if !gone(first) {
		t.Fatal("a week-old entry outlived the start")
	}
	waitLog(t, logs, "prepared-module cache: removed entries unused for a week", "entries=1", "bytes=100")
	entries, _ := filepath.Glob(filepath.Join(prepared, "*"))
	if len(entries) != 1 {
		t.Fatalf("entries after the start: %v, want the route's", entries)
	}
	second := stale(2)
	if err := a.Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the week-old entry removed after the reload", func() bool { return gone(second) })
	if gone(entries[0]) {
		t.Fatal("the route's entry was removed")
	}
	if status, body := do(t, "GET", testutil.URL(addrs[0])+"/", ""); status != 200 || body != "hello\n" {
		t.Fatalf("%d %q", status, body)
	}
}
