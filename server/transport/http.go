package transport

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// httpTransport serves HTTP/1.1 (and 1.0) on each connection exchange: it
// parses requests off the connection itself, one after the other, and
// passes each to next as an exchange.
type httpTransport struct {
	next         server.Handler
	opts         Options
	methods      map[string]bool // Options.Methods
	headTooLarge *httpError
	h2           *h2Server // nil when HTTP/2 is off (http2.go)

	conns      sync.Pool // idle *httpConn, with their buffers and maps
	outBuffers sync.Pool // *[]byte of outBufferSize, for responses being sent
	date       atomic.Pointer[httpDate]

	mu       sync.Mutex
	live     map[*httpConn]struct{}
	draining atomic.Bool
	stopping chan struct{} // closed by the first Shutdown: ends lingering waits
}

// NewHTTP returns the HTTP transport. Each request is one exchange: env gets
// the CGI keys and HTTP_* headers, read streams the body, write streams the
// response. Status and headers are committed by the first write; a handler
// that writes nothing still yields a valid (empty, 200 unless set) response.
func NewHTTP(next server.Handler, opts Options) server.Handler {
	t := &httpTransport{next: next, opts: opts.withDefaults(), methods: map[string]bool{}, live: map[*httpConn]struct{}{}, stopping: make(chan struct{})}
	for _, m := range t.opts.Methods {
		t.methods[m] = true
	}
	t.headTooLarge = &httpError{http.StatusRequestHeaderFieldsTooLarge,
		fmt.Sprintf("the request line and headers exceed %d bytes", t.opts.MaxHeaderBytes)}
	t.outBuffers.New = func() any { b := make([]byte, 0, outBufferSize); return &b }
	if !t.opts.DisableHTTP2 || t.opts.H2C {
		t.h2 = newH2Server(t.opts)
	}
	return t
}

// Serve serves the requests of one connection until it closes.
func (t *httpTransport) Serve(ctx context.Context, x *server.Exchange) error {
	nc, ok := x.Reader.(net.Conn)
	if !ok {
		return fmt.Errorf("http transport needs a network connection, got %T", x.Reader)
	}
	c := t.newConn(ctx, nc, x.Env)
	if !t.track(c) {
		t.free(c)
		return nil
	}
	clean := false
	defer func() {
		t.untrack(c)
		if !clean {
			// A handler panicked: the server logs it and closes the
			// connection; the connection's state is not reused.
			c.watchStop()
			c.cancel()
			return
		}
		t.free(c)
	}()
	if !t.serveTLS(c) {
		c.serve()
	}
	clean = true
	return nil
}

// Shutdown makes every connection stop after the request it is serving;
// connections waiting for a request are closed at once.
func (t *httpTransport) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.draining.Swap(true) {
		close(t.stopping)
		if t.h2 != nil {
			t.h2.shutdown(ctx)
		}
	}
	for c := range t.live {
		if c.state.CompareAndSwap(connIdle, connClosing) {
			c.conn.SetReadDeadline(aLongTimeAgo)
		}
	}
	return nil
}

func (t *httpTransport) track(c *httpConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining.Load() {
		return false
	}
	t.live[c] = struct{}{}
	return true
}

func (t *httpTransport) untrack(c *httpConn) {
	t.mu.Lock()
	delete(t.live, c)
	t.mu.Unlock()
}

// setIdle marks c as waiting for the client, so that Shutdown may close
// it; it reports false when Shutdown has begun.
func (t *httpTransport) setIdle(c *httpConn) bool {
	c.state.Store(connIdle)
	return !t.draining.Load()
}

// setActive marks c as busy; it reports false when Shutdown closed it.
func (t *httpTransport) setActive(c *httpConn) bool {
	return c.state.CompareAndSwap(connIdle, connActive)
}

func (t *httpTransport) newConn(ctx context.Context, nc net.Conn, env server.Env) *httpConn {
	c, _ := t.conns.Get().(*httpConn)
	if c == nil {
		c = &httpConn{t: t, small: make([]byte, readBufferSize), env: make(server.Env, 32), keys: map[string]fieldInfo{}, dups: map[string][]string{}}
		c.watch.done = make(chan struct{}, 1)
	}
	c.conn = nc
	c.ctx, c.cancel = context.WithCancel(ctx)
	for k, v := range env {
		c.base = append(c.base, envPair{k, v})
	}
	_, c.https = env[abi.EnvTLSVersion] // server.TLSEnv set it: the connection is TLS
	c.rbuf, c.r, c.w = c.small, 0, 0
	c.state.Store(connActive)
	return c
}

