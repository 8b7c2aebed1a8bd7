package transport

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/bubblewasm/bubblewasm/server"
)

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
	// last is set when the connection must not carry another request: a
	// request body ended in an error or was left unread. net/http would
	// parse whatever follows as the next request; instead the connection
	// closes once the current response is out (ConnState), and a request
	// read meanwhile is dropped unanswered.
	last atomic.Bool
}

// Read hands net/http the connection's bytes as the framing sniffer lets
// them through (leading empty lines removed).
func (c *httpConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		kept := c.sniff.observe(p[:n])
		// Only removed blank lines leave kept at 0 with bytes read, and at
		// most maxLeadingBlank of them per request: the loop is bounded.
		if kept > 0 || n == 0 || err != nil {
			return kept, err
		}
	}
}

func (c *httpConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
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
