package config

import (
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// Settings of the stream transports (line, json, jsonrpc): how long a
// connection may stay idle, how long one message may take to arrive, and
// the JSON-RPC batch limits, on listeners and on routes with transport =
// "jsonrpc".
const (
	// DefaultReadTimeout is how long one message of a "line", "json" or
	// "jsonrpc" listener may take to arrive once its first byte has.
	DefaultReadTimeout = transport.DefaultReadTimeout
	// DefaultMaxBatch is the most calls one JSON-RPC batch may hold.
	DefaultMaxBatch = transport.DefaultMaxBatch
	// MaxMaxBatch bounds max_batch.
	MaxMaxBatch = 100_000
	// DefaultBatchConcurrency is how many calls of one JSON-RPC batch run
	// at once.
	DefaultBatchConcurrency = transport.DefaultBatchConcurrency
	// MaxBatchConcurrency bounds max_batch_concurrency.
	MaxBatchConcurrency = 1024
)

// lineBased reports the transports that frame messages as lines.
func lineBased(transport string) bool {
	return transport == TransportLine || transport == TransportJSON || transport == TransportJSONRPC
}

// streamListener reads a listener's idle_timeout, read_timeout, max_batch
// and max_batch_concurrency, and fills in their defaults. transportOK is
// false when the transport is unknown: then only the values are checked.
func (c *checker) streamListener(t table, l *Listener, transportOK bool) {
	lines, rpc := lineBased(l.Transport), l.Transport == TransportJSONRPC
	if lines {
		l.IdleTimeout = DefaultIdleTimeout
		l.ReadTimeout = DefaultReadTimeout
	}
	if rpc {
		l.MaxBatch = DefaultMaxBatch
		l.BatchConcurrency = DefaultBatchConcurrency
	}
	if f, ok := c.get(t, "idle_timeout"); ok {
		if transportOK && !lines && l.Transport != TransportHTTP {
			c.errorf(f.path, f.line, "only valid with transport = %q, %q, %q or %q, not %q",
				TransportHTTP, TransportLine, TransportJSON, TransportJSONRPC, l.Transport)
		}
		if d, ok := c.duration(f, 1); ok && (lines || l.Transport == TransportHTTP) {
			l.IdleTimeout = d
		}
	}
	if f, ok := c.get(t, "read_timeout"); ok {
		if transportOK && !lines {
			c.errorf(f.path, f.line, "only valid with transport = %q, %q or %q, not %q",
				TransportLine, TransportJSON, TransportJSONRPC, l.Transport)
		}
		if d, ok := c.duration(f, 1); ok && lines {
			l.ReadTimeout = d
		}
	}
	jsonrpcOnly := func(f field) {
		if transportOK && !rpc {
			c.errorf(f.path, f.line, "only valid with transport = %q, not %q", TransportJSONRPC, l.Transport)
		}
	}
	if f, ok := c.get(t, "max_batch"); ok {
		jsonrpcOnly(f)
		if n, ok := c.bounded(f, 1, MaxMaxBatch); ok && rpc {
			l.MaxBatch = n
		}
	}
	if f, ok := c.get(t, "max_batch_concurrency"); ok {
		jsonrpcOnly(f)
		if n, ok := c.bounded(f, 1, MaxBatchConcurrency); ok && rpc {
			l.BatchConcurrency = n
		}
	}
}

// streamRoute reads a route's max_batch and max_batch_concurrency, valid
// with transport = "jsonrpc" only, and fills in their defaults there.
func (c *checker) streamRoute(t table, r *Route) {
	rpc := r.Transport == TransportJSONRPC
	_, hasTransport := c.get(t, "transport")
	transportOK := !hasTransport || r.Transport != "" // an unknown transport is reported already
	if rpc {
		r.MaxBatch = DefaultMaxBatch
		r.BatchConcurrency = DefaultBatchConcurrency
	}
	for _, key := range []string{"max_batch", "max_batch_concurrency"} {
		f, ok := c.get(t, key)
		if !ok {
			continue
		}
		if !rpc && transportOK {
			c.errorf(f.path, f.line, "only valid with transport = %q", TransportJSONRPC)
		}
		hi, dst := MaxMaxBatch, &r.MaxBatch
		if key == "max_batch_concurrency" {
			hi, dst = MaxBatchConcurrency, &r.BatchConcurrency
		}
		if n, ok := c.bounded(f, 1, hi); ok && rpc {
			*dst = n
		}
	}
}

// bounded reads an integer in [lo, hi].
func (c *checker) bounded(f field, lo, hi int) (int, bool) {
	n, ok := c.integer(f, int64(lo))
	if ok && n > hi {
		c.errorf(f.path, f.line, "must be at most %d, got %d", hi, n)
		return 0, false
	}
	return n, ok
}
