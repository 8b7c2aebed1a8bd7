package transport

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

// responseMeta is the metadata of a response being written, shared by the
// HTTP/1 writer (httpWriter) and the HTTP/2 one (h2Writer): the handler's
// header map and status until the first Write or Flush commits them.
type responseMeta struct {
	header    http.Header // the handler's
	junk      http.Header // what Header returns once committed
	status    int
	committed atomic.Bool
	head      bool  // a HEAD request: the body is counted, never sent
	length    int64 // the Content-Length the handler set, -1 for none
	written   int64 // body bytes the handler wrote
}

// Header returns the header map until the metadata is committed; after
// that, a map whose changes go nowhere (the ResponseWriter contract).
func (m *responseMeta) Header() http.Header {
	if m.committed.Load() {
		if m.junk == nil {
			m.junk = http.Header{}
		}
		clear(m.junk)
		return m.junk
	}
	return m.header
}

// SetStatus sets the status the response is sent with. It returns false
// once the metadata is committed, and for a code that is not a final
// status (200 to 999): informational responses are the transport's.
func (m *responseMeta) SetStatus(code int) bool {
	if m.committed.Load() || code < 200 || code > 999 {
		return false
	}
	m.status = code
	return true
}

// Committed reports whether the first Write or Flush happened.
func (m *responseMeta) Committed() bool { return m.committed.Load() }

// admit checks a write of n body bytes against the status (a response
// that has no body) and the Content-Length the handler set.
func (m *responseMeta) admit(n int) error {
	if !m.head && !bodyAllowed(m.status) {
		return http.ErrBodyNotAllowed
	}
	if m.length >= 0 && m.written+int64(n) > m.length {
		return fmt.Errorf("%w (%d bytes)", errBodyTooLong, m.length)
	}
	return nil
}
