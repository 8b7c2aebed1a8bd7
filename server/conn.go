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
//
// Setting a socket deadline re-arms a runtime timer: done for every write
// it cost more than the rest of the wrapper (BenchmarkConnWrite). So the
// deadline armed on the socket is left alone while it is still about right:
//
//   - a write re-arms only when the armed deadline is more than timeout/8
//     away from now+timeout, so each write may take between 7/8 and 9/8 of
//     the timeout before it fails, and one re-arm serves the writes of the
//     next timeout/8;
//   - a deadline set from above that is earlier than the armed one is armed
//     at once (it cuts a pending write, as net.Conn promises); a later one,
//     or a cleared one, takes effect at the next write, which is when a
//     write deadline matters. When it is earlier than the write timeout at
//     that write, it is armed exactly.
type timeoutConn struct {
	net.Conn
	timeout time.Duration

	mu    sync.Mutex
	outer time.Time // the deadline set through SetWriteDeadline or SetDeadline
	armed time.Time // the write deadline the socket has
}

func (c *timeoutConn) Write(p []byte) (int, error) {
	now := time.Now()
	c.mu.Lock()
	if want, ok := c.rearm(now); ok {
		c.armed = want
		if err := c.Conn.SetWriteDeadline(want); err != nil {
			c.mu.Unlock()
			return 0, err
		}
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// rearm returns the write deadline to arm for a write starting at now, or
// false when the armed one will do.
func (c *timeoutConn) rearm(now time.Time) (time.Time, bool) {
	slack := c.timeout / 8
	left := c.armed.Sub(now) // what the armed deadline leaves the write
	if !c.outer.IsZero() {
		if o := c.outer.Sub(now); o < c.timeout+slack {
			// The deadline from above may come before the write timeout
			// would: it applies exactly when it is the earlier.
			return c.outer, c.armed.IsZero() || left < min(o, c.timeout-slack) || left > o
		}
	}
	return now.Add(c.timeout), c.armed.IsZero() || left < c.timeout-slack || left > c.timeout+slack
}

// SetWriteDeadline sets the deadline from above: at once when it is
// earlier than the armed one, else at the next write.
func (c *timeoutConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setOuter(t)
}

func (c *timeoutConn) setOuter(t time.Time) error {
	c.outer = t
	if t.IsZero() || !c.armed.IsZero() && !t.Before(c.armed) {
		return nil
	}
	c.armed = t
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets the read deadline, and the write deadline as
// SetWriteDeadline does.
func (c *timeoutConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	return c.setOuter(t)
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
