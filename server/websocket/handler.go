package websocket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/events"
)

// Options configure a Handler. Zero values take the defaults named on each.
type Options struct {
	// Route names the route in log records and errors.
	Route string
	// Logger receives the handler's records; nil discards them.
	Logger *slog.Logger
	// MaxMessage caps a message in bytes, received (reassembled from its
	// fragments; beyond it the socket closes with 1009) or sent (a larger
	// output fails its exchange). Default 64 KiB.
	MaxMessage int64
	// Origins are the host patterns (path.Match) a browser's Origin may
	// name; "*" allows any origin. nil allows only the request's own Host.
	// A request without Origin is not a browser's and is allowed.
	Origins []string
	// PingInterval is how often each socket is pinged (default 30s).
	PingInterval time.Duration
	// IdleTimeout closes a socket from which nothing (a message, a ping, a
	// pong) arrived for this long, with 1001 (default 75s).
	IdleTimeout time.Duration
	// MaxSockets caps the open sockets; an upgrade beyond is answered 503
	// (default 10,000).
	MaxSockets int
	// Open runs an exchange with websocket.event=open and no input when a
	// socket opens, so that its handler can greet it or make it follow
	// channels.
	Open bool
	// Timeout bounds each exchange (0: none of its own; the handler above
	// has its route's).
	Timeout time.Duration
	// Broker serves follows; nil refuses every follow.
	Broker events.Broker
	// Channels are the grant patterns (events.ChannelAllowed) of the
	// channels a socket may follow.
	Channels []string
	// Subscribe configures the subscriptions made for follows: the
	// broker's queue size and overflow policy bound a slow socket.
	Subscribe events.SubscribeOptions
	// Drain, when done, closes every socket with 1001 (going away) and
	// refuses new upgrades with 503.
	Drain context.Context
}

// Defaults of Options.
const (
	DefaultMaxMessage   = 64 << 10
	DefaultPingInterval = 30 * time.Second
	DefaultIdleTimeout  = 75 * time.Second
	DefaultMaxSockets   = 10_000
	// MaxFollows caps the channels one socket follows at once.
	MaxFollows = 16
)

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxSockets <= 0 {
		o.MaxSockets = DefaultMaxSockets
	}
	return o
}

// Handler upgrades the exchanges of an HTTP route to WebSocket and serves
// each socket's messages as exchanges of next.
type Handler struct {
	next server.Handler
	opts Options

	open     atomic.Int64 // sockets counted against MaxSockets
	mu       sync.Mutex
	live     map[*socket]struct{}
	draining bool
	stop     func() bool // unregisters the drain callback
}

// New returns a handler that serves WebSocket exchanges into next.
func New(next server.Handler, opts Options) *Handler {
	h := &Handler{next: next, opts: opts.withDefaults(), live: map[*socket]struct{}{}}
	if h.opts.Drain != nil {
		h.stop = context.AfterFunc(h.opts.Drain, h.goingAway)
	}
	return h
}

// Sockets returns how many sockets are open.
func (h *Handler) Sockets() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.live)
}

// Close stops following the drain; open sockets are left to it.
func (h *Handler) Close() {
	if h.stop != nil {
		h.stop()
	}
}

// goingAway closes every socket with 1001 and refuses new ones.
func (h *Handler) goingAway() {
	h.mu.Lock()
	h.draining = true
	socks := make([]*socket, 0, len(h.live))
	for s := range h.live {
		socks = append(socks, s)
	}
	h.mu.Unlock()
	for _, s := range socks {
		go s.close(ws.StatusGoingAway, "server shutting down")
	}
}

