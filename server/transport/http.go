package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// httpTransport serves HTTP/1.1 on each connection exchange with one shared
// net/http Server, so keep-alive, header limits and timeouts are net/http's.
type httpTransport struct {
	next    server.Handler
	opts    Options
	srv     *http.Server
	methods map[string]bool // Options.Methods
}

// NewHTTP returns the HTTP transport. Each request is one exchange: env gets
// the CGI keys and HTTP_* headers, read streams the body, write streams the
// response. Status and headers are committed by the first write; a handler
// that writes nothing still yields a valid (empty, 200 unless set) response.
func NewHTTP(next server.Handler, opts Options) server.Handler {
	t := &httpTransport{next: next, opts: opts.withDefaults(), methods: map[string]bool{}}
	for _, m := range t.opts.Methods {
		t.methods[m] = true
	}
	t.srv = &http.Server{
		Handler:           t,
		ReadHeaderTimeout: t.opts.ReadHeaderTimeout,
		IdleTimeout:       t.opts.IdleTimeout,
		MaxHeaderBytes:    t.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(t.opts.Logger.Handler(), slog.LevelDebug),
		// ServeHTTP must see every request it did not close the connection
		// on, or its count falls behind the framing sniffer's.
		DisableGeneralOptionsHandler: true,
		ConnState: func(c net.Conn, state http.ConnState) {
			// The response before this point was the connection's last: its
			// request left bytes on the wire that must not be parsed.
			if hc, ok := c.(*httpConn); ok && state == http.StateIdle && hc.last.Load() {
				hc.Close()
			}
		},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			hc := c.(*httpConn)
			ctx, cancel := context.WithCancel(context.WithValue(ctx, httpConnKey{}, hc))
			hc.stop = context.AfterFunc(hc.ctx, cancel)
			return ctx
		},
	}
	return t
}

// Serve runs net/http on the connection until it closes.
func (t *httpTransport) Serve(ctx context.Context, x *server.Exchange) error {
	conn, ok := x.Reader.(net.Conn)
	if !ok {
		return fmt.Errorf("http transport needs a network connection, got %T", x.Reader)
	}
	hc := &httpConn{Conn: conn, ctx: ctx, env: x.Env, sniff: newFramingSniffer(t.opts.MaxHeaderBytes), closed: make(chan struct{})}
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
	if hc.last.Load() {
		// Read past a request that ended the connection: never served.
		panic(http.ErrAbortHandler)
	}
	hc.served++
	if hc.sniff.smuggled(hc.served) {
		// RFC 9112 §6.1: a request with both Transfer-Encoding and
		// Content-Length must not leave its connection reusable.
		w.Header().Set("Connection", "close")
	}
	if hc.sniff.oversized(hc.served) {
		refuse(w, http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("the request line and headers exceed %d bytes", t.opts.MaxHeaderBytes))
		return
	}
	if r.Method == http.MethodOptions && r.RequestURI == "*" {
		// net/http's own answer to "OPTIONS *", given here so it is counted.
		w.Header().Set("Content-Length", "0")
		return
	}
	if status, msg := t.checkMethod(r); status != 0 {
		refuse(w, status, msg)
		return
	}
	path, err := cleanPath(r.URL.Path)
	if err != nil {
		refuse(w, http.StatusBadRequest, "bad request path")
		return
	}
	env := requestEnv(hc.env, r, path)
	body := &requestBody{r: r.Body}
	if max := t.opts.MaxBodyBytes; max > 0 {
		if r.ContentLength > max {
			refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds the limit of %d", r.ContentLength, max))
			return
		}
		body.r = &limitReader{r: r.Body, left: max}
	}
	rw := newHTTPWriter(w)
	// Handlers stream: an echo writes its first bytes long before it has
	// read the whole body. Without full duplex, net/http would consume (and
	// lose to the handler) what is left of the body at the first write.
	rw.rc.EnableFullDuplex()
	err = t.next.Serve(r.Context(), &server.Exchange{Env: env, Reader: body, Writer: rw})
	t.finishBody(r, rw, body, hc)
	if err == nil {
		if err = rw.finish(r.Method); err == nil {
			return
		}
		err = fmt.Errorf("%w: %w", server.ErrHandlerFailed, err)
	}
	status := server.StatusOf(err)
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	t.opts.Logger.Log(r.Context(), level, "http exchange failed", "method", r.Method, "uri", r.RequestURI,
		"route", env[abi.EnvRoute], "status", status, "err", err)
	if !rw.discard() {
		// The response has begun: cut the connection so the client sees an
		// incomplete response instead of a truncated one that looks whole.
		panic(http.ErrAbortHandler)
	}
	msg := http.StatusText(status)
	if status == http.StatusNotFound {
		msg = fmt.Sprintf("no route for %s %s", r.Method, path)
	}
	h := w.Header()
	closing := h.Get("Connection") == "close" || hc.last.Load()
	clear(h)
	if closing {
		h.Set("Connection", "close")
	}
	http.Error(w, msg, status)
}

