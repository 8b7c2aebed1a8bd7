// Package metrics holds the Prometheus metrics of one app: a registry of
// its own (several apps can run in one process, as tests do), the
// per-route exchange counters that Route.Wrap keeps, and gauges and
// counters read at scrape time from the packages that count for
// themselves (server/wasm's Handler.Stats, the memory budget).
//
// Packages that produce numbers do not import Prometheus: they keep atomic
// counters and expose them as plain values; this package reads them when
// /metrics is scraped. On the exchange path the cost is a handful of
// atomic operations per exchange (Route.Wrap).
package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// namespace prefixes every metric name.
const namespace = "bubblewasm"

// Metrics are one app's metrics. A nil *Metrics is valid and counts
// nothing: its Route is nil, whose Wrap returns the handler unchanged.
type Metrics struct {
	registry  *prometheus.Registry
	durations *prometheus.HistogramVec
	inFlight  *prometheus.GaugeVec
	exchanges *exchangeCollector
}

// New returns metrics with a fresh registry holding the exchange metrics
// and the Go runtime's and the process's collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "exchange_duration_seconds",
			Help:    "Time from the route taking an exchange to its handler returning.",
			Buckets: DurationBuckets,
		}, []string{"route"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "exchanges_in_flight",
			Help: "Exchanges a route is serving now.",
		}, []string{"route"}),
		exchanges: &exchangeCollector{desc: prometheus.NewDesc(namespace+"_exchanges_total",
			"Exchanges finished, by route and status (the error's for a failed exchange, else the one the handler set; 200 by default).",
			[]string{"route", "status"}, nil)},
	}
	m.registry.MustRegister(m.durations, m.inFlight, m.exchanges,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// DurationBuckets are the upper bounds, in seconds, of the exchange
// duration histogram: from 100µs (an exchange on a reused instance takes
// tens of µs) to 30s (the default route timeout).
var DurationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Registry is where the app's metrics are registered; serve it with
// promhttp.HandlerFor. Nil for nil metrics.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.registry
}

// Counter registers a counter read from fn at every scrape, with the given
// constant labels (nil for none). Nothing happens on nil metrics. The
// error is the registry's: a name and labels registered already, say.
func (m *Metrics) Counter(name, help string, labels prometheus.Labels, fn func() float64) error {
	if m == nil {
		return nil
	}
	return m.registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: namespace, Name: name, Help: help, ConstLabels: labels}, fn))
}

// Gauge registers a gauge read from fn at every scrape, as Counter does.
func (m *Metrics) Gauge(name, help string, labels prometheus.Labels, fn func() float64) error {
	if m == nil {
		return nil
	}
	return m.registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: name, Help: help, ConstLabels: labels}, fn))
}

// exchangeCollector reports every route's exchange counts by status.
type exchangeCollector struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	routes []*Route
	byName map[string]*Route
}

// route returns the Route of name, made by newRoute on first use.
func (c *exchangeCollector) route(name string, newRoute func() *Route) *Route {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.byName[name]; r != nil {
		return r
	}
	r := newRoute()
	if c.byName == nil {
		c.byName = map[string]*Route{}
	}
	c.byName[name] = r
	c.routes = append(c.routes, r)
	return r
}

// Describe sends the one descriptor of exchanges_total.
func (c *exchangeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect sends a count for every route and status seen at least once.
func (c *exchangeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	routes := append([]*Route(nil), c.routes...)
	c.mu.Unlock()
	for _, r := range routes {
		for code := range r.statuses {
			if n := r.statuses[code].Load(); n > 0 {
				ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), r.name, statusLabel(code))
			}
		}
	}
}
