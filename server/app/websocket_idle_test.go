package app_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

const wsIdleRoutes = `
[admin]
address = "tcp://127.0.0.1:0"

[[route]]
name = "msg"
match = { PATH_INFO = "/ws", "bubble.transport" = "websocket" }
module = "wsecho.wasm"
timeout = "60s"
` + newsPublisher + `
[[route]]
name = "ws"
match = { PATH_INFO = "/ws" }
transport = "websocket"
pubsub = ["news"]
websocket_open = true
timeout = "60s"
`

// idleSockets is how many sockets TestWebSocketIdleSockets holds open:
// both ends are in this process, so twice as many descriptors.
const idleSockets = 2000

// TestWebSocketIdleSockets opens idleSockets sockets, each of which runs
// its open exchange and follows "news", then checks that while they idle
// no exchange runs and the route holds no more instances than it had
// after the open exchanges (its pool), that one publish reaches every
// socket straight from the broker with no exchange, and that a shutdown
// closes every socket with 1001.
func TestWebSocketIdleSockets(t *testing.T) {
	cfg, err := config.LoadWith(writeConfig(t, config.EngineWazero, wsIdleRoutes, "wsecho", "pubsub"), app.ConfigOptions())
	if err != nil {
		t.Fatal(err)
	}
	logger, _ := testutil.CaptureLogger(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	a, err := app.New(ctx, cfg, app.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	addrs, err := a.Listen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx) }()
	adminAddr, _ := a.AdminAddress()
	base, admin := testutil.URL(addrs[0]), testutil.URL(adminAddr)

	rctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conns := make([]*ws.Conn, idleSockets)
	var wg sync.WaitGroup
	errs := make(chan error, idleSockets)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := ws.Dial(rctx, wsURL(base), &ws.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{}}})
			if err != nil {
				errs <- err
				return
			}
			if _, msg, err := c.Read(rctx); err != nil || string(msg) != "welcome" {
				errs <- fmt.Errorf("socket %d: first message %q %v", i, msg, err)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()

	m := scrape(t, admin)
	live := value(m, "bubblewasm_instances_created_total", "route=msg") - value(m, "bubblewasm_instances_closed_total", "route=msg")
	if inFlight := value(m, "bubblewasm_exchanges_in_flight", "route=msg"); inFlight != 0 {
		t.Errorf("%v exchanges in flight on msg with %d idle sockets, want 0", inFlight, idleSockets)
	}
	if live > float64(config.DefaultMaxConcurrency) {
		t.Errorf("%v live instances on msg for %d idle sockets, want at most the pool's %d", live, idleSockets, config.DefaultMaxConcurrency)
	}
	opens := value(m, "bubblewasm_exchanges_total", "route=msg", "status=200")
	t.Logf("%d idle sockets: %v instances live on the message route, %v open exchanges", idleSockets, live, opens)

	if code, body := do(t, "POST", base+"/ps", "extra", "X-Op: publish", "X-Channel: news"); code != 200 || body != fmt.Sprintf("published %d\n", idleSockets) {
		t.Fatalf("publish: %d %q", code, body)
	}
	for i, c := range conns {
		if _, msg, err := c.Read(rctx); err != nil || string(msg) != "extra" {
			t.Fatalf("socket %d: pushed %q %v", i, msg, err)
		}
	}
	if after := value(scrape(t, admin), "bubblewasm_exchanges_total", "route=msg", "status=200"); after != opens {
		t.Errorf("delivering a published message ran %v exchanges, want none", after-opens)
	}

	// Shutdown: every socket hears 1001 (going away).
	stop()
	codes := map[ws.StatusCode]int{}
	for _, c := range conns {
		_, _, err := c.Read(rctx)
		codes[ws.CloseStatus(err)]++
	}
	if codes[ws.StatusGoingAway] != idleSockets {
		t.Errorf("close codes at shutdown: %v, want %d × 1001", codes, idleSockets)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
}
