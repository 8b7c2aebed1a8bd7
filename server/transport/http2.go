package transport

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http2"

	"github.com/bubblewasm/bubblewasm/server"
)

// HTTP/2 is served by golang.org/x/net/http2, the implementation net/http
// bundles: framing, HPACK, flow control and stream limits are its own; each
// stream is one exchange through the same handler as an HTTP/1 request,
// with the same env (http2_exchange.go). A connection speaks HTTP/2 when
//
//   - TLS negotiated "h2" by ALPN (the app offers it unless http2 = false);
//   - on a cleartext listener with h2c = true, it opens with the HTTP/2
//     preface (prior knowledge, RFC 9113 §3.3), or its first request asks
//     for Upgrade: h2c (RFC 7540 §3.2) and has no body.
//
// Without h2c, a cleartext preface is answered 505 like any other version
// the transport does not serve.

// h2Preface is what follows the "PRI * HTTP/2.0" request head of the
// HTTP/2 connection preface.
const h2Preface = "SM\r\n\r\n"

// h2Server is the transport's HTTP/2 side: one x/net/http2 server for all
// its connections, and the net/http server whose Shutdown tells them all
// to finish (GOAWAY).
type h2Server struct {
	srv  *http2.Server
	base *http.Server
}

func newH2Server(opts Options) *h2Server {
	h := &h2Server{
		srv: &http2.Server{MaxConcurrentStreams: uint32(opts.MaxConcurrentStreams)},
		// Only the settings x/net/http2 takes from it: never served.
		base: &http.Server{IdleTimeout: opts.IdleTimeout, MaxHeaderBytes: opts.MaxHeaderBytes,
			ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)},
	}
	// ConfigureServer makes base.Shutdown reach the HTTP/2 connections; it
	// fails only on TLS settings, which base has none of.
	if err := http2.ConfigureServer(h.base, h.srv); err != nil {
		opts.Logger.Error("http2: configuring the server", "err", err)
	}
	return h
}

// shutdown sends GOAWAY on every HTTP/2 connection: each ends once its
// running streams are done.
func (h *h2Server) shutdown(ctx context.Context) {
	h.base.Shutdown(ctx) // it has no listener or connection of its own: it returns at once
}

// serveTLS serves c as HTTP/2 when its TLS handshake chose "h2"; it
// reports whether it did.
func (t *httpTransport) serveTLS(c *httpConn) bool {
	if t.h2 == nil || t.opts.DisableHTTP2 {
		return false
	}
	st, ok := server.TLSState(c.conn)
	if !ok || st.NegotiatedProtocol != http2.NextProtoTLS {
		return false
	}
	// x/net/http2 checks the TLS version and cipher suite (RFC 9113 §9.2)
	// of a connection that reports its state.
	t.serveH2(c, &tlsStateConn{Conn: c.conn, state: st}, nil)
	return true
}

// tlsStateConn reports the TLS state of the connection it wraps.
type tlsStateConn struct {
	net.Conn
	state tls.ConnectionState
}

func (c *tlsStateConn) ConnectionState() tls.ConnectionState { return c.state }

// serveH2C serves c as HTTP/2 when the request just read is the HTTP/2
// preface or an h2c upgrade, on a listener with h2c on; it reports whether
// it did (or refused the request): then the connection is done.
func (t *httpTransport) serveH2C(c *httpConn) bool {
	r := &c.req
	if !t.opts.H2C || c.https || c.served != 1 {
		return false
	}
	if r.method == "PRI" && r.target == "*" && r.proto == "HTTP/2.0" {
		for c.w-c.r < len(h2Preface) {
			if err := c.fill(); err != nil {
				return true
			}
		}
		if string(c.rbuf[c.r:c.r+len(h2Preface)]) != h2Preface {
			c.refuse(http.StatusBadRequest, "malformed HTTP/2 connection preface")
			return true
		}
		c.r += len(h2Preface)
		t.serveH2(c, c.bufferedConn(), &http2.ServeConnOpts{SawClientPreface: true})
		return true
	}
	settings, ok := h2cUpgrade(r)
	if !ok {
		return false
	}
	req, err := upgradeRequest(c.ctx, r)
	if err != nil || settings == nil {
		c.refuse(http.StatusBadRequest, "malformed h2c upgrade request")
		return true
	}
	if c.write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")) != nil {
		return true
	}
	t.serveH2(c, c.bufferedConn(), &http2.ServeConnOpts{UpgradeRequest: req, Settings: settings})
	return true
}

// h2cUpgrade reports whether r asks to upgrade to h2c, with the settings
// of its HTTP2-Settings field (nil when malformed). A request with a body
// is served as HTTP/1.1 instead: the upgrade is the server's to decline.
func h2cUpgrade(r *request) (settings []byte, ok bool) {
	var upgrade, conn []string
	var encoded []string
	for _, f := range r.fields {
		switch {
		case strings.EqualFold(f.name, "Upgrade"):
			upgrade = append(upgrade, f.value)
		case strings.EqualFold(f.name, "Connection"):
			conn = append(conn, f.value)
		case strings.EqualFold(f.name, "HTTP2-Settings"):
			encoded = append(encoded, f.value)
		}
	}
	if !hasToken(upgrade, "h2c") || !hasToken(conn, "upgrade") || r.http10() || r.chunked || r.length > 0 {
		return nil, false
	}
	if len(encoded) != 1 || !hasToken(conn, "http2-settings") {
		return nil, true
	}
	s, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(encoded[0], "="))
	if err != nil || len(s)%6 != 0 {
		return nil, true
	}
	return s, true
}

// upgradeRequest is the HTTP/1.1 request of an h2c upgrade as the first
// stream of the HTTP/2 connection (without body).
func upgradeRequest(ctx context.Context, r *request) (*http.Request, error) {
	u, err := url.ParseRequestURI(r.target)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, len(r.fields))
	for _, f := range r.fields {
		switch http.CanonicalHeaderKey(f.name) {
		case "Connection", "Upgrade", "Http2-Settings", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Te", "Host":
			continue // connection-specific: not HTTP/2 fields (RFC 9113 §8.2.2)
		}
		h.Add(f.name, f.value)
	}
	req := (&http.Request{Method: r.method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2, Header: h, Body: http.NoBody,
		Host: r.host, RequestURI: r.target}).WithContext(ctx)
	return req, nil
}

// bufferedConn is c's connection with what c has read and not consumed
// put back in front: the HTTP/2 server reads it first.
func (c *httpConn) bufferedConn() net.Conn {
	rest := append([]byte(nil), c.rbuf[c.r:c.w]...)
	c.r = c.w
	return &prefixConn{Conn: c.conn, prefix: rest}
}

// prefixConn reads prefix before its connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// serveH2 serves nc as an HTTP/2 connection until it ends.
func (t *httpTransport) serveH2(c *httpConn, nc net.Conn, opts *http2.ServeConnOpts) {
	if t.draining.Load() {
		return
	}
	// The HTTP/1 head's deadlines are over: HTTP/2 keeps its own (idle,
	// preface and settings timeouts), and each handler's.
	c.conn.SetReadDeadline(time.Time{})
	c.conn.SetWriteDeadline(time.Time{})
	if opts == nil {
		opts = &http2.ServeConnOpts{}
	}
	opts.Context, opts.BaseConfig = c.ctx, t.h2.base
	opts.Handler = &h2Conn{t: t, base: c.base, https: c.https}
	t.h2.srv.ServeConn(nc, opts) //nolint:staticcheck // deprecated for Go 1.27's net/http; the supported way here
}
