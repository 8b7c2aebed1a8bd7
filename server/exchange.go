package server

import (
	"context"
	"io"
	"net/http"
	"sort"
	"time"
)

// Env is the CGI-like environment of an exchange: every layer the exchange
// passed through adds its keys. abi/ENV.md lists them all.
type Env map[string]string

// Clone returns a copy that the caller may change freely.
func (e Env) Clone() Env {
	c := make(Env, len(e)+16)
	for k, v := range e {
		c[k] = v
	}
	return c
}

// Keys returns the keys in ascending order.
func (e Env) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Exchange is one unit of work bubbling up the stack: an environment, an
// input to read and an output to write. It is finished when the Handler that
// received it returns.
type Exchange struct {
	// Env is the exchange's environment. A handler that passes the exchange
	// on may add keys; it must not keep Env after it returns.
	Env Env
	// Reader is the input: a whole connection, a request body or a message.
	// io.EOF marks its end.
	Reader io.Reader
	// Writer is the output with its response metadata.
	Writer ResponseWriter
}

// ResponseWriter is an exchange's output. Status and headers are metadata
// that the first Write or Flush commits; transports without metadata (raw,
// line) accept and ignore them.
type ResponseWriter interface {
	io.Writer
	// Header returns the header map that the first Write commits. Changing
	// it afterwards has no effect.
	Header() http.Header
	// SetStatus sets the status that the first Write commits (default 200).
	// It returns false once the metadata is committed.
	SetStatus(code int) bool
	// Committed reports whether the metadata has been sent.
	Committed() bool
	// Flush commits the metadata and sends buffered output to the peer.
	Flush() error
}

// A SentReporter is a ResponseWriter that holds output back (the HTTP
// transport keeps up to 8 KiB until a flush) and can tell whether any of
// its response reached the peer. Until then a failure still replaces the
// response with an error response, so the status the peer gets is the
// failure's, not the one the handler set.
type SentReporter interface {
	// Sent reports whether part of the response went to the peer.
	Sent() bool
}

// Handler serves exchanges. Transports, the router and wasm handlers are all
// Handlers: a transport is a handler of the layer below it, turning one
// exchange (a connection) into many (requests, lines, messages) for the
// handler above it.
//
// Serve returns when the exchange is finished. A non-nil error means the
// exchange failed; the layer below reports it the way its protocol can (an
// HTTP status, an error line, a closed connection). StatusOf maps errors to
// HTTP statuses. Serve must stop early when ctx is done.
type Handler interface {
	Serve(ctx context.Context, x *Exchange) error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, x *Exchange) error

// Serve calls f(ctx, x).
func (f HandlerFunc) Serve(ctx context.Context, x *Exchange) error { return f(ctx, x) }

// discardMeta is a ResponseWriter for outputs that carry no metadata: it
// writes straight through and keeps status and headers only to ignore them.
type discardMeta struct {
	w         io.Writer
	header    http.Header
	committed bool
}

// NewStreamWriter returns a ResponseWriter over w for transports that carry
// no status or headers. Flush calls w's Flush method when it has one.
func NewStreamWriter(w io.Writer) ResponseWriter {
	return &discardMeta{w: w}
}

func (d *discardMeta) Write(p []byte) (int, error) {
	d.committed = true
	return d.w.Write(p)
}

func (d *discardMeta) Header() http.Header {
	if d.header == nil {
		d.header = http.Header{}
	}
	return d.header
}

func (d *discardMeta) SetStatus(int) bool { return !d.committed }

func (d *discardMeta) Committed() bool { return d.committed }

func (d *discardMeta) Flush() error {
	d.committed = true
	if f, ok := d.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// ReadDeadliner is implemented by a ResponseWriter whose exchange input is
// read from the network, so a handler's timeout also ends a blocked read.
type ReadDeadliner interface {
	SetReadDeadline(t time.Time) error
}

// WriteDeadliner is implemented by a ResponseWriter whose output goes to the
// network, so a handler's timeout also ends a write blocked on a peer that
// does not read.
type WriteDeadliner interface {
	SetWriteDeadline(t time.Time) error
}
