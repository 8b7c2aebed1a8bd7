package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/server/app"
)

// newsPublisher publishes to "news" on POST /ps (X-Op: publish).
const newsPublisher = `
[[route]]
name = "ps"
module = "pubsub.wasm"
match = { PATH_INFO = "/ps" }
pubsub = ["news"]
`

// One route upgrades /ws and serves its messages with its own module: no
// message route, the module keys (vars, pubsub) on the websocket route.
const wsModuleRoutes = newsPublisher + `
[[route]]
name = "ws"
match = { PATH_INFO = "/ws" }
transport = "websocket"
module = "wsecho.wasm"
instances = "pool"
pubsub = ["news"]
websocket_open = true
timeout = "30s"
`

// Echo with the env of a message exchange, a follow made by the open
// exchange, and a trap closing the socket with 1011, on each engine.
func TestWebSocketModule(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, _ := start(t, engine, wsModuleRoutes, "wsecho", "pubsub")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := dialWS(t, ctx, base, http.Header{"Cookie": {"session=abc"}})

			checkMessages(t, ctx, c, "ws")

			// The open exchange followed "news" within the route's grant.
			if code, body := do(t, "POST", base+"/ps", "on news", "X-Op: publish", "X-Channel: news"); code != 200 {
				t.Fatalf("publish: %d %s", code, body)
			}
			if _, got, err := c.Read(ctx); err != nil || string(got) != "on news" {
				t.Fatalf("pushed %q %v, want \"on news\"", got, err)
			}

			checkTrapCloses(t, ctx, c)
			// The route serves the next socket: the trap cost an instance only.
			c = dialWS(t, ctx, base, nil)
			if _, got := roundTrip(t, ctx, c, ws.MessageText, "again"); got != "again" {
				t.Errorf("after the trap: %q", got)
			}
		})
	}
}

// A websocket route's module is loaded like any route's: a missing one
// fails New, named by its route and line.
func TestWebSocketModuleMissing(t *testing.T) {
	cfg := loadConfig(t, writeConfig(t, "wazero", `
[[route]]
name = "ws"
transport = "websocket"
module = "absent.wasm"
`))
	a, err := app.New(context.Background(), cfg, app.Options{})
	if err == nil {
		a.Close(context.Background())
		t.Fatal("New succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "route ws") || !strings.Contains(msg, "absent.wasm") {
		t.Errorf("error %q names neither the route nor the module", msg)
	}
}

// The messages of a websocket route with a module count on the route's
// exchange and instance metrics, as any module route's exchanges do.
func TestWebSocketModuleMetrics(t *testing.T) {
	base, admin := startAdmin(t, "[admin]\naddress = \"tcp://127.0.0.1:0\"\n"+wsModuleRoutes, "wsecho", "pubsub")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := dialWS(t, ctx, base, nil) // the open exchange
	for _, msg := range []string{"one", "two"} {
		if _, got := roundTrip(t, ctx, c, ws.MessageText, msg); got != msg {
			t.Fatalf("echo %q: %q", msg, got)
		}
	}
	m := scrape(t, admin)
	if got := value(m, "bubblewasm_exchanges_total", "route=ws", "status=200"); got != 3 {
		t.Errorf("exchanges of route ws: %v, want 3 (open and two messages; the upgrade is in flight)", got)
	}
	created, reused := value(m, "bubblewasm_instances_created_total", "route=ws"), value(m, "bubblewasm_instances_reused_total", "route=ws")
	if created < 1 || reused < 2 {
		t.Errorf("route ws: %v instances created, %v reused; want a pooled instance serving the messages", created, reused)
	}
}
