package metrics

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bubblewasm/bubblewasm/server"
)

// Unrouted is the route label of exchanges that no route matched (route
// names cannot contain parentheses).
const Unrouted = "(none)"

// maxStatus bounds the statuses counted one by one; any other is counted
// as status "other".
const maxStatus = 999

// Route is the exchange metrics of one route, bound to its name once so
// that counting an exchange looks nothing up.
type Route struct {
	name     string
	duration prometheus.Observer
	inFlight prometheus.Gauge
	statuses [maxStatus + 1]atomic.Uint64 // index 0: other
}

// Route returns the metrics of the named route; nil for nil metrics. A
// name gives the same Route every time: a route that a reload makes anew
// keeps counting where it was (and a registry takes a name's series once).
func (m *Metrics) Route(name string) *Route {
	if m == nil {
		return nil
	}
	return m.exchanges.route(name, func() *Route {
		return &Route{name: name, duration: m.durations.WithLabelValues(name), inFlight: m.inFlight.WithLabelValues(name)}
	})
}

// Wrap returns h counting its exchanges: in flight while h runs, then
// finished by status, with their duration. A nil Route returns h.
func (r *Route) Wrap(h server.Handler) server.Handler {
	if r == nil {
		return h
	}
	return &exchangeCounter{route: r, next: h}
}

// exchangeCounter is a handler that counts the exchanges it passes on.
type exchangeCounter struct {
	route *Route
	next  server.Handler
}

// counted is an exchange as the next handler sees it: the same, with a
// writer that remembers the status set. One allocation holds both.
type counted struct {
	x server.Exchange
	w statusWriter
}

// Serve passes x on and counts it.
func (c *exchangeCounter) Serve(ctx context.Context, x *server.Exchange) error {
	r := c.route
	start := time.Now()
	r.inFlight.Inc()
	e := &counted{x: *x, w: statusWriter{ResponseWriter: x.Writer, status: 200}}
	e.x.Writer = &e.w
	err := c.next.Serve(ctx, &e.x)
	r.inFlight.Dec()
	r.duration.Observe(time.Since(start).Seconds())
	status := e.w.status
	if err != nil {
		status = server.StatusOf(err)
	}
	r.count(status)
	return err
}

// count adds one exchange finished with status.
func (r *Route) count(status int) {
	if status < 0 || status > maxStatus {
		status = 0
	}
	r.statuses[status].Add(1)
}

// Count adds one exchange finished with the status that reports err (nil:
// 200), for exchanges counted without Wrap (those no route matched).
func (r *Route) Count(err error) {
	if r == nil {
		return
	}
	status := 200
	if err != nil {
		status = server.StatusOf(err)
	}
	r.count(status)
}

func statusLabel(code int) string {
	if code == 0 {
		return "other"
	}
	return strconv.Itoa(code)
}

// statusWriter remembers the status a handler sets. It keeps the
// optional deadlines of the writer it wraps: without them, setting one
// does nothing.
type statusWriter struct {
	server.ResponseWriter
	status int
}

func (w *statusWriter) SetStatus(code int) bool {
	ok := w.ResponseWriter.SetStatus(code)
	if ok {
		w.status = code
	}
	return ok
}

// Unwrap returns the wrapped writer, for server.Hijack.
func (w *statusWriter) Unwrap() server.ResponseWriter { return w.ResponseWriter }

// SetReadDeadline sets the wrapped writer's read deadline, if it has one.
func (w *statusWriter) SetReadDeadline(t time.Time) error {
	if d, ok := w.ResponseWriter.(server.ReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}

// SetWriteDeadline sets the wrapped writer's write deadline, if it has one.
func (w *statusWriter) SetWriteDeadline(t time.Time) error {
	if d, ok := w.ResponseWriter.(server.WriteDeadliner); ok {
		return d.SetWriteDeadline(t)
	}
	return nil
}
