package app_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

const metricsRoutes = `
[admin]
address = "tcp://127.0.0.1:0"

[[route]]
name = "hello"
match = { PATH_INFO = "/hello" }
module = "named.wasm"
timeout = "60s"

[[route]]
name = "fail"
match = { PATH_INFO = "/fail" }
module = "fail.wasm"
timeout = "60s"

[[route]]
name = "hello-again"
match = { PATH_INFO = "/again" }
module = "named.wasm"
`

// startAdmin serves body (see writeConfig) with its admin listener and
// returns the base URLs of the first listener and of the admin listener.
func startAdmin(t *testing.T, body string, wats ...string) (base, admin string) {
	t.Helper()
	return startAdminOn(t, config.EngineWazero, body, wats...)
}

// startAdminOn is startAdmin on the named engine.
func startAdminOn(t *testing.T, engine, body string, wats ...string) (base, admin string) {
	t.Helper()
	cfg, err := config.LoadWith(writeConfig(t, engine, body, wats...), app.ConfigOptions())
	if err != nil {
		t.Fatal(err)
	}
	logger, _ := testutil.CaptureLogger(t)
	a, addrs := testapp.StartApp(t, cfg, app.Options{Logger: logger})
	adminAddr, ok := a.AdminAddress()
	if !ok {
		t.Fatal("no admin address after Listen")
	}
	return testutil.URL(addrs[0]), testutil.URL(adminAddr)
}

// scrape reads /metrics with Prometheus's own text parser.
func scrape(t *testing.T, admin string) map[string]*dto.MetricFamily {
	t.Helper()
	resp := send(t, client, "GET", admin+"/metrics", "")
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return families
}

