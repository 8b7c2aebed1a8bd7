package transport

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
)

// Options are the listener-level settings a transport may use. Zero values
// mean the documented defaults.
type Options struct {
	// Logger receives the transport's own records; nil discards them.
	Logger *slog.Logger
	// MaxLineBytes caps one line of the line transport (default 64 KiB).
	MaxLineBytes int
	// ReadHeaderTimeout bounds reading an HTTP request's line and headers
	// from their first byte, and a new connection's wait for its first
	// request (default 10s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle HTTP keep-alive connections (after between
	// IdleTimeout and 9/8 of it: the deadline is renewed only now and
	// then), and connections of the line, json and jsonrpc transports that
	// wait this long for the first byte of their next message with nothing
	// being served (default 120s).
	IdleTimeout time.Duration
	// MaxHeaderBytes caps an HTTP request's line and headers with their
	// CRLFs, exactly (default 64 KiB); a longer head is answered 431.
	MaxHeaderBytes int
	// MaxBodyBytes caps an HTTP request body; 0 means no cap.
	MaxBodyBytes int64
	// DrainTimeout bounds how long the HTTP transport reads away a request
	// body its handler left unread, to keep the connection for the next
	// request (default 2s); past it, or past 256 KiB, the connection closes
	// after the response.
	DrainTimeout time.Duration
	// Methods are request methods that routes name exactly and that the
	// HTTP transport refuses otherwise: CONNECT and PRI.
	Methods []string

	// HTTP/2 on the http transport (http2.go).

	// DisableHTTP2 turns HTTP/2 off on TLS connections: ALPN then offers
	// http/1.1 only (the app sets the TLS side; this refuses "h2").
	DisableHTTP2 bool
	// H2C serves cleartext HTTP/2: a connection that opens with the
	// HTTP/2 preface (prior knowledge) or a request with Upgrade: h2c.
	H2C bool
	// MaxConcurrentStreams caps the streams (requests) an HTTP/2
	// connection runs at once (default DefaultMaxConcurrentStreams).
	MaxConcurrentStreams int

	// Stream transports (line, json, jsonrpc): see stream.go and jsonrpc.go.

	// ReadTimeout bounds how long one message (a line) of the line, json
	// and jsonrpc transports may take to arrive once its first byte has
	// (default DefaultReadTimeout); a message still incomplete then ends the
	// connection unanswered.
	ReadTimeout time.Duration
	// MaxBatch caps the calls of one JSON-RPC batch (default
	// DefaultMaxBatch); a longer batch is answered with one Invalid Request
	// error and none of its calls runs.
	MaxBatch int
	// BatchConcurrency caps the calls of one JSON-RPC batch that run at
	// once (default DefaultBatchConcurrency).
	BatchConcurrency int
}

// Defaults for Options, and for the listener settings of the configuration
// (server/config refers to these).
const (
	// DefaultMaxLineBytes is the longest line a line-based transport accepts.
	DefaultMaxLineBytes = 64 << 10
	// DefaultReadHeaderTimeout is how long "http" waits for request headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout is how long a connection may wait for its next
	// request or message.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxHeaderBytes is the largest request header block of "http".
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultDrainTimeout bounds reading away a request body the handler
	// left unread.
	DefaultDrainTimeout = 2 * time.Second
	// DefaultMaxConcurrentStreams caps the streams an HTTP/2 connection
	// runs at once: the least RFC 9113 §5.1.2 recommends a peer allow.
	DefaultMaxConcurrentStreams = 100
)

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.MaxConcurrentStreams <= 0 {
		o.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	return o
}

// Factory builds a transport that serves connection exchanges by producing
// exchanges for next.
type Factory func(next server.Handler, opts Options) server.Handler

// Registry maps transport names to factories.
type Registry map[string]Factory

// Default returns a registry with every built-in transport.
func Default() Registry {
	return Registry{"raw": NewRaw, "line": NewLine, "http": NewHTTP, "json": NewJSON, "jsonrpc": NewJSONRPC}
}

// Names returns the registered names, sorted.
func (r Registry) Names() []string {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds the named transport over next.
func (r Registry) New(name string, next server.Handler, opts Options) (server.Handler, error) {
	f, ok := r[name]
	if !ok {
		return nil, fmt.Errorf("unknown transport %q (have %s)", name, strings.Join(r.Names(), ", "))
	}
	return f(next, opts.withDefaults()), nil
}