// free puts a connection that ended cleanly back in the pool, without
// what would keep its last request's data alive.
func (t *httpTransport) free(c *httpConn) {
	c.shrink()
	c.cancel()
	c.conn, c.ctx, c.cancel = nil, nil, nil
	c.rerr, c.werr = nil, nil
	c.rdApplied, c.rdWant, c.wdApplied, c.wdWant = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	c.served, c.last, c.hijacked, c.now = 0, false, false, time.Time{}
	clear(c.base)
	c.base = c.base[:0]
	fields := c.req.fields[:cap(c.req.fields)]
	clear(fields)
	c.req = request{fields: fields[:0]}
	c.x = server.Exchange{}
	c.body, c.raw, c.limit = requestBody{}, rawBody{}, limitReader{}
	clear(c.env)
	if len(c.keys) > maxCachedKeys {
		c.keys = map[string]fieldInfo{}
	}
	c.resp.release()
	clear(c.resp.header)
	c.rbuf, c.r, c.w = c.small, 0, 0
	t.conns.Put(c)
}

// serve reads and serves requests until one ends the connection.
func (c *httpConn) serve() {
	for {
		if err := c.readHead(); err != nil {
			if he, ok := err.(*httpError); ok {
				c.refuse(he.status, he.msg)
			}
			return
		}
		c.served++
		if c.t.serveH2C(c) {
			return
		}
		if !c.serveRequest() {
			if c.last {
				c.linger()
			}
			return
		}
		c.shrink()
	}
}

// refuse answers a request the transport will not pass on, and ends the
// connection: what follows the request cannot be trusted to be one.
func (c *httpConn) refuse(status int, msg string) bool {
	c.last = true
	c.writeError(status, msg, true)
	return false
}

// serveRequest serves the request in c.req. It reports whether the
// connection may carry another one.
func (c *httpConn) serveRequest() bool {
	t, r := c.t, &c.req
	if status, msg := t.checkMethod(r); status != 0 {
		return c.refuse(status, msg)
	}
	if r.expectNo {
		return c.refuse(http.StatusExpectationFailed, "only Expect: 100-continue is supported")
	}
	path, err := cleanPath(r.path)
	if err != nil {
		return c.refuse(http.StatusBadRequest, "bad request path")
	}
	max := t.opts.MaxBodyBytes
	if max > 0 && r.length > max {
		return c.refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds the limit of %d", r.length, max))
	}
	c.rdWant, c.wdWant, c.last = time.Time{}, time.Time{}, false
	c.raw.reset(c, r)
	c.body = requestBody{c: c, r: &c.raw, expect: r.expect, done: c.raw.done}
	if max > 0 && !c.raw.done {
		c.limit = limitReader{r: &c.raw, left: max, max: max}
		c.body.r = &c.limit
	}
	c.resp.reset(c)
	if r.method == http.MethodOptions && r.target == "*" {
		// The server's own options: answered here, 200 with no body.
		c.finishBody()
		c.resp.finish()
		return c.werr == nil && !c.resp.closeAfter()
	}
	c.x = server.Exchange{Env: c.buildEnv(path), Reader: &c.body, Writer: &c.resp}
	c.watchStart(c.raw.done)
	err = t.next.Serve(c.ctx, &c.x)
	c.watchStop()
	if c.hijacked {
		return false // the handler owned the connection: nothing more goes over it
	}
	c.finishBody()
	if err == nil {
		if err = c.resp.finish(); err == nil {
			return c.werr == nil && !c.resp.closeAfter()
		}
		err = fmt.Errorf("%w: %w", server.ErrHandlerFailed, err)
	}
	status, msg := t.failed(c.ctx, c.x.Env, r.method, r.target, path, err)
	if !c.resp.discard() || c.werr != nil {
		// The response has begun: cut the connection so the client sees an
		// incomplete response instead of a truncated one that looks whole.
		return false
	}
	closing := hasToken(c.resp.header["Connection"], "close") || c.resp.closeAfter()
	c.writeErrorID(status, msg, closing, c.x.Env[abi.EnvRequestID], retryAfter(status, err))
	return c.werr == nil && !closing
}

