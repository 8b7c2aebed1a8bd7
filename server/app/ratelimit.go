package app

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/internal/metrics"
)

// Per-route request-rate limits (route keys rate_limit and rate_burst):
// one token bucket per route (golang.org/x/time/rate), shared by every
// listener the route serves, in front of its handler, so that it refuses
// what is over the rate before any instance, gate or memory is spent on
// it. A reload keeps a route's bucket, and so what its clients have used,
// when its limit does not change.

// rateLimiters are an app's buckets by route name, kept across reloads.
type rateLimiters struct {
	mu     sync.Mutex
	byName map[string]*routeLimiter
}

// routeLimiter is one route's bucket.
type routeLimiter struct {
	limit  config.RateLimit
	bucket *rate.Limiter
}

// get returns the bucket of the named route for limit: the one it had
// when the limit is the same, else a new one, full.
func (r *rateLimiters) get(name string, limit config.RateLimit) *routeLimiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.byName[name]; l != nil && l.limit == limit {
		return l
	}
	l := &routeLimiter{limit: limit, bucket: rate.NewLimiter(rate.Limit(limit.PerSecond), max(1, limit.Burst))}
	if r.byName == nil {
		r.byName = map[string]*routeLimiter{}
	}
	r.byName[name] = l
	return l
}

// rateLimitedHandler refuses the exchanges over its route's rate. It
// counts its own refusals: after a reload, the old handler and the new
// one share a bucket, and the metrics sum their counts.
type rateLimitedHandler struct {
	route   string
	limiter *routeLimiter
	next    server.Handler
	refused atomic.Uint64
}

// Serve passes x on when the bucket has a token; otherwise it refuses it
// with server.ErrRateLimited, saying when the next token comes. The
// refusal takes no token: a client that keeps knocking does not push the
// others' turn further away.
func (h *rateLimitedHandler) Serve(ctx context.Context, x *server.Exchange) error {
	now := time.Now()
	res := h.limiter.bucket.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	if res.OK() && wait == 0 {
		return h.next.Serve(ctx, x)
	}
	res.CancelAt(now)
	if !res.OK() || wait == rate.InfDuration {
		wait = time.Duration(math.MaxInt32) * time.Second
	}
	h.refused.Add(1)
	return &server.RetryLaterError{
		Err:   fmt.Errorf("%w: route %s is over its rate_limit of %g requests per second", server.ErrRateLimited, h.route, h.limiter.limit.PerSecond),
		After: wait,
	}
}

// limitRate puts rt behind its rate limit, when it has one, and counts
// what the limit refuses (rate_limited_total, by route).
func (a *App) limitRate(set *routeSet, rt server.Route, limit config.RateLimit) (server.Route, error) {
	if !limit.Limited() {
		return rt, nil
	}
	h := &rateLimitedHandler{route: rt.Name, limiter: a.rateLimiters.get(rt.Name, limit), next: rt.Handler}
	rt.Handler = h
	if a.metrics == nil {
		return rt, nil
	}
	uncount, err := a.counts.add(a.metrics, "rate limit "+rt.Name, map[string]string{"route": rt.Name}, h,
		func() []float64 { return []float64{float64(h.refused.Load())} }, rateLimitedValue)
	if err == nil {
		set.keepUncount(uncount)
	}
	return rt, err
}

// rateLimitedValue counts the exchanges a route's rate_limit refused.
var rateLimitedValue = metrics.Value{Name: "rate_limited_total", Help: "Exchanges the route's rate_limit refused (429).", Counter: true}
