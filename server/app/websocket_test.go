package app_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	ws "github.com/coder/websocket"

	"github.com/bubblewasm/bubblewasm/server/config"
)

// The messages of /ws go back through the router: the "msg" route, which
// matches them by bubble.transport, comes before the upgrade route.
const wsRoutes = `
[[route]]
name = "msg"
match = { PATH_INFO = "/ws", "bubble.transport" = "websocket" }
module = "wsecho.wasm"
timeout = "30s"

[[route]]
name = "ps"
module = "pubsub.wasm"
match = { PATH_INFO = "/ps" }
pubsub = ["news", "chat.*"]

[[route]]
name = "ws"
match = { PATH_INFO = "/ws" }
transport = "websocket"
pubsub = ["news", "chat.*"]
websocket_open = true
websocket_max_message = "1KiB"
websocket_max_sockets = 3
websocket_origins = ["*.example.com"]
timeout = "30s"
`

func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/ws" }

// dialWS opens a socket and reads the open exchange's "welcome".
func dialWS(t testing.TB, ctx context.Context, base string, h http.Header) *ws.Conn {
	t.Helper()
	c, _, err := ws.Dial(ctx, wsURL(base), &ws.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if typ, msg, err := c.Read(ctx); err != nil || typ != ws.MessageText || string(msg) != "welcome" {
		t.Fatalf("first message %v %q %v, want text \"welcome\"", typ, msg, err)
	}
	return c
}

func roundTrip(t testing.TB, ctx context.Context, c *ws.Conn, typ ws.MessageType, msg string) (ws.MessageType, string) {
	t.Helper()
	if err := c.Write(ctx, typ, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	rt, got, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", msg, err)
	}
	return rt, string(got)
}

// Echo of text and binary messages, the env of a message exchange, a
// follow made by the open exchange and one made by a message, the upgrade
// refusals (426, 403, 503) and a trap closing its socket with 1011.
func TestWebSocket(t *testing.T) {
	base, _ := start(t, config.EngineWazero, wsRoutes, "wsecho", "pubsub")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := dialWS(t, ctx, base, http.Header{"Cookie": {"session=abc"}})

	checkMessages(t, ctx, c, "msg")
	if _, got := roundTrip(t, ctx, c, ws.MessageText, "env:websocket.message_index"); got != "9" {
		t.Errorf("websocket.message_index %q, want 9", got)
	}

	// The open exchange followed "news"; a message follows "chat.room1";
	// "secret" is outside the grant: ignored.
	if _, got := roundTrip(t, ctx, c, ws.MessageText, "follow chat.room1, secret"); got != "following" {
		t.Fatalf("follow answered %q", got)
	}
	for _, ch := range []string{"news", "secret", "chat.room1"} {
		if code, body := do(t, "POST", base+"/ps", "on "+ch, "X-Op: publish", "X-Channel: "+ch); code != 200 {
			t.Fatalf("publish to %s: %d %s", ch, code, body)
		}
	}
	for _, want := range []string{"on news", "on chat.room1"} {
		if _, got, err := c.Read(ctx); err != nil || string(got) != want {
			t.Fatalf("pushed %q %v, want %q", got, err, want)
		}
	}

	// Refusals before the upgrade.
	if code, body := do(t, "GET", base+"/ws", ""); code != http.StatusUpgradeRequired || !strings.Contains(body, "Upgrade: websocket") {
		t.Errorf("plain GET: %d %q", code, body)
	}
	if code, _ := do(t, "POST", base+"/ws", "x"); code != http.StatusUpgradeRequired {
		t.Errorf("POST: %d", code)
	}
	_, resp, err := ws.Dial(ctx, wsURL(base), &ws.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.test"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: %v %v", resp, err)
	}
	dialWS(t, ctx, base, http.Header{"Origin": {"https://app.example.com"}})
	dialWS(t, ctx, base, nil) // the third of websocket_max_sockets = 3
	_, resp, err = ws.Dial(ctx, wsURL(base), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("fourth socket: %v %v", resp, err)
	}

	checkTrapCloses(t, ctx, c)
}

// checkMessages sends 8 messages on c, a socket opened with the cookie
// session=abc: a text and a binary message come back as sent, and the env
// of a message exchange served by route has the upgrade's and the
// websocket keys.
func checkMessages(t *testing.T, ctx context.Context, c *ws.Conn, route string) {
	t.Helper()
	if typ, got := roundTrip(t, ctx, c, ws.MessageText, "hello"); typ != ws.MessageText || got != "hello" {
		t.Errorf("text echo: %v %q", typ, got)
	}
	if typ, got := roundTrip(t, ctx, c, ws.MessageBinary, "\x00\xff"); typ != ws.MessageBinary || got != "\x00\xff" {
		t.Errorf("binary echo: %v %q", typ, got)
	}
	for key, want := range map[string]string{
		"bubble.transport": "websocket", "websocket.message_type": "text", "websocket.event": "message",
		"HTTP_COOKIE": "session=abc", "REQUEST_METHOD": "GET", "bubble.route": route,
	} {
		if _, got := roundTrip(t, ctx, c, ws.MessageText, "env:"+key); got != want {
			t.Errorf("env %s = %q, want %q", key, got, want)
		}
	}
}

// checkTrapCloses sends "trap": the trap fails its message, and the socket
// closes with 1011 and a reason naming the status.
func checkTrapCloses(t *testing.T, ctx context.Context, c *ws.Conn) {
	t.Helper()
	if err := c.Write(ctx, ws.MessageText, []byte("trap")); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Read(ctx)
	if code := ws.CloseStatus(err); code != ws.StatusInternalError {
		t.Errorf("after a trap: %v (status %d), want 1011", err, code)
	}
	var ce ws.CloseError
	if errors.As(err, &ce) && !strings.Contains(ce.Reason, "500") {
		t.Errorf("close reason %q", ce.Reason)
	}
}
