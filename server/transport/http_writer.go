package transport

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
)

// responseBuffer is how much of a response body the transport holds
// before anything leaves the host. A response that fits is sent whole,
// head and body in one write, with a Content-Length when its handler
// returns; one whose handler fails before it flushed or outgrew the buffer
// is replaced by an error response, since nothing of it was sent.
const responseBuffer = 8 << 10

// headRoom is the space kept in front of a held body for the response
// head, so that both go out in one write without moving the body.
const headRoom = 1 << 10

// outBufferSize is the capacity of a response buffer: head room, held
// body, and the CRLF that ends a chunk.
const outBufferSize = headRoom + responseBuffer + 64

// errBodyTooLong is returned to a handler writing more than the
// Content-Length it set.
var errBodyTooLong = errors.New("response body longer than its Content-Length")

// Response framings, fixed when the head is sent.
const (
	framingNone    = iota // HEAD, 204, 304: no body bytes
	framingLength         // Content-Length
	framingChunked        // Transfer-Encoding: chunked
	framingClose          // HTTP/1.0 without a length: the body ends with the connection
)

// httpWriter is a request's server.ResponseWriter. The first Write or
// Flush commits the metadata as far as the handler is concerned
// (Committed, SetStatus); what reaches the client is held in buf until a
// Flush, a full buffer or the end of the exchange.
type httpWriter struct {
	responseMeta // header reused by the connection's requests
	c            *httpConn
	closing      bool // the handler set Connection: close
	sent         bool // the head went out: the response can no longer be replaced
	framing      int  // once sent
	buf          []byte
	pooled       *[]byte // buf's array, from the transport's pool; nil when none
}

func (w *httpWriter) reset(c *httpConn) {
	if w.header == nil {
		w.header = http.Header{}
	} else {
		clear(w.header)
	}
	w.c = c
	w.status = http.StatusOK
	w.committed.Store(false)
	w.head = c.req.method == http.MethodHead
	w.closing, w.length, w.written, w.sent, w.framing = false, -1, 0, false, framingNone
}

// Sent reports whether the response's head went out (server.SentReporter):
// until then a failure is answered with an error response instead.
func (w *httpWriter) Sent() bool { return w.sent }

// commit fixes the metadata at the handler's first write or flush.
func (w *httpWriter) commit() error {
	if w.committed.Swap(true) {
		return nil
	}
	n, err := handlerLength(w.header)
	if err != nil {
		return err
	}
	w.length = n
	w.closing = hasToken(w.header["Connection"], "close")
	return nil
}

