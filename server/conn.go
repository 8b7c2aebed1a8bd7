package server

import (
	"errors"
	"net"
	"sync"
	"time"
)

// timeoutConn is an accepted connection whose every write must make
// progress within timeout: a peer that stops reading (a pipeline of
// requests whose answers it never takes, say) cannot hold the connection
// and its buffers for longer. A write deadline set from above (a route's
// timeout) still applies when it comes first.
type timeoutConn struct {
	net.Conn
	timeout time.Duration

	mu      sync.Mutex
	outer   time.Time // the deadline set through SetWriteDeadline or SetDeadline
	applied time.Time // the write deadline Conn has
}

// Write gives p at least timeout to make progress. The deadline is renewed
// only when it would come sooner than that, and then set an eighth later,
// so a busy connection renews it now and then rather than on every write
// (a write deadline is a runtime timer to move).
func (c *timeoutConn) Write(p []byte) (int, error) {
	now := time.Now()
	c.mu.Lock()
	d := c.applied
	if d.Before(now.Add(c.timeout)) {
		d = now.Add(c.timeout + c.timeout/8)
	}
	if !c.outer.IsZero() && c.outer.Before(d) {
		d = c.outer
	}
	if !d.Equal(c.applied) {
		c.Conn.SetWriteDeadline(d)
		c.applied = d
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *timeoutConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outer, c.applied = t, t
	return c.Conn.SetWriteDeadline(t)
}

func (c *timeoutConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outer, c.applied = t, t
	return c.Conn.SetDeadline(t)
}

// CloseWrite shuts down the sending side of the connection when the
// underlying one can (TCP, unix sockets), so that a transport ending a
// connection can let the peer read its last response to the end before
// the close (lingering close, RFC 9112 §9.6).
func (c *timeoutConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