// sample returns the metric of family name whose labels are all of
// labels ("k=v" strings), or nil.
func sample(families map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// metricWant is the value (-1: absent) of family name with labels.
type metricWant struct {
	name   string
	labels []string
	want   float64
}

// expectValues checks every one of wants in a scrape.
func expectValues(t *testing.T, m map[string]*dto.MetricFamily, wants []metricWant) {
	t.Helper()
	for _, c := range wants {
		if got := value(m, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// value is a counter's or a gauge's value; -1 when absent.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := sample(families, name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -1
}

// TestMetrics: exchanges are counted per route and status, with their
// durations; instances created, reused and closed; the memory budget.
func TestMetrics(t *testing.T) {
	base, admin := startAdmin(t, metricsRoutes, "named", "fail")
	for range 3 {
		if status, body := do(t, "GET", base+"/hello", ""); status != 200 || body != "hello\n" {
			t.Fatalf("GET /hello: %d %q", status, body)
		}
	}
	for range 2 {
		if status, _ := do(t, "GET", base+"/fail", ""); status != 500 {
			t.Fatalf("GET /fail: %d, want 500", status)
		}
	}
	if status, _ := do(t, "GET", base+"/nowhere", ""); status != 404 {
		t.Fatalf("GET /nowhere: %d, want 404", status)
	}
	m := scrape(t, admin)
	expectValues(t, m, []metricWant{
		{"bubblewasm_exchanges_total", []string{"route=hello", "status=200"}, 3},
		{"bubblewasm_exchanges_total", []string{"route=fail", "status=500"}, 2},
		{"bubblewasm_exchanges_total", []string{"route=(none)", "status=404"}, 1},
		{"bubblewasm_exchanges_in_flight", []string{"route=hello"}, 0},
		{"bubblewasm_queued_exchanges_total", []string{"route=hello"}, 0},
		{"bubblewasm_pubsub_subscriptions", nil, 0},
		// Two modules compiled; the third route shares the first's.
		{"bubblewasm_compilations_total", []string{"engine=wazero"}, 2},
		{"bubblewasm_compilations_shared_total", []string{"engine=wazero"}, 1},
		{"bubblewasm_pubsub_backend_connected", nil, 1},
		{"bubblewasm_guest_log_records_dropped_total", []string{"route=hello"}, 0},
	})
	if sample(m, "bubblewasm_exchanges_total", "route=hello", "status=500") != nil {
		t.Error("a 500 counted on route hello")
	}
	for route, want := range map[string]uint64{"hello": 3, "fail": 2} {
		h := sample(m, "bubblewasm_exchange_duration_seconds", "route="+route)
		if h == nil || h.Histogram.GetSampleCount() != want {
			t.Errorf("duration histogram of %s: %v, want %d samples", route, h, want)
		}
	}
	// Snapshot routes: the sequential exchanges of hello reuse an instance
	// (at most one new one); every failure of fail closes its instance.
	created, reused := value(m, "bubblewasm_instances_created_total", "route=hello"), value(m, "bubblewasm_instances_reused_total", "route=hello")
	if created < 1 || reused < 2 || created > 2 {
		t.Errorf("route hello: %v instances created, %v reused; want 1 or 2 created and at least 2 reused", created, reused)
	}
	if closed := value(m, "bubblewasm_instances_closed_total", "route=fail"); closed < 2 {
		t.Errorf("route fail: %v instances closed, want at least 2", closed)
	}
	if used, budget := value(m, "bubblewasm_memory_used_bytes"), value(m, "bubblewasm_memory_budget_bytes"); used <= 0 || budget < used {
		t.Errorf("memory used %v of a budget of %v", used, budget)
	}
	// Every route's module was validated (a hit or a miss of the
	// validation cache) unless the prepared-module cache had it.
	hits, misses := value(m, "bubblewasm_validation_cache_hits_total", "engine=wazero"), value(m, "bubblewasm_validation_cache_misses_total", "engine=wazero")
	prepared, unprepared := value(m, "bubblewasm_prepared_cache_hits_total"), value(m, "bubblewasm_prepared_cache_misses_total")
	if hits+misses != unprepared || prepared+unprepared != 3 {
		t.Errorf("validation cache: %v hits, %v misses; prepared cache: %v hits, %v misses; want one prepared-cache look per route (3), and a validation for each miss", hits, misses, prepared, unprepared)
	}
	if m["go_goroutines"] == nil {
		t.Error("no Go runtime metrics")
	}

	// Scraping again sees the next exchanges, and only those.
	do(t, "GET", base+"/hello", "")
	if got := value(scrape(t, admin), "bubblewasm_exchanges_total", "route=hello", "status=200"); got != 4 {
		t.Errorf("after one more exchange: %v, want 4", got)
	}
}

// TestHealth: /healthz answers while serving; /readyz is 503, naming what
// is missing, while an AMQP listener's broker and the pub/sub backend are
// down, and 200 once every listener takes work.
func TestHealth(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nobody listens there

	t.Run("broker down", func(t *testing.T) {
		_, admin := startAdmin(t, fmt.Sprintf(`
[pubsub]
backend = "amqp"
url = "amqp://guest:guest@%s/"

[[listener]]
name = "work"
address = "amqp://guest:guest@%s/?queue=never"
`, deadAddr, deadAddr)+metricsRoutes, "named", "fail")
		if status, body := do(t, "GET", admin+"/healthz", ""); status != 200 || body != "ok\n" {
			t.Errorf("/healthz: %d %q", status, body)
		}
		status, body := do(t, "GET", admin+"/readyz", "")
		if status != 503 || !strings.Contains(body, "listener work: not taking work") || !strings.Contains(body, "pubsub: backend not connected") ||
			strings.Contains(body, "listener web") {
			t.Errorf("/readyz with the broker down: %d %q", status, body)
		}
		testutil.Eventually(t, "a failed AMQP connection counted", func() bool {
			return value(scrape(t, admin), "bubblewasm_amqp_connect_failures_total", "listener=work") >= 1
		})
		m := scrape(t, admin)
		if consuming, connected := value(m, "bubblewasm_amqp_consuming", "listener=work"), value(m, "bubblewasm_pubsub_backend_connected"); consuming != 0 || connected != 0 {
			t.Errorf("broker down: amqp_consuming %v, pubsub_backend_connected %v; want 0 and 0", consuming, connected)
		}
	})
	t.Run("sockets", func(t *testing.T) {
		_, admin := startAdmin(t, metricsRoutes, "named", "fail")
		testutil.Eventually(t, "/readyz 200", func() bool {
			status, body := do(t, "GET", admin+"/readyz", "")
			return status == 200 && body == "ready\n"
		})
		if status, _ := do(t, "POST", admin+"/metrics", ""); status != 405 {
			t.Errorf("POST /metrics: %d, want 405", status)
		}
		if status, _ := do(t, "GET", admin+"/nothing", ""); status != 404 {
			t.Errorf("GET /nothing: %d, want 404", status)
		}
	})
}

// TestAdminAddress: a bad admin address is a configuration error before
// anything binds; one that cannot be bound fails Listen, which then
// leaves nothing bound.
func TestAdminAddress(t *testing.T) {
	for _, c := range []struct{ address, want string }{
		{"tcp://127.0.0.1:99999", "admin.address:"},
		{"tcp://127.0.0.1", "admin.address:"},
		{"unix://", "admin.address:"},
	} {
		_, err := config.ParseWith("bubble.toml", []byte(fmt.Sprintf("[admin]\naddress = %q\n[[route]]\nmodule = \"m.wasm\"\n", c.address)), app.ConfigOptions())
		if err == nil || !strings.Contains(err.Error(), "bubble.toml:2: "+c.want) {
			t.Errorf("%s: %v, want an error on %s", c.address, err, c.want)
		}
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := loadConfig(t, writeConfig(t, config.EngineWazero, strings.Replace(metricsRoutes, "tcp://127.0.0.1:0", "tcp://"+taken.Addr().String(), 1), "named", "fail"))
	ctx := context.Background()
	a, err := app.New(ctx, cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	if _, err := a.Listen(ctx); err == nil || !strings.Contains(err.Error(), "admin:") {
		t.Fatalf("Listen with the admin port taken: %v", err)
	}
	if _, ok := a.AdminAddress(); ok {
		t.Error("an admin address after a failed Listen")
	}
}

// TestMetricsGuestLog: the guest log records a route drops are counted.
func TestMetricsGuestLog(t *testing.T) {
	base, admin := startAdmin(t, "[admin]\naddress = \"tcp://127.0.0.1:0\"\n"+floodRoutes, "flood")
	const made = 300
	if status, body := do(t, "POST", base+"/log", "", "X-Op: log", "X-Len: 10", "X-Count: 300"); status != 200 || body != "done 300\n" {
		t.Fatalf("flood: %d %q", status, body)
	}
	m := scrape(t, admin)
	// 20 records at once, then one a second: at least 300-20-(seconds the
	// test took) dropped; the other routes made none.
	if got := value(m, "bubblewasm_guest_log_records_dropped_total", "route=flood-log"); got < made/2 || got > made-20 {
		t.Errorf("flood-log dropped %v of %d records", got, made)
	}
	if got := value(m, "bubblewasm_guest_log_records_dropped_total", "route=flood-stdout"); got != 0 {
		t.Errorf("flood-stdout dropped %v records, made none", got)
	}
}

// TestReadyzBrokerUp: /readyz is 503 while the broker of an AMQP listener
// and of the pub/sub backend is down, and turns 200 once it is up and the
// consumer consumes; the consumer's metrics follow.
func TestReadyzBrokerUp(t *testing.T) {
	b := rabbittest.Start(t)
	b.Stop()
	_, admin := startAdmin(t, fmt.Sprintf(`
[pubsub]
backend = "amqp"
url = %q

[[listener]]
name = "work"
address = "%s?queue=ready"
`, b.URL(), b.URL())+metricsRoutes, "named", "fail")
	if status, body := do(t, "GET", admin+"/readyz", ""); status != 503 {
		t.Fatalf("/readyz with the broker stopped: %d %q", status, body)
	}
	b.Restart()
	testutil.Eventually(t, "/readyz 200 once the broker is up", func() bool {
		status, _ := do(t, "GET", admin+"/readyz", "")
		return status == 200
	})
	m := scrape(t, admin)
	if consuming, sessions := value(m, "bubblewasm_amqp_consuming", "listener=work"), value(m, "bubblewasm_amqp_sessions_total", "listener=work"); consuming != 1 || sessions != 1 {
		t.Errorf("amqp_consuming %v, amqp_sessions_total %v; want 1 and 1", consuming, sessions)
	}
	if connected := value(m, "bubblewasm_pubsub_backend_connected"); connected != 1 {
		t.Errorf("pubsub_backend_connected %v, want 1", connected)
	}
}