// checkMethod refuses requests that HTTP/1.1 routes cannot serve unless a
// route names their method exactly (Options.Methods): CONNECT, which would
// turn the connection into a tunnel, and the HTTP/2 connection preface
// (PRI * HTTP/2.0). Any other protocol major version than 1 is refused.
func (t *httpTransport) checkMethod(r *http.Request) (int, string) {
	switch {
	case r.Method == "PRI" && !t.methods["PRI"]:
		return http.StatusHTTPVersionNotSupported, "HTTP/2 is not served on this listener"
	case r.Method == http.MethodConnect && !t.methods[http.MethodConnect]:
		return http.StatusNotImplemented, "CONNECT is not served on this listener"
	case r.ProtoMajor != 1 && r.Method != "PRI":
		return http.StatusHTTPVersionNotSupported, "HTTP version not supported"
	}
	return 0, ""
}

// refuse answers a request the transport will not pass on, and closes the
// connection after the answer.
func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Connection", "close")
	http.Error(w, msg, status)
}

// maxDrain is how much of a body its handler left unread the transport
// reads away to keep the connection reusable (net/http's own figure).
const maxDrain = 256 << 10

// aLongTimeAgo is a read deadline that fails every read at once.
var aLongTimeAgo = time.Unix(1, 0)

// finishBody decides whether the connection may carry another request after
// this one. With full duplex on, net/http leaves that to the handler: a
// body that ended in an error (malformed chunking, a limit, a timeout) or
// that is left unread would have its remaining bytes parsed as the next
// request. A small remainder is read away within DrainTimeout; otherwise
// the request is the connection's last: Connection: close when the
// response has not started, and the connection closed after the response
// in any case (httpConn.last).
func (t *httpTransport) finishBody(r *http.Request, rw *httpWriter, body *requestBody, hc *httpConn) {
	if body.eof || r.Body == nil || r.Body == http.NoBody {
		return
	}
	// A client that waits for 100 Continue has not sent a body the handler
	// never asked for: reading it away would invite it; close instead.
	expecting := !body.touched && strings.EqualFold(r.Header.Get("Expect"), "100-continue")
	if body.err == nil && !expecting {
		rw.rc.SetReadDeadline(time.Now().Add(t.opts.DrainTimeout))
		io.CopyN(io.Discard, body, maxDrain+1)
		if body.eof {
			rw.rc.SetReadDeadline(time.Time{})
			return
		}
	}
	hc.last.Store(true)
	if !rw.sent {
		rw.w.Header().Set("Connection", "close")
	}
	// net/http reads away up to 256 KiB of a body on its own after the
	// handler: with the deadline passed, it gives up at once.
	rw.rc.SetReadDeadline(aLongTimeAgo)
}

var _ server.Shutdowner = (*httpTransport)(nil)
