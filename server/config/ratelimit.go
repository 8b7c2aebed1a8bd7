package config

import "math"

// The route keys rate_limit and rate_burst: a token bucket that bounds the
// requests one route accepts per second, so that a busy or misbehaving
// client of one route cannot take the whole node from the others. Requests
// over the limit are refused at once (HTTP 429 with Retry-After).

const (
	// MaxRateLimit is the largest rate_limit accepted, in requests per
	// second: far above what one node serves.
	MaxRateLimit = 1e9
	// MaxRateBurst is the largest rate_burst accepted.
	MaxRateBurst = 1 << 30
)

// RateLimit is a route's request-rate limit.
type RateLimit struct {
	// PerSecond is the sustained rate, in requests per second (fractions
	// allowed: 0.5 is one request every two seconds); 0 means unlimited.
	PerSecond float64
	// Burst is how many requests may arrive at once after a quiet spell:
	// the bucket's size. With PerSecond set it is at least 1; it defaults
	// to PerSecond rounded up.
	Burst int
}

// Limited reports whether the route has a rate limit.
func (r RateLimit) Limited() bool { return r.PerSecond > 0 }

// routeRateLimit reads a route's rate_limit and rate_burst.
func (c *checker) routeRateLimit(t table, r *Route) {
	if f, ok := c.get(t, "rate_limit"); ok {
		v, ok := c.number(f, "a number of requests per second")
		if !ok {
			return
		}
		switch {
		case math.IsNaN(v) || v < 0:
			c.errorf(f.path, f.line, "must be at least 0 (0 is unlimited), got %v", v)
			return
		case v > MaxRateLimit:
			c.errorf(f.path, f.line, "must be at most %g requests per second, got %g", float64(MaxRateLimit), v)
			return
		}
		r.RateLimit.PerSecond = v
	}
	f, ok := c.get(t, "rate_burst")
	if !ok {
		if r.RateLimit.Limited() {
			r.RateLimit.Burst = max(1, int(math.Ceil(min(r.RateLimit.PerSecond, MaxRateBurst))))
		}
		return
	}
	if !r.RateLimit.Limited() {
		c.errorf(f.path, f.line, "only valid with rate_limit above 0")
		return
	}
	if n, ok := c.bounded(f, 1, MaxRateBurst); ok {
		r.RateLimit.Burst = n
	}
}

// number reads an integer or a float; what names it in the error ("a
// number of requests per second").
func (c *checker) number(f field, what string) (float64, bool) {
	switch n := f.v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	c.errorf(f.path, f.line, "must be %s, not %s", what, typeName(f.v))
	return 0, false
}
