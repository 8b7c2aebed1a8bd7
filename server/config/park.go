package config

import "github.com/bubblewasm/bubblewasm/server/wasm"

// The route key max_waiting: how many of a route's exchanges may be parked
// at once (bubblewasm_park_v1 in abi/ABI.md). A parked exchange holds no
// instance, only its connection and a few kilobytes of host memory, so the
// bound is far above max_concurrency.

const (
	// DefaultMaxWaiting is a route's max_waiting: room for 10,000 long
	// polls at once.
	DefaultMaxWaiting = wasm.DefaultMaxWaiting
	// MaxMaxWaiting is the largest max_waiting accepted.
	MaxMaxWaiting = 1 << 20
)

// routeWaiting reads a route's max_waiting; left 0 when absent (the
// server's default, DefaultMaxWaiting).
func (c *checker) routeWaiting(t table, r *Route) {
	f, ok := c.get(t, "max_waiting")
	if !ok {
		return
	}
	n, ok := c.integer(f, 1)
	switch {
	case !ok:
	case n > MaxMaxWaiting:
		c.errorf(f.path, f.line, "must be at most %d, got %d", MaxMaxWaiting, n)
	default:
		r.MaxWaiting = n
	}
}
