package app_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// rateRoutes: a module route and a static route, each with a bucket that
// refills far slower than the test runs (one token every 1000 s), and a
// route without a limit.
const rateRoutes = `
[admin]
address = "tcp://127.0.0.1:0"

[[route]]
name = "limited"
match = { PATH_INFO = "/limited" }
module = "named.wasm"
rate_limit = 0.001
rate_burst = %d

[[route]]
name = "files"
builtin = "static"
root = "."
match = { PATH_INFO = "/files/*" }
rate_limit = 0.001

[[route]]
name = "open"
match = { PATH_INFO = "/open" }
module = "named.wasm"
`

// TestRateLimit: a route's rate_limit refuses what is over its burst
// with 429 and a Retry-After from its bucket, on module and builtin routes
// alike; other routes are not affected; the refusals are counted, logged
// with their status, and a reload keeps the bucket unless the limit
// changes.
func TestRateLimit(t *testing.T) {
	logger, _ := testutil.CaptureLogger(t)
	access := &testutil.LogBuffer{}
	path := writeConfig(t, config.EngineWazero, strings.Replace(rateRoutes, "%d", "2", 1), "named")
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "a.txt"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadWith(path, app.ConfigOptions())
	if err != nil {
		t.Fatal(err)
	}
	a, addrs := testapp.StartApp(t, cfg, app.Options{Logger: logger, AccessLog: slog.New(slog.NewJSONHandler(access, nil))})
	base := testutil.URL(addrs[0])
	adminAddr, _ := a.AdminAddress()
	admin := testutil.URL(adminAddr)

	for i := range 2 {
		if status, body := do(t, "GET", base+"/limited", ""); status != 200 || body != "hello\n" {
			t.Fatalf("request %d within the burst: %d %q", i+1, status, body)
		}
	}
	refused := func(url string) {
		t.Helper()
		resp := send(t, client, "GET", url, "")
		resp.Body.Close()
		if resp.StatusCode != 429 {
			t.Fatalf("GET %s over the limit: %s, want 429", url, resp.Status)
		}
		// The next token is 1000 s away (less what the test took).
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 900 || s > 1000 {
			t.Fatalf("GET %s: Retry-After %q, want about 1000", url, resp.Header.Get("Retry-After"))
		}
	}
	refused(base + "/limited")
	refused(base + "/limited")
	if status, _ := do(t, "GET", base+"/files/a.txt", ""); status != 200 {
		t.Fatalf("static route within its burst: %d", status)
	}
	refused(base + "/files/a.txt")
	for range 5 {
		if status, _ := do(t, "GET", base+"/open", ""); status != 200 {
			t.Fatalf("the route without a limit: %d", status)
		}
	}

	m := scrape(t, admin)
	expectValues(t, m, []metricWant{
		{"bubblewasm_rate_limited_total", []string{"route=limited"}, 2},
		{"bubblewasm_rate_limited_total", []string{"route=files"}, 1},
		{"bubblewasm_rate_limited_total", []string{"route=open"}, -1},
		{"bubblewasm_exchanges_total", []string{"route=limited", "status=429"}, 2},
		{"bubblewasm_exchanges_total", []string{"route=limited", "status=200"}, 2},
	})
	waitLog(t, access, `"route":"limited"`, `"status":429`)

	// The same limit after a reload: the same bucket, still empty.
	if err := a.Reload(context.Background(), loadConfig(t, path)); err != nil {
		t.Fatal(err)
	}
	refused(base + "/limited")
	// A new limit: a new bucket, full.
	if err := os.WriteFile(path, []byte(strings.Replace(mustRead(t, path), "rate_burst = 2", "rate_burst = 3", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(context.Background(), loadConfig(t, path)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if status, _ := do(t, "GET", base+"/limited", ""); status != 200 {
			t.Fatalf("request %d within the new burst: %d", i+1, status)
		}
	}
	refused(base + "/limited")
	if got := value(scrape(t, admin), "bubblewasm_rate_limited_total", "route=limited"); got != 4 {
		t.Errorf("rate_limited_total after the reloads = %v, want 4 (counts outlive a reload)", got)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
