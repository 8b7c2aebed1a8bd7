package app_test

import (
	"path/filepath"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
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
