package config

import (
	"fmt"
	"math"
)

// The [limits] key route_share: how much of each process-wide limit one
// route may hold (the wasmtime gate's places, the memory budget, [pubsub]
// max_subscriptions), so that a busy or misbehaving route leaves the
// others room. Over its share a route is refused as when the shared limit
// is full: 503 with Retry-After for the gate and the memory budget,
// ERR_FULL for subscriptions.

const (
	// DefaultRouteShare is three quarters: what the wasmtime gate always
	// left one route, so the default changes nothing there, and a quarter
	// of every shared limit stays for the other routes.
	DefaultRouteShare = 0.75
	// MinRouteShare is the smallest route_share accepted: below it a
	// route's share of a default limit would round to nothing useful.
	MinRouteShare = 0.01
)

// routeShare reads [limits] route_share.
func (c *checker) routeShare(t table, cfg *Config) {
	f, ok := c.get(t, "route_share")
	if !ok {
		return
	}
	v, ok := c.number(f, fmt.Sprintf("a number from %g to 1 (a fraction of each shared limit)", MinRouteShare))
	if !ok {
		return
	}
	if math.IsNaN(v) || v < MinRouteShare || v > 1 {
		c.errorf(f.path, f.line, "must be from %g to 1 (a fraction of each shared limit), got %v", MinRouteShare, v)
		return
	}
	cfg.Limits.RouteShare = v
}

// Share is the route share of l: RouteShare, or DefaultRouteShare.
func (l Limits) Share() float64 {
	if l.RouteShare <= 0 {
		return DefaultRouteShare
	}
	return l.RouteShare
}