// failed logs an exchange that failed with err, and returns the status
// and the text of the error response that replaces its response when none
// of it was sent.
func (t *httpTransport) failed(ctx context.Context, env server.Env, method, target, path string, err error) (int, string) {
	status := server.StatusOf(err)
	t.opts.Logger.Log(withRequestID(ctx, env), server.FailureLevel(ctx, err), "http exchange failed", "method", method, "uri", target,
		"route", env[abi.EnvRoute], "status", status, "err", err)
	msg := http.StatusText(status)
	if status == http.StatusNotFound {
		msg = fmt.Sprintf("no route for %s %s", method, path)
	}
	return status, msg
}

// checkMethod refuses requests that HTTP/1.1 routes cannot serve unless a
// route names their method exactly (Options.Methods): CONNECT, which would
// turn the connection into a tunnel, and the HTTP/2 connection preface
// (PRI * HTTP/2.0). Any other protocol major version than 1 is refused.
func (t *httpTransport) checkMethod(r *request) (int, string) {
	switch {
	case r.method == "PRI" && !t.methods["PRI"]:
		return http.StatusHTTPVersionNotSupported, "HTTP/2 is not served on this listener"
	case r.method == http.MethodConnect && !t.methods[http.MethodConnect]:
		return http.StatusNotImplemented, "CONNECT is not served on this listener"
	case r.major != 1 && r.method != "PRI":
		return http.StatusHTTPVersionNotSupported, "HTTP version not supported"
	}
	return 0, ""
}

// maxDrain is how much of a body its handler left unread the transport
// reads away to keep the connection reusable (net/http's own figure).
const maxDrain = 256 << 10

// finishBody decides whether the connection may carry another request
// after this one. A body that ended in an error (malformed chunking, a
// limit, a timeout) or that is left unread would have its remaining bytes
// parsed as the next request. A small remainder is read away within
// DrainTimeout; otherwise the request is the connection's last
// (Connection: close when the response has not started, and the
// connection closed after the response in any case).
func (c *httpConn) finishBody() {
	b := &c.body
	if c.raw.done {
		return
	}
	c.last = true
	// A client that waits for 100 Continue has not sent a body the handler
	// never asked for: reading it away would invite it; close instead.
	if b.err != nil || b.expect || c.raw.framing == bodyLength && c.raw.left > maxDrain {
		return
	}
	c.rdWant = time.Now().Add(c.t.opts.DrainTimeout)
	buf := c.t.outBuffers.Get().(*[]byte)
	p := (*buf)[:cap(*buf)]
	for n := 0; n <= maxDrain && !c.raw.done; {
		m, err := b.Read(p)
		n += m
		if err != nil {
			break
		}
	}
	c.t.outBuffers.Put(buf)
	c.rdWant = time.Time{}
	c.last = !c.raw.done || b.err != nil
}

// httpDate is the Date field of one second, and the clock reading it was
// made from: later readings cost one monotonic clock read (time.Since).
type httpDate struct {
	base  time.Time // a wall and monotonic reading within the second
	left  time.Duration
	field []byte
}

// now returns the current time (with a monotonic reading) and the Date
// field of its second, formatted once a second.
func (t *httpTransport) now() (time.Time, []byte) {
	d := t.date.Load()
	if d != nil {
		if el := time.Since(d.base); el >= 0 && el < d.left {
			return d.base.Add(el), d.field
		}
	}
	now := time.Now()
	f := now.UTC().AppendFormat([]byte("Date: "), http.TimeFormat)
	d = &httpDate{base: now, left: time.Second - time.Duration(now.Nanosecond()), field: append(f, "\r\n"...)}
	t.date.Store(d)
	return now, d.field
}

// appendDate appends the Date field, and notes the time for the
// connection's next idle deadline.
func (c *httpConn) appendDate(h []byte) []byte {
	now, field := c.t.now()
	c.now = now
	return append(h, field...)
}

var _ server.Shutdowner = (*httpTransport)(nil)