func (w *httpWriter) Write(p []byte) (int, error) {
	if err := w.commit(); err != nil {
		return 0, err
	}
	if err := w.admit(len(p)); err != nil {
		return 0, err
	}
	if w.c.werr != nil {
		return 0, w.c.werr
	}
	w.written += int64(len(p))
	if !w.sent {
		if w.pooled == nil {
			w.acquire()
		}
		if len(w.buf)-headRoom+len(p) <= responseBuffer {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		if err := w.send(false); err != nil {
			return 0, err
		}
	}
	if err := w.stream(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush commits the metadata and sends what is held.
func (w *httpWriter) Flush() error {
	if err := w.commit(); err != nil {
		return err
	}
	if !w.sent {
		if err := w.send(false); err != nil {
			return err
		}
	}
	return w.flushPending()
}

// SetReadDeadline bounds the handler's reads of the request body.
func (w *httpWriter) SetReadDeadline(t time.Time) error {
	w.c.rdWant = t
	return nil
}

// SetWriteDeadline bounds writes of the response.
func (w *httpWriter) SetWriteDeadline(t time.Time) error {
	w.c.wdWant = t
	return nil
}

func (w *httpWriter) acquire() {
	w.pooled = w.c.t.outBuffers.Get().(*[]byte)
	w.buf = (*w.pooled)[:headRoom]
}

func (w *httpWriter) release() {
	if w.pooled != nil {
		w.c.t.outBuffers.Put(w.pooled)
		w.pooled, w.buf = nil, nil
	}
}

// held returns the body bytes held before the head was sent.
func (w *httpWriter) held() []byte {
	if w.pooled == nil {
		return nil
	}
	return w.buf[headRoom:]
}

// send writes the head and what is held. final means the handler has
// returned, so the held body is the whole body.
func (w *httpWriter) send(final bool) error {
	c, r := w.c, &w.c.req
	w.sent = true
	allowed := bodyAllowed(w.status)
	switch {
	case !allowed || w.head:
		w.framing = framingNone
	case final || w.length >= 0:
		w.framing = framingLength
	case !r.http10():
		w.framing = framingChunked
	default:
		w.framing = framingClose
	}
	body := w.held()
	h := appendStatusLine(c.hdr[:0], r, w.status)
	h, typed, dated := w.appendFields(h, allowed)
	if allowed && !typed && len(body) > 0 {
		h = appendField(h, "Content-Type", http.DetectContentType(body))
	}
	switch {
	case w.framing == framingLength:
		h = appendLength(h, max(w.length, w.written))
	case w.framing == framingChunked:
		h = append(h, "Transfer-Encoding: chunked\r\n"...)
	case w.head && allowed && w.length >= 0:
		h = appendLength(h, w.length)
	case w.head && allowed && final && w.written > 0:
		h = appendLength(h, w.written)
	}
	if !dated {
		h = c.appendDate(h)
	}
	h = appendConnection(h, r, w.closeAfter())
	h = append(h, "\r\n"...)
	if w.framing == framingChunked && len(body) > 0 {
		h = appendChunkHeader(h, len(body))
		w.buf = append(w.buf, "\r\n"...)
	}
	c.hdr = h
	if w.framing == framingNone || len(body) == 0 {
		if w.pooled != nil {
			w.buf = w.buf[:0]
		}
		return c.write(h)
	}
	var err error
	if len(h) <= headRoom {
		start := headRoom - len(h)
		copy(w.buf[start:], h)
		err = c.write(w.buf[start:])
	} else if err = c.write(h); err == nil {
		err = c.write(w.buf[headRoom:])
	}
	w.buf = w.buf[:0]
	return err
}

// closeAfter reports whether the connection ends after this response.
func (w *httpWriter) closeAfter() bool {
	c := w.c
	return c.req.close || w.closing || c.last || w.framing == framingClose || c.werr != nil || c.t.draining.Load()
}

// appendFields appends the handler's header fields in name order, leaving
// out those the transport owns (framing and connection) and, when the
// status has no body, Content-Type. Invalid names are dropped and control
// bytes in values become spaces, as net/http does. It reports whether the
// handler set Content-Type and Date.
func (w *httpWriter) appendFields(h []byte, allowed bool) (_ []byte, typed, dated bool) {
	if len(w.header) == 1 {
		// The common case, a guest that sets its Content-Type: no need to
		// walk and sort the map.
		if v, ok := w.header["Content-Type"]; ok {
			if allowed {
				for _, v := range v {
					h = appendField(h, "Content-Type", v)
				}
			}
			return h, true, false
		}
	}
	keys := w.c.keyScratch[:0]
	for k := range w.header {
		keys = append(keys, k)
	}
	if len(keys) > 1 {
		slices.Sort(keys)
	}
	for _, k := range keys {
		switch {
		case k == "Content-Type":
			typed = true
			if !allowed {
				continue
			}
		case k == "Date":
			dated = true
		case hostOwnedField(k) || !isToken(k):
			continue
		}
		for _, v := range w.header[k] {
			h = appendField(h, k, v)
		}
	}
	clear(keys)
	w.c.keyScratch = keys[:0]
	return h, typed, dated
}

// handlerLength returns the Content-Length a handler set, -1 for none.
func handlerLength(h http.Header) (int64, error) {
	v, ok := h["Content-Length"]
	if !ok {
		return -1, nil
	}
	n, ok := int64(-1), len(v) == 1
	if ok {
		n, ok = parseLength(trimOWS(v[0]))
	}
	if !ok {
		return -1, fmt.Errorf("invalid Content-Length %q", v)
	}
	return n, nil
}

// hostOwnedField reports the fields the transport writes itself.
func hostOwnedField(k string) bool {
	switch k {
	case "Content-Length", "Connection", "Transfer-Encoding", "Keep-Alive", "Proxy-Connection", "Upgrade", "Trailer", "Te":
		return true
	}
	return false
}

// stream sends p, framed, after the head went out.
func (w *httpWriter) stream(p []byte) error {
	switch w.framing {
	case framingNone:
		return nil
	case framingChunked:
		if len(p) == 0 {
			return nil
		}
		if err := w.reserve(20); err != nil {
			return err
		}
		w.buf = appendChunkHeader(w.buf, len(p))
		if err := w.pending(p); err != nil {
			return err
		}
		if err := w.reserve(2); err != nil {
			return err
		}
		w.buf = append(w.buf, "\r\n"...)
		return nil
	}
	return w.pending(p)
}

// pending adds p to the bytes waiting to be sent; what does not fit goes
// out at once.
func (w *httpWriter) pending(p []byte) error {
	if w.pooled == nil {
		w.acquire()
		w.buf = w.buf[:0]
	}
	if len(w.buf)+len(p) <= cap(w.buf) {
		w.buf = append(w.buf, p...)
		return nil
	}
	if err := w.flushPending(); err != nil {
		return err
	}
	if len(p) >= cap(w.buf)/2 {
		return w.c.write(p)
	}
	w.buf = append(w.buf, p...)
	return nil
}

// reserve makes room for n more pending bytes.
func (w *httpWriter) reserve(n int) error {
	if w.pooled == nil {
		w.acquire()
		w.buf = w.buf[:0]
	}
	if cap(w.buf)-len(w.buf) >= n {
		return nil
	}
	return w.flushPending()
}

func (w *httpWriter) flushPending() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.c.write(w.buf)
	w.buf = w.buf[:0]
	return err
}

// finish completes the response of a handler that returned without
// error: what is held goes out framed by its Content-Length, a chunked
// body gets its last chunk. It returns an error, and sends nothing, when
// the body contradicts the Content-Length the handler set; a write error
// is not returned (the connection is gone, c.werr says so).
func (w *httpWriter) finish() error {
	defer w.release()
	if err := w.commit(); err != nil {
		return err
	}
	if !w.sent {
		if w.length >= 0 && w.length != w.written && !w.head && bodyAllowed(w.status) {
			return fmt.Errorf("the handler set Content-Length %d and wrote %d bytes", w.length, w.written)
		}
		w.send(true)
		return nil
	}
	switch {
	case w.framing == framingLength && w.written < w.length:
		return fmt.Errorf("the handler set Content-Length %d and wrote %d bytes", w.length, w.written)
	case w.framing == framingChunked:
		if w.reserve(5) == nil {
			w.buf = append(w.buf, "0\r\n\r\n"...)
		}
	}
	w.flushPending()
	return nil
}

// discard drops a response that never left the host, so an error response
// can take its place; it reports false when part of it has been sent.
func (w *httpWriter) discard() bool {
	w.release()
	return !w.sent
}

// writeError sends a response of the transport's own: status and a one-line
// text body, as net/http's Error writes it. A 503 (an overloaded route,
// server.ErrOverloaded) says when to try again: Retry-After
// server.RetryAfter.
func (c *httpConn) writeError(status int, msg string, closing bool) {
	c.writeErrorID(status, msg, closing, "", retryAfter(status, nil))
}

// writeErrorID is writeError for a request that reached the handlers: its
// request id (bubble.request_id, made safe by the access log), when it has
// one, is sent as X-Request-Id, and retry (whole seconds; 0 for none) as
// Retry-After.
func (c *httpConn) writeErrorID(status int, msg string, closing bool, id string, retry time.Duration) {
	h := appendStatusLine(c.hdr[:0], &c.req, status)
	h = append(h, "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"...)
	if retry > 0 {
		h = append(h, "Retry-After: "...)
		h = strconv.AppendInt(h, int64(retry/time.Second), 10)
		h = append(h, "\r\n"...)
	}
	if id != "" {
		h = append(append(append(h, "X-Request-Id: "...), id...), "\r\n"...)
	}
	h = appendLength(h, int64(len(msg)+1))
	h = c.appendDate(h)
	h = appendConnection(h, &c.req, closing)
	h = append(h, "\r\n"...)
	if c.req.method != http.MethodHead {
		h = append(h, msg...)
		h = append(h, '\n')
	}
	c.hdr = h
	c.write(h)
}

// bodyAllowed reports whether a response with this status has a body
// (RFC 9110 §6.4.1).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// appendStatusLine appends "HTTP/1.x code reason": HTTP/1.0 for an
// HTTP/1.0 request, HTTP/1.1 otherwise.
func appendStatusLine(h []byte, r *request, status int) []byte {
	if r.http10() {
		h = append(h, "HTTP/1.0 "...)
	} else {
		h = append(h, "HTTP/1.1 "...)
	}
	h = strconv.AppendInt(h, int64(status), 10)
	h = append(h, ' ')
	if text := http.StatusText(status); text != "" {
		h = append(h, text...)
	} else {
		h = append(h, "status code "...)
		h = strconv.AppendInt(h, int64(status), 10)
	}
	return append(h, "\r\n"...)
}

// appendConnection appends the Connection field the response needs: close
// on HTTP/1.1 when the connection ends after it, keep-alive when an
// HTTP/1.0 client asked for it and gets it.
func appendConnection(h []byte, r *request, closing bool) []byte {
	switch {
	case closing && !r.http10():
		return append(h, "Connection: close\r\n"...)
	case !closing && r.http10() && r.http10KA:
		return append(h, "Connection: keep-alive\r\n"...)
	}
	return h
}

func appendLength(h []byte, n int64) []byte {
	h = append(h, "Content-Length: "...)
	h = strconv.AppendInt(h, n, 10)
	return append(h, "\r\n"...)
}

func appendChunkHeader(h []byte, n int) []byte {
	h = strconv.AppendInt(h, int64(n), 16)
	return append(h, "\r\n"...)
}

// appendField appends "name: value" with control bytes of the value
// turned into spaces.
func appendField(h []byte, name, value string) []byte {
	h = append(h, name...)
	h = append(h, ": "...)
	if validFieldValue(value) {
		h = append(h, value...)
	} else {
		for i := 0; i < len(value); i++ {
			if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
				h = append(h, ' ')
			} else {
				h = append(h, c)
			}
		}
	}
	return append(h, "\r\n"...)
}

// hasToken reports whether one of the comma-separated values holds token
// (any case).
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(trimOWS(t), token) {
				return true
			}
		}
	}
	return false
}

var (
	_ server.ResponseWriter = (*httpWriter)(nil)
	_ server.ReadDeadliner  = (*httpWriter)(nil)
	_ server.WriteDeadliner = (*httpWriter)(nil)
)

// retryAfter is the Retry-After of an error response with status, for
// the error err that caused it (nil for the transport's own refusals): see
// server.RetryAfterOf. 0 means none.
func retryAfter(status int, err error) time.Duration {
	if err != nil {
		return server.RetryAfterOf(err)
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		return server.RetryAfter
	}
	return 0
}
