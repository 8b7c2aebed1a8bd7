package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
)

// Buffer sizes of a connection.
const (
	// readBufferSize is the read buffer a connection keeps while it is
	// open: a request head that fits is parsed where it was read. Longer
	// heads (up to MaxHeaderBytes) get a larger buffer for that request.
	readBufferSize = 4 << 10
	// maxChunkLine caps a chunk-size line with its extensions, and a
	// trailer line (net/http's figure).
	maxChunkLine = 4 << 10
	// lingerTimeout is how long a connection closed by the server keeps
	// reading (and discarding) what the client still sends, so that the
	// client receives the last response before the close resets the
	// connection (RFC 9112 §9.6).
	lingerTimeout = 500 * time.Millisecond
	// maxLinger caps the bytes discarded meanwhile.
	maxLinger = 256 << 10
)

// Connection states, for Shutdown.
const (
	connActive  int32 = iota // reading a request, serving it, or writing its response
	connIdle                 // waiting for the first byte of a request, or lingering
	connClosing              // Shutdown woke the connection up: it ends
)

// aLongTimeAgo is a deadline that fails every read at once.
var aLongTimeAgo = time.Unix(1, 0)

// errConnClosing ends a connection Shutdown closed while it was idle.
var errConnClosing = errors.New("connection closed by shutdown")

// httpConn is one connection of the HTTP transport with everything its
// requests reuse: buffers, the parsed head, the env map, the exchange, the
// body reader and the response writer. It is pooled once the connection
// ends.
type httpConn struct {
	t      *httpTransport
	conn   net.Conn
	ctx    context.Context // cancelled when the client is gone or the server stops
	cancel context.CancelFunc
	base   []envPair // the connection exchange's env
	https  bool
	state  atomic.Int32

	small []byte // the connection's own read buffer (readBufferSize)
	rbuf  []byte // small, or a larger one while a long head is read
	r, w  int    // rbuf[r:w] is read and not consumed
	rerr  error  // a read error that ends the connection (not a timeout)
	werr  error  // a write error: the connection is gone

	// Deadlines are applied lazily: a handler's ReadDeadliner and
	// WriteDeadliner calls only record what it wants, and the connection
	// gets it when bytes actually go over it.
	rdApplied, rdWant time.Time
	wdApplied, wdWant time.Time

	now        time.Time // when the last response head was made
	served     int       // requests read on this connection
	last       bool      // the request being served is the connection's last: its body was not all read
	hijacked   bool      // the handler took the connection over (http_hijack.go)
	req        request
	env        server.Env
	keys       map[string]fieldInfo // env keys of header names seen on this connection
	dups       map[string][]string  // scratch for the values of repeated fields
	x          server.Exchange
	body       requestBody
	raw        rawBody
	limit      limitReader
	resp       httpWriter
	hdr        []byte   // scratch for a response head
	keyScratch []string // scratch for sorting response header names

	watch watch
}

// envPair is one key of a connection's env.
type envPair struct{ k, v string }

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// readDeadline applies the deadline the connection's reads should have.
func (c *httpConn) readDeadline() {
	if !c.rdWant.Equal(c.rdApplied) {
		c.conn.SetReadDeadline(c.rdWant)
		c.rdApplied = c.rdWant
	}
}

// fill reads more bytes into rbuf, making room first. It returns an error
// when nothing was read.
func (c *httpConn) fill() error {
	if c.rerr != nil {
		return c.rerr
	}
	if c.r == c.w {
		c.r, c.w = 0, 0
	} else if c.w == len(c.rbuf) && c.r > 0 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(c.rbuf) {
		return errBufferFull
	}
	c.readDeadline()
	n, err := c.conn.Read(c.rbuf[c.w:])
	c.w += n
	if err != nil {
		if !isTimeout(err) {
			c.rerr = err
		}
		if n == 0 {
			return err
		}
	}
	return nil
}

var errBufferFull = errors.New("read buffer full")

