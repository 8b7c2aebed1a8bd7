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
	msg := "handler failed"
	switch code := server.StatusOf(err); {
	case errors.Is(err, server.ErrNoRoute), errors.Is(err, server.ErrTooLarge), errors.Is(err, server.ErrBadRequest):
		msg = err.Error()
	case code == 504:
		msg = "handler timed out"
	case code == 503:
		msg = "handler overloaded"
	}
	return "error: " + strings.ReplaceAll(msg, "\n", " ") + "\n"
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

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	draining bool
}

// NewLine returns the line transport. Each line (LF or CRLF terminated, the
// terminator removed) is one exchange whose input is the line. The output is
// sent back in order, followed by "\n" unless it already ends with one; an
// exchange that writes nothing sends nothing. A failed exchange sends
// "error: MESSAGE\n". A line longer than MaxLineBytes is discarded up to its
// end and answered with an error line; the connection goes on.
func NewLine(next server.Handler, opts Options) server.Handler {
	return &line{next: next, opts: opts.withDefaults(), conns: map[net.Conn]struct{}{}}
}

var errLineTooLong = errors.New("line too long")

func (t *line) Serve(ctx context.Context, x *server.Exchange) error {
	if c, ok := x.Reader.(net.Conn); ok {
		if !t.track(c) {
			return nil
		}
		defer t.untrack(c)
	}
	br := bufio.NewReader(x.Reader)
	bw := bufio.NewWriter(x.Writer)
	for n := 1; ctx.Err() == nil; n++ {
		text, err := readLine(br, t.opts.MaxLineBytes)
		if errors.Is(err, errLineTooLong) {
			fmt.Fprintf(bw, "error: line %d too long (limit %d bytes)\n", n, t.opts.MaxLineBytes)
			if err := bw.Flush(); err != nil {
				return err
			}
			continue
		}
		// Only EOF ends a last line; a read cut by a deadline (Shutdown) or a
		// reset leaves it unfinished, and it is dropped.
		if err != nil && (len(text) == 0 || !errors.Is(err, io.EOF)) {
			if errors.Is(err, io.EOF) || isDeadline(err) {
				return nil
			}
			return err
		}
		env := x.Env.Clone()
		env[abi.EnvTransport] = "line"
		env[abi.EnvLineNumber] = strconv.Itoa(n)
		env[abi.EnvContentLength] = strconv.Itoa(len(text))
		w := &trackingWriter{w: server.NewStreamWriter(bw)}
		var out server.ResponseWriter = w
		if c, ok := x.Reader.(net.Conn); ok {
			out = &lineWriter{w, c}
		}
		if herr := t.next.Serve(ctx, &server.Exchange{Env: env, Reader: bytes.NewReader(text), Writer: out}); herr != nil {
			t.opts.Logger.Warn("line exchange failed", "listener", env[abi.EnvListener], "line", n, "err", herr)
			if w.wrote && w.last != '\n' {
				bw.WriteByte('\n')
			}
			bw.WriteString(errorLine(herr))
		} else if w.wrote && w.last != '\n' {
			bw.WriteByte('\n')
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if err != nil { // the last line had no terminator: the peer is done
			return nil
		}
	}
	return ctx.Err()
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

func (t *line) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *line) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// Shutdown makes every connection stop after the line it is serving: reads
// waiting for the next line end at once.
func (t *line) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.draining = true
	for c := range t.conns {
		c.SetReadDeadline(time.Now())
	}
	return nil
}

var (
	_ server.Shutdowner = (*line)(nil)
	_ server.Handler    = (*raw)(nil)
)
