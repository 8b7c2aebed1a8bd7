package transport

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// responseBuffer is how much of a response body the transport holds before
// it hands anything to net/http. A response that fits is sent whole with a
// Content-Length when its handler returns; one whose handler fails before
// it flushed or outgrew the buffer is replaced by an error response, since
// nothing of it left the host.
const responseBuffer = 8 << 10

var responseBuffers = sync.Pool{New: func() any { b := make([]byte, 0, responseBuffer); return &b }}

// errBodyTooLong is returned to a handler writing more than the
// Content-Length it set.
var errBodyTooLong = errors.New("response body longer than its Content-Length")

// httpWriter adapts net/http's ResponseWriter to server.ResponseWriter.
// The first Write or Flush commits the metadata as far as the handler is
// concerned (Committed, SetStatus); what reaches net/http is held back in
// buf until a Flush, a full buffer or the end of the exchange.
type httpWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	status    int
	committed atomic.Bool
	sent      bool    // the header went to net/http: the response can no longer be replaced
	buf       *[]byte // held body bytes, from responseBuffers; nil when none
	written   int64   // body bytes written by the handler
	length    int64   // the Content-Length the handler set, -1 for none
}

func newHTTPWriter(w http.ResponseWriter) *httpWriter {
	return &httpWriter{w: w, rc: http.NewResponseController(w), status: http.StatusOK, length: -1}
}

// Header returns the header map until the metadata is committed; after
// that, a map whose changes go nowhere (the ResponseWriter contract), even
// while the response is still held.
func (h *httpWriter) Header() http.Header {
	if h.committed.Load() {
		return http.Header{}
	}
	return h.w.Header()
}

func (h *httpWriter) SetStatus(code int) bool {
	if h.committed.Load() {
		return false
	}
	h.status = code
	return true
}

func (h *httpWriter) Committed() bool { return h.committed.Load() }

// commit fixes the metadata at the handler's first write or flush.
func (h *httpWriter) commit() error {
	if h.committed.Swap(true) {
		return nil
	}
	if v := h.w.Header()["Content-Length"]; len(v) == 1 {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid Content-Length %q", v[0])
		}
		h.length = n
	}
	return nil
}

func (h *httpWriter) Write(p []byte) (int, error) {
	if err := h.commit(); err != nil {
		return 0, err
	}
	if h.length >= 0 && h.written+int64(len(p)) > h.length {
		return 0, fmt.Errorf("%w (%d bytes)", errBodyTooLong, h.length)
	}
	h.written += int64(len(p))
	if !h.sent {
		if h.buf == nil {
			h.buf = responseBuffers.Get().(*[]byte)
		}
		if len(*h.buf)+len(p) <= responseBuffer {
			*h.buf = append(*h.buf, p...)
			return len(p), nil
		}
		if err := h.send(); err != nil {
			return 0, err
		}
	}
	return h.w.Write(p)
}

// send hands the header and the held body to net/http.
func (h *httpWriter) send() error {
	h.sent = true
	h.w.WriteHeader(h.status)
	if h.buf == nil {
		return nil
	}
	var err error
	if b := *h.buf; len(b) > 0 {
		_, err = h.w.Write(b) // net/http copies or writes it before returning
	}
	h.release() // only now: the pool hands the buffer to other exchanges
	return err
}

func (h *httpWriter) release() {
	if h.buf != nil {
		*h.buf = (*h.buf)[:0]
		responseBuffers.Put(h.buf)
		h.buf = nil
	}
}

func (h *httpWriter) Flush() error {
	if err := h.commit(); err != nil {
		return err
	}
	if !h.sent {
		if err := h.send(); err != nil {
			return err
		}
	}
	return h.rc.Flush()
}

// finish sends what a successful handler left held, framed by a
// Content-Length when the whole body is known. It returns an error, and
// sends nothing, when that body contradicts the Content-Length the handler
// set.
func (h *httpWriter) finish(method string) error {
	if err := h.commit(); err != nil {
		return err
	}
	if h.sent {
		return nil
	}
	switch {
	case h.length >= 0 && h.length != h.written && method != http.MethodHead:
		h.release()
		return fmt.Errorf("the handler set Content-Length %d and wrote %d bytes", h.length, h.written)
	case h.length < 0 && bodyAllowed(h.status) && (method != http.MethodHead || h.written > 0):
		h.w.Header().Set("Content-Length", strconv.FormatInt(h.written, 10))
	}
	return h.send()
}

// discard drops a response that never left the host, so an error response
// can take its place; it reports false when part of it has been sent.
func (h *httpWriter) discard() bool {
	if h.sent {
		return false
	}
	h.release()
	return true
}

// bodyAllowed reports whether a response with this status has a body
// (RFC 9110 §6.4.1).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// SetReadDeadline bounds reads of the request body.
func (h *httpWriter) SetReadDeadline(t time.Time) error { return h.rc.SetReadDeadline(t) }

// SetWriteDeadline bounds writes of the response.
func (h *httpWriter) SetWriteDeadline(t time.Time) error { return h.rc.SetWriteDeadline(t) }

// requestBody is a request body as its handler reads it: it remembers
// whether the body ended cleanly and its first error, which decide whether
// the connection may carry another request.
type requestBody struct {
	r       io.Reader
	eof     bool
	err     error
	touched bool // the handler read from it
}

func (b *requestBody) Read(p []byte) (int, error) {
	b.touched = true
	if b.eof {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil:
		b.err = err
	}
	return n, err
}

// limitReader fails reads past a body limit with abi.ErrInputTooLarge.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Probe for one more byte: a body of exactly the limit is fine.
		var one [1]byte
		if n, err := l.r.Read(one[:]); n == 0 {
			return 0, err
		}
		return 0, fmt.Errorf("%w: %w", server.ErrTooLarge, abi.ErrInputTooLarge)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

var _ server.ResponseWriter = (*httpWriter)(nil)
