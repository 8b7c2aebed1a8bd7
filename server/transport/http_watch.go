package transport

import (
	"sync"
	"time"
)

// watchDelay is how long a handler runs before its connection is watched
// for the client going away: handlers that finish sooner cost no
// background read, no goroutine and no deadline change.
const watchDelay = time.Millisecond

// watch looks for the client going away while a handler runs, as
// net/http's background read does: once the handler has run for
// watchDelay and the request body is done, one read waits on the
// connection; an error or EOF cancels the connection's context, bytes
// (a pipelined request) are kept for later.
type watch struct {
	timer *time.Timer
	mu    sync.Mutex
	on    bool // a handler runs
	body  bool // its body is done
	due   bool // it ran for watchDelay
	read  bool // a background read was started
	ended bool // it returned
	done  chan struct{}
}

// watchStart begins watching for a handler whose body is done or not.
func (c *httpConn) watchStart(bodyDone bool) {
	w := &c.watch
	w.mu.Lock()
	w.on, w.body, w.due, w.read, w.ended = true, bodyDone, false, false, false
	w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(watchDelay, c.watchDue)
		return
	}
	w.timer.Reset(watchDelay)
}

// watchDue runs when the handler has run for watchDelay.
func (c *httpConn) watchDue() {
	w := &c.watch
	w.mu.Lock()
	if !w.on {
		w.mu.Unlock()
		return
	}
	w.due = true
	start := w.body && c.startReadLocked()
	w.mu.Unlock()
	if start {
		c.backgroundRead()
	}
}

// watchBodyDone is called when the request body has been read to its end.
func (c *httpConn) watchBodyDone() {
	w := &c.watch
	w.mu.Lock()
	w.body = true
	start := w.on && w.due && c.startReadLocked()
	w.mu.Unlock()
	if start {
		go c.backgroundRead()
	}
}

// startReadLocked decides whether a background read starts, and if so
// clears the read deadline for it. Only a read into free buffer space
// starts: a full buffer holds a pipelined request already.
func (c *httpConn) startReadLocked() bool {
	if c.watch.read || c.rerr != nil {
		return false
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	if c.w == len(c.rbuf) {
		return false
	}
	c.watch.read = true
	if !c.rdApplied.IsZero() {
		c.conn.SetReadDeadline(time.Time{})
		c.rdApplied = time.Time{}
	}
	return true
}

func (c *httpConn) backgroundRead() {
	n, err := c.conn.Read(c.rbuf[c.w:])
	w := &c.watch
	w.mu.Lock()
	c.w += n
	if err != nil && !isTimeout(err) {
		// The client closed or reset the connection: nothing it asked
		// for can reach it any more. (A timeout is watchStop's doing.)
		c.rerr = err
		c.cancel()
	}
	w.ended = true
	w.mu.Unlock()
	w.done <- struct{}{}
}

// watchStop ends watching when the handler has returned; a background
// read still waiting is interrupted.
func (c *httpConn) watchStop() {
	w := &c.watch
	if w.timer == nil {
		return
	}
	w.timer.Stop()
	w.mu.Lock()
	if !w.on {
		w.mu.Unlock()
		return
	}
	w.on = false
	read, ended := w.read, w.ended
	if read && !ended {
		c.conn.SetReadDeadline(aLongTimeAgo)
		c.rdApplied = aLongTimeAgo
	}
	w.mu.Unlock()
	if read {
		<-w.done
	}
}
