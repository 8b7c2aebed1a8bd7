package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// raw serves a whole connection as one exchange.
type raw struct {
	next server.Handler
	opts Options
}

// NewRaw returns the raw transport: the connection is one exchange, read
// streams its bytes and write sends bytes back unframed. If the exchange
// fails before it wrote anything, one line "error: MESSAGE" is sent.
func NewRaw(next server.Handler, opts Options) server.Handler {
	return &raw{next: next, opts: opts.withDefaults()}
}

func (t *raw) Serve(ctx context.Context, x *server.Exchange) error {
	env := x.Env.Clone()
	env[abi.EnvTransport] = "raw"
	w := &trackingWriter{w: x.Writer}
	var out server.ResponseWriter = w
	if c, ok := x.Reader.(net.Conn); ok {
		out = &connWriter{w, c}
	}
	err := t.next.Serve(ctx, &server.Exchange{Env: env, Reader: x.Reader, Writer: out})
	if err != nil {
		t.opts.Logger.Warn("raw exchange failed", "listener", env[abi.EnvListener], "err", err)
		if !w.wrote {
			io.WriteString(x.Writer, errorLine(err))
		}
	}
	return err
}

// errorLine is how stream transports report a failed exchange to the peer.
// Details of internal failures stay in the server log.
func errorLine(err error) string {
	return "error: " + errorMessage(err) + "\n"
}

// errorMessage is the one-line message a failed exchange is reported with:
// the error's text for the client's own mistakes (no route, bad or too large
// input), a generic phrase otherwise.
func errorMessage(err error) string {
	msg := "handler failed"
	switch code := server.StatusOf(err); {
	case errors.Is(err, server.ErrNoRoute), errors.Is(err, server.ErrTooLarge), errors.Is(err, server.ErrBadRequest):
		msg = err.Error()
	case code == 504:
		msg = "handler timed out"
	case code == 503:
		msg = "handler overloaded"
	}
	return strings.ReplaceAll(msg, "\n", " ")
}

// trackingWriter is a ResponseWriter that remembers whether and what was
// written, for framing decisions.
type trackingWriter struct {
	w     server.ResponseWriter
	wrote bool
	last  byte
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		t.wrote = true
		t.last = p[len(p)-1]
	}
	return t.w.Write(p)
}

func (t *trackingWriter) Header() http.Header     { return t.w.Header() }
func (t *trackingWriter) SetStatus(code int) bool { return t.w.SetStatus(code) }
func (t *trackingWriter) Committed() bool         { return t.w.Committed() }
func (t *trackingWriter) Flush() error            { return t.w.Flush() }

// connWriter lets a handler's timeout bound reads from and writes to the
// connection.
type connWriter struct {
	*trackingWriter
	conn net.Conn
}

func (c *connWriter) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *connWriter) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// lineWriter lets a handler's timeout bound writes to the connection. It has
// no read deadline: a line's input is already in memory, and the connection's
// read deadline belongs to the transport (Shutdown uses it).
type lineWriter struct {
	*trackingWriter
	conn net.Conn
}

func (c *lineWriter) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// line serves each line of a connection as one exchange.
type line struct {
	next server.Handler
	opts Options
	lineLoop
}

// NewLine returns the line transport. Each line (LF or CRLF terminated, the
// terminator removed) is one exchange whose input is the line. The output is
// sent back in order, followed by "\n" unless it already ends with one; an
// exchange that writes nothing sends nothing. A failed exchange sends
// "error: MESSAGE\n". A line longer than MaxLineBytes is discarded up to its
// end and answered with an error line; the connection goes on.
func NewLine(next server.Handler, opts Options) server.Handler {
	opts = opts.withDefaults()
	return &line{next: next, opts: opts, lineLoop: newLineLoop(opts.MaxLineBytes)}
}

