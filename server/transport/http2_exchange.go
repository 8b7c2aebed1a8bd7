package transport

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// h2Conn serves the streams of one HTTP/2 connection: each is an exchange
// for the transport's handler, as an HTTP/1 request is.
type h2Conn struct {
	t     *httpTransport
	base  []envPair // the connection exchange's env
	https bool
}

// ServeHTTP serves one stream. Its context ends when the client resets
// the stream or the connection goes.
func (h *h2Conn) ServeHTTP(hw http.ResponseWriter, r *http.Request) {
	t, ctx := h.t, r.Context()
	w := &h2Writer{responseMeta: responseMeta{header: http.Header{}, status: http.StatusOK, head: r.Method == http.MethodHead}, hw: hw, rc: http.NewResponseController(hw)}
	if r.Method == http.MethodConnect && !t.methods[http.MethodConnect] {
		w.refuse(http.StatusNotImplemented, "CONNECT is not served on this listener", "", 0)
		return
	}
	path, err := cleanPath(r.URL.Path)
	if err != nil {
		w.refuse(http.StatusBadRequest, "bad request path", "", 0)
		return
	}
	var body io.Reader = r.Body
	if max := t.opts.MaxBodyBytes; max > 0 {
		if r.ContentLength > max {
			w.refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds the limit of %d", r.ContentLength, max), "", 0)
			return
		}
		body = &limitReader{r: r.Body, left: max, max: max}
	}
	env := h.env(r, path)
	x := server.Exchange{Env: env, Reader: body, Writer: w}
	err = t.next.Serve(ctx, &x)
	if err == nil {
		if err = w.finish(); err == nil {
			return
		}
		err = fmt.Errorf("%w: %w", server.ErrHandlerFailed, err)
	}
	status, msg := t.failed(ctx, env, r.Method, r.RequestURI, path, err)
	if w.sent {
		// The response has begun: reset the stream so the client sees an
		// incomplete response instead of a truncated one that looks whole.
		panic(http.ErrAbortHandler)
	}
	w.refuse(status, msg, env[abi.EnvRequestID], retryAfter(status, err))
}

// env is the exchange's env: the keys HTTP/1 requests have (requestEnv),
// SERVER_PROTOCOL HTTP/2.0, and HTTP_* for the header fields.
func (h *h2Conn) env(r *http.Request, path string) server.Env {
	env := make(server.Env, len(h.base)+16+len(r.Header))
	requestEnv(env, h.base, requestLine{method: r.Method, target: r.RequestURI, path: path, query: r.URL.RawQuery, proto: "HTTP/2.0", https: h.https})
	if _, ok := r.Header["Content-Length"]; ok && r.ContentLength >= 0 {
		env[abi.EnvContentLength] = strconv.FormatInt(r.ContentLength, 10)
	}
	env["HTTP_HOST"] = r.Host
	for name, values := range r.Header {
		info, ok := commonFields[name]
		if !ok {
			info = envKey(name)
		}
		if !info.skip {
			env[info.key] = joinFields(info.key, values)
		}
	}
	return env
}

// h2Writer is a stream's server.ResponseWriter: the HTTP/1 writer's
// contract (httpWriter) over x/net/http2's ResponseWriter. Up to
// responseBuffer bytes are held until a Flush, so that a failure before
// then is still answered with an error response.
type h2Writer struct {
	responseMeta
	hw   http.ResponseWriter
	rc   *http.ResponseController
	sent bool // the head went out
	buf  []byte
}

// Sent reports whether the response's head went out (server.SentReporter).
func (w *h2Writer) Sent() bool { return w.sent }

func (w *h2Writer) commit() error {
	if w.committed.Swap(true) {
		return nil
	}
	var err error
	w.length, err = handlerLength(w.header)
	return err
}

func (w *h2Writer) Write(p []byte) (int, error) {
	if err := w.commit(); err != nil {
		return 0, err
	}
	if err := w.admit(len(p)); err != nil {
		return 0, err
	}
	w.written += int64(len(p))
	if !w.sent {
		if len(w.buf)+len(p) <= responseBuffer {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		if err := w.send(false); err != nil {
			return 0, err
		}
	}
	if w.head {
		return len(p), nil
	}
	return w.hw.Write(p)
}

// Flush commits the metadata and sends what is held.
func (w *h2Writer) Flush() error {
	if err := w.commit(); err != nil {
		return err
	}
	if !w.sent {
		if err := w.send(false); err != nil {
			return err
		}
	}
	return w.rc.Flush()
}

// SetReadDeadline bounds the handler's reads of the request body.
func (w *h2Writer) SetReadDeadline(t time.Time) error { return w.rc.SetReadDeadline(t) }

// SetWriteDeadline bounds writes of the response.
func (w *h2Writer) SetWriteDeadline(t time.Time) error { return w.rc.SetWriteDeadline(t) }

// send writes the head and what is held; final means the handler has
// returned, so what is held is the whole body.
func (w *h2Writer) send(final bool) error {
	w.sent = true
	allowed := bodyAllowed(w.status)
	h := w.hw.Header()
	for k, vs := range w.header {
		if hostOwnedField(k) || !isToken(k) || k == "Content-Type" && !allowed {
			continue
		}
		h[k] = vs
	}
	switch {
	case !allowed:
	case w.length >= 0:
		h.Set("Content-Length", strconv.FormatInt(w.length, 10))
	case final:
		h.Set("Content-Length", strconv.FormatInt(w.written, 10))
	}
	if _, typed := w.header["Content-Type"]; allowed && !typed && len(w.buf) > 0 {
		h.Set("Content-Type", http.DetectContentType(w.buf))
	}
	w.hw.WriteHeader(w.status)
	body := w.buf
	w.buf = nil
	if len(body) == 0 || w.head || !allowed {
		return nil
	}
	_, err := w.hw.Write(body)
	return err
}

// finish completes the response of a handler that returned without error;
// it returns an error, and sends nothing, when the body contradicts the
// Content-Length the handler set.
func (w *h2Writer) finish() error {
	if err := w.commit(); err != nil {
		return err
	}
	if w.length >= 0 && w.length != w.written && !w.head && bodyAllowed(w.status) && (!w.sent || w.written < w.length) {
		return fmt.Errorf("the handler set Content-Length %d and wrote %d bytes", w.length, w.written)
	}
	if !w.sent {
		return w.send(true)
	}
	return nil
}

// refuse answers with a response of the transport's own, as the HTTP/1
// side's writeErrorID does: status, a one-line text, the request id and,
// when retry is not 0, Retry-After.
func (w *h2Writer) refuse(status int, msg, id string, retry time.Duration) {
	h := w.hw.Header()
	clear(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if retry > 0 {
		h.Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
	}
	if id != "" {
		h.Set("X-Request-Id", id)
	}
	h.Set("Content-Length", strconv.Itoa(len(msg)+1))
	w.hw.WriteHeader(status)
	if !w.head {
		io.WriteString(w.hw, msg+"\n")
	}
}

var (
	_ server.ResponseWriter = (*h2Writer)(nil)
	_ server.SentReporter   = (*h2Writer)(nil)
	_ server.ReadDeadliner  = (*h2Writer)(nil)
	_ server.WriteDeadliner = (*h2Writer)(nil)
)
