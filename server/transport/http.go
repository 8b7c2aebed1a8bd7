package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// httpTransport serves HTTP/1.1 on each connection exchange with one shared
// net/http Server, so keep-alive, header limits and timeouts are net/http's.
type httpTransport struct {
	next server.Handler
	opts Options
	srv  *http.Server
}

// NewHTTP returns the HTTP transport. Each request is one exchange: env gets
// the CGI keys and HTTP_* headers, read streams the body, write streams the
// response. Status and headers are committed by the first write; a handler
// that writes nothing still yields a valid (empty, 200 unless set) response.
func NewHTTP(next server.Handler, opts Options) server.Handler {
	t := &httpTransport{next: next, opts: opts.withDefaults()}
	t.srv = &http.Server{
		Handler:           t,
		ReadHeaderTimeout: t.opts.ReadHeaderTimeout,
		IdleTimeout:       t.opts.IdleTimeout,
		MaxHeaderBytes:    t.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(t.opts.Logger.Handler(), slog.LevelDebug),
		// ServeHTTP must see every request it did not close the connection
		// on, or its count falls behind the framing sniffer's.
		DisableGeneralOptionsHandler: true,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			hc := c.(*httpConn)
			ctx, cancel := context.WithCancel(context.WithValue(ctx, httpConnKey{}, hc))
			hc.stop = context.AfterFunc(hc.ctx, cancel)
			return ctx
		},
	}
	return t
}

type httpConnKey struct{}

// httpConn is a connection handed to net/http with what the transport needs
// to know about it.
type httpConn struct {
	net.Conn
	ctx    context.Context // the connection exchange's context
	env    server.Env
	sniff  *framingSniffer
	served int64 // requests served so far; touched only by net/http's conn goroutine
	closed chan struct{}
	once   sync.Once
	stop   func() bool // unregisters the cancellation set up in ConnContext
}

func (c *httpConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.sniff.observe(p[:n])
	return n, err
}

func (c *httpConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// Serve runs net/http on the connection until it closes.
func (t *httpTransport) Serve(ctx context.Context, x *server.Exchange) error {
	conn, ok := x.Reader.(net.Conn)
	if !ok {
		return fmt.Errorf("http transport needs a network connection, got %T", x.Reader)
	}
	hc := &httpConn{Conn: conn, ctx: ctx, env: x.Env, sniff: newFramingSniffer(), closed: make(chan struct{})}
	l := &oneConnListener{conn: hc}
	err := t.srv.Serve(l)
	if !l.handedOver() {
		return err // shut down before net/http took the connection
	}
	<-hc.closed
	if hc.stop != nil {
		hc.stop()
	}
	if errors.Is(err, errConnDone) || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown closes idle keep-alive connections and waits for running
// requests, as net/http's Server.Shutdown does.
func (t *httpTransport) Shutdown(ctx context.Context) error { return t.srv.Shutdown(ctx) }

func (t *httpTransport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hc := r.Context().Value(httpConnKey{}).(*httpConn)
	hc.served++
	if hc.sniff.smuggled(hc.served) {
		// RFC 9112 §6.1: a request with both Transfer-Encoding and
		// Content-Length must not leave its connection reusable.
		w.Header().Set("Connection", "close")
	}
	if r.Method == http.MethodOptions && r.RequestURI == "*" {
		// net/http's own answer to "OPTIONS *", given here so it is counted.
		w.Header().Set("Content-Length", "0")
		return
	}
	env := requestEnv(hc.env, r)
	var body io.Reader = r.Body
	if max := t.opts.MaxBodyBytes; max > 0 {
		if r.ContentLength > max {
			w.Header().Set("Connection", "close")
			http.Error(w, fmt.Sprintf("request body of %d bytes exceeds the limit of %d", r.ContentLength, max), http.StatusRequestEntityTooLarge)
			return
		}
		body = &limitReader{r: r.Body, left: max, w: w}
	}
	rw := &httpWriter{w: w, rc: http.NewResponseController(w), status: http.StatusOK}
	// Handlers stream: an echo writes its first bytes long before it has
	// read the whole body. Without full duplex, net/http would consume (and
	// lose to the handler) what is left of the body at the first write.
	rw.rc.EnableFullDuplex()
	err := t.next.Serve(r.Context(), &server.Exchange{Env: env, Reader: body, Writer: rw})
	if err == nil {
		t.drainBody(r, rw)
		rw.commit() // a status set without a write
		return
	}
	status := server.StatusOf(err)
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	t.opts.Logger.Log(r.Context(), level, "http exchange failed", "method", r.Method, "uri", r.RequestURI,
		"route", env[abi.EnvRoute], "status", status, "err", err)
	if rw.committed.Load() {
		// The response has begun: cut the connection so the client sees an
		// incomplete response instead of a truncated one that looks whole.
		panic(http.ErrAbortHandler)
	}
	msg := http.StatusText(status)
	if status == http.StatusNotFound {
		msg = fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)
	}
	h := w.Header()
	closing := h.Get("Connection") == "close" // set above or by limitReader
	for k := range h {
		delete(h, k)
	}
	if closing {
		h.Set("Connection", "close")
	}
	http.Error(w, msg, status)
}

// maxDrain is how much of a body its handler left unread the transport
// reads away to keep the connection reusable (net/http's own figure).
const maxDrain = 256 << 10

// drainBody reads what the handler left of a small request body. With full
// duplex on, net/http does not, and would close the connection without a
// Connection: close header, failing the client's next request on it. A
// larger remainder closes the connection, announced when the response has
// not started yet.
func (t *httpTransport) drainBody(r *http.Request, rw *httpWriter) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	rw.rc.SetReadDeadline(time.Now().Add(time.Second)) // a peer that stalls mid-body is not waited for
	defer rw.rc.SetReadDeadline(time.Time{})
	n, err := io.CopyN(io.Discard, r.Body, maxDrain+1)
	if err == nil && n > maxDrain && !rw.committed.Load() {
		rw.Header().Set("Connection", "close")
	}
}

