package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/internal/lineio"
)

// DefaultReadTimeout is Options.ReadTimeout's default: how long one message
// of a line, json or jsonrpc connection may take to arrive once it has
// started.
const DefaultReadTimeout = 30 * time.Second

// streamDefaults is withDefaults plus the defaults of the stream
// transports' own Options.
func (o Options) streamDefaults() Options {
	o = o.withDefaults()
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.BatchConcurrency <= 0 {
		o.BatchConcurrency = DefaultBatchConcurrency
	}
	return o
}

var (
	// errLineTooLong is a line over Options.MaxLineBytes.
	errLineTooLong = lineio.ErrTooLong
	// errReadTimeout ends a connection whose message did not arrive whole
	// within Options.ReadTimeout of its first byte.
	errReadTimeout = errors.New("message not complete within the read timeout")
	// errIdle ends a connection that sent nothing for Options.IdleTimeout
	// while nothing was being served.
	errIdle = errors.New("connection idle")
)

// lineLoop is the connection loop the line-framed transports (line, json,
// jsonrpc) share: it reads a connection exchange's input line by line, hands
// each line to a callback that writes its answer, and flushes the answer
// before the next line. It keeps track of its connections so that Shutdown
// can stop each after the line it is serving, and bounds how long a
// connection may stay idle and how long one line may take to arrive.
type lineLoop struct {
	max        int           // MaxLineBytes
	idle, read time.Duration // IdleTimeout, ReadTimeout

	mu       sync.Mutex
	conns    map[*readClock]struct{}
	draining bool
}

func newLineLoop(opts Options) lineLoop {
	return lineLoop{max: opts.MaxLineBytes, idle: opts.IdleTimeout, read: opts.ReadTimeout, conns: map[*readClock]struct{}{}}
}

// inLine is one line of a lineLoop's input.
type inLine struct {
	n       int           // 1-based number of the line on its connection
	text    []byte        // the line without its terminator; nil if tooLong
	tooLong bool          // the line was over the limit and was discarded
	out     *bufio.Writer // the answer goes here; the loop flushes it
	conn    net.Conn      // the connection, when the input is one
}

// lineRead is what one readLine returned.
type lineRead struct {
	text []byte
	err  error
}

// serveLines reads x's input line by line and calls serveLine for each, in
// order, until the input ends, a write fails, Shutdown or ctx stops it.
//
// When the input is a connection, the next line is read while serveLine
// runs, so a peer that resets the connection cancels the context of the
// line being served (the peer closing its side, EOF, does not: the lines
// already sent are still served and answered). A write that fails cancels
// it too: nobody can receive its answer. The connection ends when it has
// been idle (no line being served, no byte of the next one received) for
// the idle timeout, or when a line has not arrived whole within the read
// timeout of its first byte; the unfinished line is dropped unanswered.
func (l *lineLoop) serveLines(parent context.Context, x *server.Exchange, serveLine func(context.Context, *inLine)) error {
	conn, _ := x.Reader.(net.Conn)
	var clock *readClock
	if conn != nil {
		clock = &readClock{conn: conn, idle: l.idle, read: l.read, idleSince: time.Now()}
		if !l.track(clock) {
			return nil
		}
		defer l.untrack(clock)
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	br := bufio.NewReader(x.Reader)
	next := func() (lineRead, bool) {
		if parent.Err() != nil {
			return lineRead{}, false
		}
		text, err := readLine(br, l.max)
		return lineRead{text, err}, true
	}
	if conn != nil {
		lines := make(chan lineRead)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				r := clock.readMessage(br, l.max)
				if r.err != nil && !errors.Is(r.err, errLineTooLong) && !errors.Is(r.err, io.EOF) && !isDeadline(r.err) &&
					!errors.Is(r.err, errIdle) && !errors.Is(r.err, errReadTimeout) {
					cancel(r.err) // the peer is gone: stop serving it
				}
				select {
				case lines <- r:
				case <-done:
					return
				}
				if r.err != nil && !errors.Is(r.err, errLineTooLong) {
					return
				}
			}
		})
		defer func() {
			close(done)
			clock.stop() // end a read in progress
			wg.Wait()
		}()
		next = func() (lineRead, bool) {
			select {
			case r := <-lines:
				return r, true
			case <-parent.Done():
				return lineRead{}, false
			}
		}
	}
	bw := bufio.NewWriter(cancelOnError{x.Writer, cancel})
	for n := 1; ; n++ {
		r, ok := next()
		if !ok {
			return parent.Err()
		}
		in := &inLine{n: n, out: bw, conn: conn}
		switch {
		case errors.Is(r.err, errLineTooLong):
			in.tooLong = true
		case errors.Is(r.err, errIdle):
			return nil // the peer had nothing more to say
		case errors.Is(r.err, errReadTimeout):
			return fmt.Errorf("line %d: %w", n, r.err)
		case r.err != nil && (len(r.text) == 0 || !errors.Is(r.err, io.EOF)):
			// Only EOF ends a last line; a read cut by a deadline (Shutdown)
			// or a reset leaves it unfinished, and it is dropped.
			if errors.Is(r.err, io.EOF) || isDeadline(r.err) {
				return nil
			}
			return r.err
		default:
			in.text = r.text
		}
		serveLine(ctx, in)
		if err := bw.Flush(); err != nil {
			return err
		}
		if clock != nil {
			clock.answered()
		}
		if r.err != nil && !in.tooLong { // the last line had no terminator: the peer is done
			return nil
		}
	}
}