// readBody reads up to len(p) bytes of a body: buffered bytes first, then
// straight from the connection into p when p is at least as large as the
// buffer, otherwise through the buffer.
func (c *httpConn) readBody(p []byte) (int, error) {
	if c.r == c.w {
		if len(p) >= len(c.rbuf) {
			if c.rerr != nil {
				return 0, c.rerr
			}
			c.readDeadline()
			n, err := c.conn.Read(p)
			if err != nil && !isTimeout(err) {
				c.rerr = err
			}
			return n, err
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.rbuf[c.r:c.w])
	c.r += n
	return n, nil
}

// readLine returns the next CRLF-terminated line of the body framing
// (chunk sizes, trailers) without its CRLF; with its CRLF it must fit in
// maxChunkLine bytes. The line stays valid until the next read.
func (c *httpConn) readLine() ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(c.rbuf[c.r+scanned:c.w], '\n'); i >= 0 {
			end := c.r + scanned + i
			if end+1-c.r > maxChunkLine {
				return nil, errChunkLineTooLong
			}
			line := c.rbuf[c.r:end]
			if len(line) == 0 || line[len(line)-1] != '\r' {
				return nil, errBareLF
			}
			c.r = end + 1
			return line[:len(line)-1], nil
		}
		scanned = c.w - c.r
		if scanned >= maxChunkLine {
			return nil, errChunkLineTooLong
		}
		if err := c.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// write sends p to the client under the handler's write deadline. A
// failed write cancels the context: nobody can receive the answer.
func (c *httpConn) write(p []byte) error {
	if c.werr != nil {
		return c.werr
	}
	if !c.wdWant.Equal(c.wdApplied) {
		c.conn.SetWriteDeadline(c.wdWant)
		c.wdApplied = c.wdWant
	}
	if _, err := c.conn.Write(p); err != nil {
		c.werr = err
		c.cancel()
		return err
	}
	return nil
}

// linger closes the sending side and reads away what the client still
// sends for a short while, so the last response is not lost to a reset
// (RFC 9112 §9.6). Shutdown cuts it short.
func (c *httpConn) linger() {
	if c.werr != nil {
		return
	}
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	if c.rerr != nil {
		return
	}
	c.conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	if !c.t.setIdle(c) {
		return
	}
	start := time.Now()
	for n := 0; n < maxLinger; {
		m, err := c.conn.Read(c.small)
		n += m
		if err != nil {
			return
		}
	}
	// Past maxLinger, wait out the rest without reading: the client's
	// writes block on full buffers rather than fail, so it reads the
	// response; closing now, with its bytes unread, would reset the
	// connection under it (as net/http, which only waits).
	wait := time.NewTimer(lingerTimeout - time.Since(start))
	defer wait.Stop()
	select {
	case <-wait.C:
	case <-c.t.stopping:
	}
}

// readHead reads the next request head into c.req. Leading empty lines
// are skipped; the head (request line, fields and the empty line) must fit
// in MaxHeaderBytes. It returns an *httpError to answer, or another error
// when the connection ends quietly: EOF, a timeout, Shutdown.
func (c *httpConn) readHead() error {
	opts := &c.t.opts
	// What an error answer before the head is parsed goes by.
	c.req.method, c.req.major, c.req.minor = "", 1, 1
	blank, scanned := 0, 0 // empty lines skipped; head bytes known to hold no empty line
	started := false       // a byte of the request has arrived
	var headBy time.Time
	for {
		// Skip the empty lines before the request line.
		for !started && c.r < c.w {
			switch b := c.rbuf[c.r:c.w]; {
			case b[0] == '\n':
				c.r++
			case b[0] == '\r' && len(b) == 1:
				goto more
			case b[0] == '\r' && b[1] == '\n':
				c.r += 2
			default:
				started = true
				continue
			}
			if blank++; blank > maxLeadingBlank {
				return errTooManyBlank
			}
		}
		if started {
			buf := c.rbuf[c.r:c.w]
			if end := findHeadEnd(buf, scanned); end >= 0 {
				if end > opts.MaxHeaderBytes {
					return c.t.headTooLarge
				}
				c.req.head = string(buf[:end])
				c.r += end
				if err := parseHead(c.req.head, &c.req); err != nil {
					return err
				}
				return nil
			}
			if len(buf) >= opts.MaxHeaderBytes {
				return c.t.headTooLarge
			}
			scanned = max(len(buf)-2, 0)
		}
	more:
		if err := c.roomForHead(); err != nil {
			return err
		}
		switch {
		case started || c.r < c.w || blank > 0:
			if headBy.IsZero() {
				headBy = time.Now().Add(opts.ReadHeaderTimeout)
			}
			c.rdWant = headBy
		case c.served == 0:
			// A new connection gets ReadHeaderTimeout for its first
			// request, not the longer IdleTimeout.
			if headBy.IsZero() {
				headBy = time.Now().Add(opts.ReadHeaderTimeout)
			}
			c.rdWant = headBy
		default:
			c.idleDeadline()
		}
		idle := !started && c.r == c.w && blank == 0
		c.readDeadline() // before Shutdown may see the connection idle and wake it
		if idle && !c.t.setIdle(c) {
			return errConnClosing
		}
		err := c.fill()
		if idle && !c.t.setActive(c) {
			return errConnClosing
		}
		if err != nil {
			return err
		}
	}
}

// roomForHead makes room in rbuf for more of a head: the bytes read move
// to the front, and a head longer than the connection's buffer gets a
// larger one, up to MaxHeaderBytes.
func (c *httpConn) roomForHead() error {
	if c.r == c.w {
		c.r, c.w = 0, 0
		return nil
	}
	if c.w < len(c.rbuf) {
		return nil
	}
	if c.r > 0 {
		c.w = copy(c.rbuf, c.rbuf[c.r:c.w])
		c.r = 0
		return nil
	}
	// The buffer is full of one unfinished head: grow it. The caller
	// answers 431 before a head can outgrow MaxHeaderBytes (plus the
	// empty lines skipped before it).
	size := min(2*len(c.rbuf), c.t.opts.MaxHeaderBytes+2*maxLeadingBlank)
	if size <= len(c.rbuf) {
		return c.t.headTooLarge
	}
	nb := make([]byte, size)
	c.w = copy(nb, c.rbuf[c.r:c.w])
	c.r = 0
	c.rbuf = nb
	return nil
}

// Past these, what a request left in a connection's reusable state is
// dropped after it rather than kept for the next request: an idle
// connection keeps about what net/http's keeps, whatever its last request
// was like.
const (
	maxKeptFields = 64      // header fields (c.req.fields, the env map)
	maxKeptHead   = 4 << 10 // bytes of the head string and the response head scratch
)

// shrink runs after each request. It goes back to the connection's own
// read buffer after a long head, when what is left fits in it, and lets
// go of what a large request grew: the head and its fields, the env map,
// the response head scratch.
func (c *httpConn) shrink() {
	if cap(c.hdr) > maxKeptHead {
		c.hdr = nil
	}
	if len(c.req.head) > maxKeptHead || cap(c.req.fields) > maxKeptFields || len(c.env) > 2*maxKeptFields {
		c.req = request{}
		c.x.Env = nil
		c.env = make(server.Env, 32)
	}
	if len(c.rbuf) == len(c.small) || c.w-c.r > len(c.small) {
		return
	}
	c.w = copy(c.small, c.rbuf[c.r:c.w])
	c.r = 0
	c.rbuf = c.small
}

// idleDeadline bounds the wait for the next request by IdleTimeout. The
// deadline is renewed only when it would otherwise come sooner than
// IdleTimeout from now, and then set an eighth later: a busy connection
// renews it once in a while instead of on every request, and an idle one
// is closed between IdleTimeout and 9/8 of it.
func (c *httpConn) idleDeadline() {
	d := c.t.opts.IdleTimeout
	now := c.now
	if now.IsZero() {
		now, _ = c.t.now()
	}
	if c.rdApplied.Before(now.Add(d)) || c.rdApplied.After(now.Add(d+d/8)) {
		c.rdWant = now.Add(d + d/8)
		return
	}
	c.rdWant = c.rdApplied
}

// findHeadEnd returns the index just past the first empty line in b, or
// -1. Lines start after from only if from > 0 (bytes before from were
// scanned already).
func findHeadEnd(b []byte, from int) int {
	for i := from; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
	return -1
}