// requestEnv builds a request's env from its connection's.
func requestEnv(base server.Env, r *http.Request) server.Env {
	env := base.Clone()
	env[abi.EnvTransport] = "http"
	env[abi.EnvRequestMethod] = r.Method
	env[abi.EnvRequestURI] = r.RequestURI
	env[abi.EnvScriptName] = ""
	env[abi.EnvPathInfo] = r.URL.Path
	env[abi.EnvQueryString] = r.URL.RawQuery
	env[abi.EnvServerProtocol] = r.Proto
	env[abi.EnvURLScheme] = "http"
	if r.TLS != nil {
		env[abi.EnvURLScheme] = "https"
	}
	if r.ContentLength > 0 || r.Header.Get("Content-Length") != "" {
		env[abi.EnvContentLength] = strconv.FormatInt(r.ContentLength, 10)
	}
	env["HTTP_HOST"] = r.Host
	for name, values := range r.Header {
		switch {
		case name == "Content-Type":
			env[abi.EnvContentType] = strings.Join(values, ", ")
			continue
		case name == "Content-Length", name == "Host":
			continue
		case strings.Contains(name, "_"):
			// X_Forwarded and X-Forwarded would both become HTTP_X_FORWARDED:
			// drop the underscore form so it cannot spoof the other.
			continue
		}
		sep := ", "
		if name == "Cookie" {
			sep = "; "
		}
		env[abi.EnvHTTPPrefix+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = strings.Join(values, sep)
	}
	return env
}

// httpWriter adapts net/http's ResponseWriter to server.ResponseWriter.
type httpWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	status    int
	committed atomic.Bool
}

func (h *httpWriter) Header() http.Header { return h.w.Header() }

func (h *httpWriter) SetStatus(code int) bool {
	if h.committed.Load() {
		return false
	}
	h.status = code
	return true
}

func (h *httpWriter) Committed() bool { return h.committed.Load() }

func (h *httpWriter) commit() {
	if !h.committed.Swap(true) {
		h.w.WriteHeader(h.status)
	}
}

func (h *httpWriter) Write(p []byte) (int, error) {
	h.commit()
	return h.w.Write(p)
}

func (h *httpWriter) Flush() error {
	h.commit()
	return h.rc.Flush()
}

// limitReader fails reads past a body limit with abi.ErrInputTooLarge and
// marks the connection for closing, since the rest of the body is unread.
type limitReader struct {
	r    io.Reader
	left int64
	w    http.ResponseWriter
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe for one more byte: a body of exactly the limit is fine.
		var one [1]byte
		if n, err := l.r.Read(one[:]); n == 0 {
			return 0, err
		}
		l.w.Header().Set("Connection", "close")
		return 0, fmt.Errorf("%w: %w", server.ErrTooLarge, abi.ErrInputTooLarge)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

var errConnDone = errors.New("connection done")

// oneConnListener hands one connection to net/http's Serve, then blocks in
// Accept until that connection is closed, so Serve returns with it.
type oneConnListener struct {
	conn   *httpConn
	given  bool
	closed sync.Once
	done   chan struct{}
	mu     sync.Mutex
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.done == nil {
		l.done = make(chan struct{})
	}
	if !l.given {
		l.given = true
		l.mu.Unlock()
		return l.conn, nil
	}
	l.mu.Unlock()
	select {
	case <-l.conn.closed:
	case <-l.done:
	}
	return nil, errConnDone
}

func (l *oneConnListener) handedOver() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.given
}

func (l *oneConnListener) Close() error {
	l.mu.Lock()
	if l.done == nil {
		l.done = make(chan struct{})
	}
	l.mu.Unlock()
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

var (
	_ server.Shutdowner     = (*httpTransport)(nil)
	_ server.ResponseWriter = (*httpWriter)(nil)
)

// SetReadDeadline bounds reads of the request body.
func (h *httpWriter) SetReadDeadline(t time.Time) error { return h.rc.SetReadDeadline(t) }

// SetWriteDeadline bounds writes of the response.
func (h *httpWriter) SetWriteDeadline(t time.Time) error { return h.rc.SetWriteDeadline(t) }
