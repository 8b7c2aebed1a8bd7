package config

import "github.com/bubblewasm/bubblewasm/server/wasm"

// The route keys queue and queue_timeout: how many exchanges may wait for
// one of a route's max_concurrency slots, and for how long, before they
// are refused as overloaded (503 with Retry-After; server/wasm/queue.go).

const (
	// DefaultQueue is a route's queue when the file sets none.
	DefaultQueue = wasm.DefaultQueue
	// MaxQueue is the largest queue accepted.
	MaxQueue = 1 << 20
	// NoQueue is Route.Queue for queue = 0: no exchange waits for a slot.
	NoQueue = wasm.NoQueue
	// DefaultQueueTimeout is a route's queue_timeout when the file sets
	// none, shortened to half the route's timeout when that is less.
	DefaultQueueTimeout = wasm.DefaultQueueTimeout
)

// routeQueue reads a route's queue and queue_timeout, valid on module
// routes only; each is left 0 when absent (the server's default).
func (c *checker) routeQueue(t table, r *Route) {
	_, hasModule := c.get(t, "module")
	moduleOnly := func(f field) bool {
		if !hasModule {
			c.errorf(f.path, f.line, "only valid on a route with a module")
			return false
		}
		return true
	}
	if f, ok := c.get(t, "queue"); ok && moduleOnly(f) {
		if n, ok := c.bounded(f, 0, MaxQueue); ok {
			r.Queue = n
			if n == 0 {
				r.Queue = NoQueue
			}
		}
	}
	if f, ok := c.get(t, "queue_timeout"); ok && moduleOnly(f) {
		d, ok := c.duration(f, 1)
		switch {
		case !ok:
		case d > r.Timeout:
			c.errorf(f.path, f.line, "must not exceed the route's timeout %s, got %s", r.Timeout, d)
		default:
			r.QueueTimeout = d
		}
	}
}
