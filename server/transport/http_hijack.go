package transport

import (
	"fmt"
	"net"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
)

// Hijack hands the request's connection to the handler (server.Hijacker):
// the watch for the client going away stops, deadlines are cleared, and
// the bytes read past the request are returned. The transport then ends
// the connection when the handler returns, writing nothing.
func (w *httpWriter) Hijack() (net.Conn, []byte, error) {
	c := w.c
	switch {
	case c.hijacked:
		return nil, nil, fmt.Errorf("%w: already taken over", server.ErrNotHijackable)
	case w.committed.Load():
		return nil, nil, fmt.Errorf("%w: the response has begun", server.ErrNotHijackable)
	case !c.raw.done:
		return nil, nil, fmt.Errorf("%w: the request body was not read to its end", server.ErrNotHijackable)
	}
	c.watchStop()
	if c.rerr != nil {
		return nil, nil, fmt.Errorf("%w: %w", server.ErrNotHijackable, c.rerr)
	}
	c.hijacked = true
	w.committed.Store(true)
	c.conn.SetReadDeadline(time.Time{})
	c.conn.SetWriteDeadline(time.Time{})
	c.rdApplied, c.wdApplied = time.Time{}, time.Time{}
	buffered := append([]byte(nil), c.rbuf[c.r:c.w]...)
	c.r = c.w
	return c.conn, buffered, nil
}

var _ server.Hijacker = (*httpWriter)(nil)