// cancelOnError is a connection's writer that cancels the exchanges
// being served when a write fails.
type cancelOnError struct {
	w      io.Writer
	cancel context.CancelCauseFunc
}

func (c cancelOnError) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil {
		c.cancel(fmt.Errorf("writing to the connection: %w", err))
	}
	return n, err
}

// readLine reads one line without its LF or CRLF. A line over max bytes is
// consumed to its end and reported as errLineTooLong.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	buf, err := lineio.ReadOrSkip(br, max+2) // +2 leaves room for the terminator
	if errors.Is(err, errLineTooLong) {
		return nil, err // at EOF too: the next read ends the connection
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	if len(buf) > max {
		return nil, errLineTooLong
	}
	return buf, err
}

func isDeadline(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readClock keeps a connection's read deadline in step with its line loop,
// as net/http does between requests:
//
//   - waiting for the first byte of a line while no line is being served:
//     the idle timeout, counted from when the last answer was sent;
//   - waiting for a first byte while a line is being served: none, so the
//     read goes on (and notices a reset at once) however long the handler
//     takes;
//   - reading a line once its first byte is there: the read timeout,
//     counted from that byte;
//   - stopped (Shutdown, or the loop has ended): in the past, for good.
type readClock struct {
	conn       net.Conn
	idle, read time.Duration

	mu        sync.Mutex
	stopped   bool
	pending   int       // lines read and not yet answered
	waiting   bool      // the reader waits for the first byte of a line
	idleSince time.Time // when pending last dropped to 0
}

// readMessage reads the next line as readLine does, within the deadlines.
// An idle connection gets errIdle, a line that takes too long
// errReadTimeout; a stopped clock gives the connection's own deadline
// error.
func (c *readClock) readMessage(br *bufio.Reader, max int) lineRead {
	for {
		c.mu.Lock()
		c.waiting = true
		c.setLocked(c.waitDeadlineLocked())
		c.mu.Unlock()
		_, err := br.Peek(1)
		if err == nil {
			break
		}
		if !isDeadline(err) {
			return lineRead{err: err}
		}
		c.mu.Lock()
		stopped, idle := c.stopped, c.pending == 0 && !time.Now().Before(c.idleSince.Add(c.idle))
		c.mu.Unlock()
		switch {
		case stopped:
			return lineRead{err: err}
		case idle:
			return lineRead{err: errIdle}
		}
		// The loop moved the deadline (a line was answered): wait on.
	}
	c.mu.Lock()
	c.waiting = false
	c.setLocked(time.Now().Add(c.read))
	c.mu.Unlock()
	text, err := readLine(br, max)
	c.mu.Lock()
	defer c.mu.Unlock()
	if isDeadline(err) && !c.stopped {
		err = fmt.Errorf("%w (%v)", errReadTimeout, c.read)
	}
	c.pending++ // handed to the loop, which answers it (or ends)
	return lineRead{text, err}
}

// answered tells the clock that the loop has sent the answer to a line.
func (c *readClock) answered() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending--
	if c.pending == 0 {
		c.idleSince = time.Now()
	}
	if c.waiting {
		c.setLocked(c.waitDeadlineLocked())
	}
}

func (c *readClock) waitDeadlineLocked() time.Time {
	if c.pending > 0 {
		return time.Time{}
	}
	return c.idleSince.Add(c.idle)
}

func (c *readClock) setLocked(t time.Time) {
	if !c.stopped {
		c.conn.SetReadDeadline(t)
	}
}

// stop ends a read in progress and every later one.
func (c *readClock) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	c.conn.SetReadDeadline(time.Now())
}

func (l *lineLoop) track(c *readClock) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.draining {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *lineLoop) untrack(c *readClock) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// Shutdown makes every connection stop after the line it is serving: reads
// waiting for the next line end at once.
func (l *lineLoop) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.draining = true
	for c := range l.conns {
		c.stop()
	}
	return nil
}
