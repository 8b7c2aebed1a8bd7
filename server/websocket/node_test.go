package websocket_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
	"github.com/bubblewasm/bubblewasm/server/websocket"
)

// echo is the handler above the socket: each message's output is its input.
var echo = server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
	b, err := io.ReadAll(x.Reader)
	if err != nil {
		return err
	}
	_, err = x.Writer.Write(b)
	return err
})

// serveWS serves a websocket handler over echo on the HTTP transport and
// returns its ws:// URL.
func serveWS(t *testing.T, opts websocket.Options) (*websocket.Handler, string) {
	t.Helper()
	return serveWSWith(t, echo, opts)
}

// serveWSWith is serveWS over another handler.
func serveWSWith(t *testing.T, next server.Handler, opts websocket.Options) (*websocket.Handler, string) {
	t.Helper()
	opts.Logger = testutil.Logger(t)
	h := websocket.New(next, opts)
	t.Cleanup(h.Close)
	addr := testutil.Serve(t, "tcp://127.0.0.1:0", "http", h, transport.Options{})
	return h, "ws" + strings.TrimPrefix(testutil.URL(addr), "http") + "/ws"
}

// nodeCase runs one scenario of nodetest/cases.mjs (the ws package as the
// client) and fails the test unless the client reports success.
func nodeCase(t *testing.T, name, url string, ready func()) map[string]any {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node (Node.js 20 or later) is not on PATH; run scripts/deps.sh")
	}
	if out, err := exec.Command("bash", "nodetest/install.sh").CombinedOutput(); err != nil {
		t.Fatalf("nodetest/install.sh: %v\n%s", err, out)
	}
	cmd := exec.Command(node, "nodetest/cases.mjs", name, url)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	var last string
	for lines.Scan() {
		if lines.Text() == "ready" && ready != nil {
			ready()
			continue
		}
		last = lines.Text()
	}
	err = cmd.Wait()
	var result map[string]any
	if jerr := json.Unmarshal([]byte(last), &result); jerr != nil || err != nil || result["ok"] != true {
		t.Fatalf("node cases.mjs %s: %v; output %q; stderr %s", name, err, last, stderr.String())
	}
	return result
}

// The ws package's view of a route: echo, fragments, ping and pong, the
// message limit (1009), invalid UTF-8 (1007), a foreign origin (403), a
// client that vanishes mid-message (its socket ends), and a drain (1001).
func TestNodeClient(t *testing.T) {
	h, url := serveWS(t, websocket.Options{MaxMessage: 1024, PingInterval: 200 * time.Millisecond, IdleTimeout: time.Minute})
	for _, name := range []string{"echo", "fragments", "ping", "oversize", "utf8", "origin", "vanish"} {
		t.Run(name, func(t *testing.T) {
			t.Logf("%v", nodeCase(t, name, url, nil))
			testutil.Eventually(t, "the socket ends", func() bool { return h.Sockets() == 0 })
		})
	}
	t.Run("shutdown", func(t *testing.T) {
		drain, stop := context.WithCancel(context.Background())
		defer stop()
		h, url := serveWS(t, websocket.Options{Drain: drain})
		nodeCase(t, "shutdown", url, stop)
		testutil.Eventually(t, "the socket ends", func() bool { return h.Sockets() == 0 })
	})
}
