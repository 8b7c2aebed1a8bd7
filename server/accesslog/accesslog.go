package accesslog

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// Message is the message of every access record.
const Message = "exchange"

// headerRequestID is the HTTP header that carries the request id.
const headerRequestID = "X-Request-Id"

// Log is a server.Handler that gives each exchange a request id, serves it
// with the next handler, and logs it once it ends.
type Log struct {
	next   server.Handler
	logger *slog.Logger
}

// New returns a handler that serves exchanges with next and logs each one
// to logger; a nil logger logs nothing but the exchanges still get their
// request ids.
func New(next server.Handler, logger *slog.Logger) *Log {
	return &Log{next: next, logger: logger}
}

// Serve serves x with the next handler and logs it.
func (l *Log) Serve(ctx context.Context, x *server.Exchange) error {
	start := time.Now()
	env := x.Env
	transport := env[abi.EnvTransport]
	id, ok := env["HTTP_X_REQUEST_ID"]
	if !ok || !ValidID(id) {
		id = NewID()
	}
	env[abi.EnvRequestID] = id
	if transport == "http" {
		x.Writer.Header().Set(headerRequestID, id)
	}
	// The router rewrites PATH_INFO under a prefix route: keep the path
	// the request named.
	method, path := env[abi.EnvRequestMethod], env[abi.EnvPathInfo]
	m, w := newMeter(x)
	err := l.next.Serve(WithID(ctx, id), &server.Exchange{Env: env, Reader: m.input(), Writer: w})
	if l.logger == nil {
		return err
	}
	status := m.status
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		// Its client went away, or the server stopped it, before it
		// ended: whatever it wrote last, nobody got it whole. (A long
		// poll answers an empty result when its client leaves.)
		status = server.StatusClientClosed
	case err != nil && (transport != "http" || !sent(x.Writer)):
		// An HTTP response that began keeps its status: the connection is
		// cut. One still held back is replaced by the failure's error
		// response. Other transports report the failure in their own way.
		status = server.StatusOf(err)
	case status == 0:
		status = http.StatusOK
	}
	level := levelOf(status)
	if !l.logger.Enabled(ctx, level) {
		return err
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("listener", env[abi.EnvListener]),
		slog.String("transport", transport),
		slog.String("route", env[abi.EnvRoute]))
	attrs = appendKind(attrs, env, transport, method, path)
	attrs = append(attrs,
		slog.Int("status", status),
		slog.Int64("bytes_in", bytesIn(env, m.in)),
		slog.Int64("bytes_out", m.out),
		slog.Duration("duration", time.Since(start).Round(time.Microsecond)),
		slog.String(IDKey, id))
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	l.logger.LogAttrs(ctx, level, Message, attrs...)
	return err
}

// bytesIn is the size of the exchange's input: what its handler read, or
// its CONTENT_LENGTH when that is more (a line the handler did not read, a
// request body the transport read away or left unread).
func bytesIn(env server.Env, read int64) int64 {
	if s, ok := env[abi.EnvContentLength]; ok {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > read {
			return n
		}
	}
	return read
}

// appendKind appends what the exchange was: an HTTP request's method and
// path, a JSON-RPC call's method, a message's number on its connection, an
// AMQP delivery's queue.
func appendKind(attrs []slog.Attr, env server.Env, transport, method, path string) []slog.Attr {
	switch transport {
	case "http":
		return append(attrs, slog.String("method", method), slog.String("path", path))
	case "jsonrpc":
		return append(attrs, slog.String("method", env[abi.EnvJSONRPCMethod]))
	case "line":
		return append(attrs, slog.String("line", env[abi.EnvLineNumber]))
	case "json":
		return append(attrs, slog.String("index", env[abi.EnvJSONIndex]))
	case "amqp":
		return append(attrs, slog.String("queue", env["amqp.queue"])) // amqp.EnvQueue
	}
	return attrs
}

// levelOf is the level of an exchange's record: INFO unless the server
// failed it (5xx): WARN when it was overloaded or out of time (503, 504),
// ERROR otherwise. A 499 (the client went away) is INFO.
func levelOf(status int) slog.Level {
	switch {
	case status < 500:
		return slog.LevelInfo
	case status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		return slog.LevelWarn
	}
	return slog.LevelError
}

var _ server.Handler = (*Log)(nil)

// sent reports whether part of w's response reached the peer: what w says
// when it can tell (server.SentReporter), else whether it committed.
func sent(w server.ResponseWriter) bool {
	if s, ok := w.(server.SentReporter); ok {
		return s.Sent()
	}
	return w.Committed()
}
