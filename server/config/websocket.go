package config

import (
	"net/url"
	"path"
	"strings"
	"time"
)

// The websocket transport of a route (transport = "websocket"): an HTTP
// route whose GET requests upgrade to WebSocket, each message then one
// exchange through the router. Its keys all start with websocket_ and are
// only valid with that transport.

// TransportWebSocket names the route transport that upgrades HTTP requests
// to WebSocket. Only routes take it: a listener's connections are not
// WebSocket until an HTTP request upgrades them.
const TransportWebSocket = "websocket"

// Defaults and bounds of the websocket keys.
const (
	// DefaultWebSocketMaxMessage is the largest message a socket takes
	// (reassembled from its fragments) or sends; a larger one closes the
	// socket with 1009.
	DefaultWebSocketMaxMessage = 64 << 10
	// MaxWebSocketMaxMessage is the largest websocket_max_message accepted.
	MaxWebSocketMaxMessage = 64 << 20
	// DefaultWebSocketPingInterval is how often the host pings a socket.
	DefaultWebSocketPingInterval = 30 * time.Second
	// DefaultWebSocketIdleTimeout closes a socket from which nothing (a
	// message, a ping, a pong) arrived for this long.
	DefaultWebSocketIdleTimeout = 75 * time.Second
	// MinWebSocketPingInterval is the shortest websocket_ping_interval.
	MinWebSocketPingInterval = 100 * time.Millisecond
	// DefaultWebSocketMaxSockets caps a route's open sockets; an upgrade
	// beyond it is answered 503.
	DefaultWebSocketMaxSockets = 10_000
	// MaxWebSocketMaxSockets is the largest websocket_max_sockets.
	MaxWebSocketMaxSockets = 1 << 20
	// MaxWebSocketOrigins caps the entries of websocket_origins.
	MaxWebSocketOrigins = 256
)

// WebSocketRoute is the websocket transport's settings of a route; zero on
// other routes.
type WebSocketRoute struct {
	// MaxMessage caps a message in bytes, either way.
	MaxMessage int64
	// Origins are the host patterns (path.Match syntax, "host" or
	// "host:port", such as "*.example.com") an upgrade's Origin may name;
	// "*" allows any. nil allows the request's own Host only. A request
	// without Origin (not a browser) is always allowed.
	Origins []string
	// PingInterval is how often the host pings each socket.
	PingInterval time.Duration
	// IdleTimeout closes a socket silent this long.
	IdleTimeout time.Duration
	// MaxSockets caps the route's open sockets.
	MaxSockets int
	// Open runs an exchange with websocket.event=open when a socket opens.
	Open bool
}

var webSocketKeys = []string{"websocket_max_message", "websocket_origins", "websocket_ping_interval",
	"websocket_idle_timeout", "websocket_max_sockets", "websocket_open"}

// routeWebSocket reads a route's websocket_* keys, valid with transport =
// "websocket" only, and fills in their defaults there.
func (c *checker) routeWebSocket(t table, r *Route) {
	ws := r.Transport == TransportWebSocket
	_, hasTransport := c.get(t, "transport")
	transportOK := !hasTransport || r.Transport != "" // an unknown transport is reported already
	if ws {
		r.WebSocket = WebSocketRoute{MaxMessage: DefaultWebSocketMaxMessage, PingInterval: DefaultWebSocketPingInterval,
			IdleTimeout: DefaultWebSocketIdleTimeout, MaxSockets: DefaultWebSocketMaxSockets}
	}
	var w WebSocketRoute
	present := map[string]field{}
	for _, key := range webSocketKeys {
		f, ok := c.get(t, key)
		if !ok {
			continue
		}
		present[key] = f
		if !ws && transportOK {
			c.errorf(f.path, f.line, "only valid with transport = %q", TransportWebSocket)
		}
		switch key {
		case "websocket_max_message":
			if n, ok := c.size(f, 1, MaxWebSocketMaxMessage); ok {
				w.MaxMessage = n
			}
		case "websocket_origins":
			w.Origins = c.origins(f)
		case "websocket_ping_interval":
			if d, ok := c.duration(f, 1); ok {
				if d < MinWebSocketPingInterval {
					c.errorf(f.path, f.line, "must be at least %s, got %q", MinWebSocketPingInterval, f.v)
				} else {
					w.PingInterval = d
				}
			}
		case "websocket_idle_timeout":
			if d, ok := c.duration(f, 1); ok {
				w.IdleTimeout = d
			}
		case "websocket_max_sockets":
			if n, ok := c.bounded(f, 1, MaxWebSocketMaxSockets); ok {
				w.MaxSockets = n
			}
		case "websocket_open":
			if b, ok := f.v.(bool); ok {
				w.Open = b
			} else {
				c.errorf(f.path, f.line, "must be true or false, not %s", typeName(f.v))
			}
		}
	}
	if !ws {
		return
	}
	d := &r.WebSocket
	if w.MaxMessage > 0 {
		d.MaxMessage = w.MaxMessage
	}
	if w.PingInterval > 0 {
		d.PingInterval = w.PingInterval
	}
	if w.IdleTimeout > 0 {
		d.IdleTimeout = w.IdleTimeout
	}
	if w.MaxSockets > 0 {
		d.MaxSockets = w.MaxSockets
	}
	d.Origins, d.Open = w.Origins, w.Open
	if d.IdleTimeout <= d.PingInterval {
		f, ok := present["websocket_idle_timeout"]
		if !ok {
			f, ok = present["websocket_ping_interval"]
		}
		if ok {
			c.errorf(f.path, f.line, "websocket_idle_timeout (%s) must be longer than websocket_ping_interval (%s): a live client answers each ping", d.IdleTimeout, d.PingInterval)
		}
	}
}

// origins reads websocket_origins: "*", or host patterns such as
// "example.com", "*.example.com" or "localhost:8080".
func (c *checker) origins(f field) []string {
	list, ok := f.v.([]any)
	if !ok {
		c.errorf(f.path, f.line, "must be an array of host patterns such as [\"example.com\", \"*.example.com\"] or [\"*\"], not %s", typeName(f.v))
		return nil
	}
	if len(list) > MaxWebSocketOrigins {
		c.errorf(f.path, f.line, "must have at most %d entries, got %d", MaxWebSocketOrigins, len(list))
		return nil
	}
	out := make([]string, 0, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			c.errorf(f.path, f.line, "entry %d must be a string, not %s", i+1, typeName(v))
			continue
		}
		if err := checkOriginPattern(s); err != "" {
			c.errorf(f.path, f.line, "entry %d %q: %s", i+1, s, err)
			continue
		}
		out = append(out, strings.ToLower(s))
	}
	return out
}

// checkOriginPattern returns what is wrong with an origin host pattern, or "".
func checkOriginPattern(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case s == "*":
		return ""
	case strings.Contains(s, "://") || strings.ContainsAny(s, "/ \t\r\n\x00@?#"):
		return "want a host pattern such as \"example.com\" or \"*.example.com:8443\", not a URL"
	}
	if _, err := path.Match(s, ""); err != nil {
		return err.Error()
	}
	if u, err := url.Parse("http://" + strings.ReplaceAll(s, "*", "x")); err != nil || u.Host == "" {
		return "not a host pattern"
	}
	return ""
}
