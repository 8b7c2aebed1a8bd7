package websocket_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/websocket"
)

// A client that never reads answers no ping: the socket is closed with
// 1001 once websocket_idle_timeout passes.
func TestIdleTimeout(t *testing.T) {
	h, url := serveWS(t, websocket.Options{PingInterval: 100 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	ctx, c := dial(t, url)
	// The client's handshake can end before the server counts the socket:
	// wait for it to be counted, else the wait below ends at once and the
	// read (which answers pings) keeps the socket alive.
	testutil.Eventually(t, "the socket is open", func() bool { return h.Sockets() == 1 })
	testutil.Eventually(t, "the idle socket is closed", func() bool { return h.Sockets() == 0 })
	if _, _, err := c.Read(ctx); ws.CloseStatus(err) != ws.StatusGoingAway {
		t.Errorf("read after the idle timeout: %v, want close 1001", err)
	}
}

// A client that answers pings (it reads) outlives many idle timeouts.
func TestPongsKeepSocket(t *testing.T) {
	// The idle timeout leaves a busy machine 800 ms to answer a ping.
	h, url := serveWS(t, websocket.Options{PingInterval: 200 * time.Millisecond, IdleTimeout: time.Second})
	ctx, c := dial(t, url)
	readCtx := c.CloseRead(ctx) // reads, and so answers pings
	select {                    // three idle timeouts
	case <-readCtx.Done():
		t.Fatal("socket closed while answering pings")
	case <-time.After(3 * time.Second):
	}
	if h.Sockets() != 1 {
		t.Errorf("%d sockets open, want 1", h.Sockets())
	}
}

// Upgrade refusals: not an upgrade (426, with Sec-WebSocket-Version), a
// foreign origin (403), a bad handshake (400), over MaxSockets (503).
func TestRefusals(t *testing.T) {
	_, url := serveWS(t, websocket.Options{MaxSockets: 1, Origins: []string{"*.example.com"}})
	base := "http" + strings.TrimPrefix(url, "ws")
	upgrade := []string{"Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="}
	for _, c := range []struct {
		name    string
		method  string
		headers []string
		status  int
		body    string
	}{
		{"plain GET", "GET", nil, 426, "Upgrade: websocket"},
		{"POST", "POST", upgrade, 426, "not POST"},
		{"no Connection", "GET", upgrade[1:], 426, "Connection: Upgrade"},
		{"foreign origin", "GET", slices.Concat(upgrade, []string{"Origin: https://evil.test"}), 403, "evil.test"},
		{"no key", "GET", upgrade[:3], 400, "Sec-WebSocket-Key"},
		{"old version", "GET", slices.Concat(upgrade[:2], []string{"Sec-WebSocket-Version: 8", upgrade[3]}), 400, "version"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, base, nil)
			for _, h := range c.headers {
				k, v, _ := strings.Cut(h, ": ")
				req.Header.Set(k, v)
			}
			resp, body := testutil.Fetch(t, http.DefaultClient, req)
			if resp.StatusCode != c.status || !strings.Contains(body, c.body) {
				t.Errorf("%d %q, want %d containing %q", resp.StatusCode, body, c.status, c.body)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, _, err := ws.Dial(ctx, url, &ws.DialOptions{HTTPHeader: http.Header{"Origin": {"https://a.example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer first.CloseNow()
	_, resp, err := ws.Dial(ctx, url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second socket over MaxSockets = 1: %v %v", resp, err)
	}
}

// An output larger than MaxMessage fails its exchange: 1011.
func TestOutputTooLarge(t *testing.T) {
	twice := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		b, _ := io.ReadAll(x.Reader)
		x.Writer.Write(b) // a guest may ignore the write's error: the exchange fails anyway
		x.Writer.Write(b)
		return nil
	})
	_, url := serveWSWith(t, twice, websocket.Options{MaxMessage: 8})
	ctx, c := dial(t, url)
	c.Write(ctx, ws.MessageText, []byte("1234")) // 8 bytes out: fits
	if _, m, err := c.Read(ctx); err != nil || string(m) != "12341234" {
		t.Fatalf("answer %q %v", m, err)
	}
	c.Write(ctx, ws.MessageText, []byte("12345")) // 10 bytes out
	if _, _, err := c.Read(ctx); ws.CloseStatus(err) != ws.StatusInternalError {
		t.Errorf("after a too large output: %v, want close 1011", err)
	}
}

// dial opens a socket that closes when the test ends, and returns it with
// a context that bounds the test's reads and writes.
func dial(t *testing.T, url string) (context.Context, *ws.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	c, _, err := ws.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return ctx, c
}