func (t *line) Serve(ctx context.Context, x *server.Exchange) error {
	return t.serveLines(ctx, x, func(ctx context.Context, in *inLine) {
		if in.tooLong {
			fmt.Fprintf(in.out, "error: line %d too long (limit %d bytes)\n", in.n, t.opts.MaxLineBytes)
			return
		}
		env := x.Env.Clone()
		env[abi.EnvTransport] = "line"
		env[abi.EnvLineNumber] = strconv.Itoa(in.n)
		env[abi.EnvContentLength] = strconv.Itoa(len(in.text))
		if err := serveFramed(ctx, t.next, env, in.text, in); err != nil {
			t.opts.Logger.Warn("line exchange failed", "listener", env[abi.EnvListener], "line", in.n, "err", err)
			in.out.WriteString(errorLine(err))
		}
	})
}

// serveFramed serves one exchange of a line-framed transport whose input is
// input: the output goes to in.out, followed by "\n" unless it is empty or
// already ends with one, so that whatever the caller writes next (an error
// report) starts a line of its own. It returns next's error.
func serveFramed(ctx context.Context, next server.Handler, env server.Env, input []byte, in *inLine) error {
	w := &trackingWriter{w: server.NewStreamWriter(in.out)}
	var out server.ResponseWriter = w
	if in.conn != nil {
		out = &lineWriter{w, in.conn}
	}
	err := next.Serve(ctx, &server.Exchange{Env: env, Reader: bytes.NewReader(input), Writer: out})
	if w.wrote && w.last != '\n' {
		in.out.WriteByte('\n')
	}
	return err
}

var errLineTooLong = errors.New("line too long")

// lineLoop is the connection loop the line-framed transports (line, json,
// jsonrpc) share: it reads a connection exchange's input line by line, hands
// each line to a callback that writes its answer, and flushes the answer
// before the next line. It keeps track of its connections so that Shutdown
// can stop each after the line it is serving.
type lineLoop struct {
	max int // MaxLineBytes

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	draining bool
}

func newLineLoop(max int) lineLoop {
	return lineLoop{max: max, conns: map[net.Conn]struct{}{}}
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
// already sent are still served and answered).
func (l *lineLoop) serveLines(parent context.Context, x *server.Exchange, serveLine func(context.Context, *inLine)) error {
	conn, _ := x.Reader.(net.Conn)
	if conn != nil {
		if !l.track(conn) {
			return nil
		}
		defer l.untrack(conn)
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	br := bufio.NewReader(x.Reader)
	read := func() lineRead {
		text, err := readLine(br, l.max)
		return lineRead{text, err}
	}
	next := func() (lineRead, bool) {
		if parent.Err() != nil {
			return lineRead{}, false
		}
		return read(), true
	}
	if conn != nil {
		lines := make(chan lineRead)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				r := read()
				if r.err != nil && !errors.Is(r.err, errLineTooLong) && !errors.Is(r.err, io.EOF) && !isDeadline(r.err) {
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
			conn.SetReadDeadline(time.Now()) // end a read in progress
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
	bw := bufio.NewWriter(x.Writer)
	for n := 1; ; n++ {
		r, ok := next()
		if !ok {
			return parent.Err()
		}
		in := &inLine{n: n, out: bw, conn: conn}
		switch {
		case errors.Is(r.err, errLineTooLong):
			in.tooLong = true
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
		if r.err != nil && !in.tooLong { // the last line had no terminator: the peer is done
			return nil
		}
	}
}

// readLine reads one line without its LF or CRLF. A line over max bytes is
// consumed to its end and reported as errLineTooLong.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > max+2 { // +2 leaves room for the terminator
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, errLineTooLong // at EOF too: the next read ends the connection
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		if len(buf) > max {
			return nil, errLineTooLong
		}
		return buf, err
	}
}

func isDeadline(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (l *lineLoop) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.draining {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *lineLoop) untrack(c net.Conn) {
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
		c.SetReadDeadline(time.Now())
	}
	return nil
}

var (
	_ server.Shutdowner = (*line)(nil)
	_ server.Handler    = (*raw)(nil)
)