// Serve upgrades x and serves the socket until it closes. An exchange that
// is not a WebSocket upgrade is answered 426 (or 403, 503, 400) and
// nothing else happens.
func (h *Handler) Serve(ctx context.Context, x *server.Exchange) error {
	if x.Env[abi.EnvTransport] == transportName {
		return fmt.Errorf("%w: a message of route %s came back to it: put a route matching %s = %q before it",
			server.ErrNoRoute, h.opts.Route, abi.EnvTransport, transportName)
	}
	if msg := notUpgrade(x.Env); msg != "" {
		x.Writer.Header().Set("Sec-WebSocket-Version", "13")
		return refuse(x, http.StatusUpgradeRequired, msg)
	}
	if !originAllowed(h.opts.Origins, x.Env["HTTP_ORIGIN"], x.Env["HTTP_HOST"]) {
		return refuse(x, http.StatusForbidden, fmt.Sprintf("origin %q may not open a WebSocket on this route", x.Env["HTTP_ORIGIN"]))
	}
	if !server.CanHijack(x.Writer) {
		return refuse(x, http.StatusUpgradeRequired, "WebSocket needs an HTTP/1.1 connection")
	}
	if n := h.open.Add(1); n > int64(h.opts.MaxSockets) {
		h.open.Add(-1)
		x.Writer.Header().Set("Retry-After", "5")
		return refuse(x, http.StatusServiceUnavailable, fmt.Sprintf("this route has its %d WebSocket connections open", h.opts.MaxSockets))
	}
	defer h.open.Add(-1)
	s := &socket{h: h, env: x.Env}
	w := &upgradeWriter{x: x, header: http.Header{}}
	conn, err := ws.Accept(w, upgradeRequest(x.Env), &ws.AcceptOptions{
		InsecureSkipVerify: true, // the origin is checked above, by our rules
		CompressionMode:    ws.CompressionDisabled,
		OnPingReceived:     func(context.Context, []byte) bool { s.touch(); return true },
		OnPongReceived:     func(context.Context, []byte) { s.touch() },
	})
	if err != nil {
		if w.hijacked {
			return nil // the connection is gone: nothing can be answered
		}
		if !w.answered {
			return refuse(x, http.StatusBadRequest, err.Error())
		}
		return nil
	}
	s.conn = conn
	conn.SetReadLimit(h.opts.MaxMessage)
	if !h.track(s) {
		conn.Close(ws.StatusGoingAway, "server shutting down")
		return nil
	}
	defer h.untrack(s)
	s.run(ctx)
	return nil
}

func (h *Handler) track(s *socket) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return false
	}
	h.live[s] = struct{}{}
	return true
}

func (h *Handler) untrack(s *socket) {
	h.mu.Lock()
	delete(h.live, s)
	h.mu.Unlock()
}

// transportName is bubble.transport on a socket's exchanges.
const transportName = "websocket"

// notUpgrade says why the request cannot be upgraded, or "".
func notUpgrade(env server.Env) string {
	switch {
	case env[abi.EnvRequestMethod] != http.MethodGet:
		return fmt.Sprintf("this route serves WebSocket: send GET with Upgrade: websocket, not %s", env[abi.EnvRequestMethod])
	case !hasToken(env["HTTP_UPGRADE"], "websocket"):
		return "this route serves WebSocket: the request needs Upgrade: websocket"
	case !hasToken(env["HTTP_CONNECTION"], "upgrade"):
		return "this route serves WebSocket: the request needs Connection: Upgrade"
	case env[abi.EnvServerProtocol] != "HTTP/1.1":
		return "WebSocket needs HTTP/1.1"
	}
	return ""
}

// hasToken reports whether the comma-separated list v holds token, in any case.
func hasToken(v, token string) bool {
	for t := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// refuse answers the upgrade request with status and a one-line body.
func refuse(x *server.Exchange, status int, msg string) error {
	x.Writer.Header().Set("Content-Type", "text/plain; charset=utf-8")
	x.Writer.SetStatus(status)
	_, err := x.Writer.Write([]byte(msg + "\n"))
	return err
}

// errClosed ends an exchange whose socket closed meanwhile.
var errClosed = errors.New("websocket closed")
