package transport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/accesslog"
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
		t.opts.Logger.Log(withRequestID(ctx, env), server.FailureLevel(ctx, err), "raw exchange failed", "listener", env[abi.EnvListener], "err", err)
		if !w.wrote {
			io.WriteString(x.Writer, errorLine(err))
		}
	}
	return err
}

// withRequestID returns ctx carrying the request id the access log gave
// the exchange of env (accesslog.WithID), for the transport's records about
// it; ctx itself when it has one or the exchange has none.
func withRequestID(ctx context.Context, env server.Env) context.Context {
	if id, ok := env[abi.EnvRequestID]; ok && accesslog.ID(ctx) == "" {
		return accesslog.WithID(ctx, id)
	}
	return ctx
}

// errorLine is how stream transports report a failed exchange to the peer.
// Details of internal failures stay in the server log.
func errorLine(err error) string {
	return "error: " + server.ErrorMessage(err) + "\n"
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
//
// A connection that has sent nothing for IdleTimeout while nothing was being
// served is closed; so is one whose line has not arrived whole within
// ReadTimeout of its first byte (a trickled line: it is not served). A
// handler may take as long as its own timeout allows: the connection is not
// idle while it runs. The json and jsonrpc transports frame and time their
// connections the same way.
func NewLine(next server.Handler, opts Options) server.Handler {
	opts = opts.streamDefaults()
	return &line{next: next, opts: opts, lineLoop: newLineLoop(opts)}
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
			t.opts.Logger.Log(withRequestID(ctx, env), server.FailureLevel(ctx, err), "line exchange failed", "listener", env[abi.EnvListener], "line", in.n, "err", err)
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

var (
	_ server.Shutdowner = (*line)(nil)
	_ server.Handler    = (*raw)(nil)
)
