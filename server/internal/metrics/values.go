package metrics

import "github.com/prometheus/client_golang/prometheus"

// Value describes one metric of a group that Values registers.
type Value struct {
	Name, Help string
	// Counter makes it a counter; otherwise it is a gauge.
	Counter bool
}

// Values registers metrics that one call of read gives at every scrape,
// in the order of values, with the given constant labels (nil for none):
// for numbers that cost something to gather (a walk over subscriptions)
// or that belong together (one snapshot of a consumer's counts). Nothing
// happens on nil metrics; the error is the registry's.
func (m *Metrics) Values(labels prometheus.Labels, read func() []float64, values ...Value) error {
	if m == nil {
		return nil
	}
	g := &group{read: read}
	for _, v := range values {
		g.descs = append(g.descs, prometheus.NewDesc(namespace+"_"+v.Name, v.Help, nil, labels))
		kind := prometheus.GaugeValue
		if v.Counter {
			kind = prometheus.CounterValue
		}
		g.kinds = append(g.kinds, kind)
	}
	return m.registry.Register(g)
}

// group is the collector of Values.
type group struct {
	descs []*prometheus.Desc
	kinds []prometheus.ValueType
	read  func() []float64
}

func (g *group) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range g.descs {
		ch <- d
	}
}

func (g *group) Collect(ch chan<- prometheus.Metric) {
	for i, v := range g.read() {
		if i < len(g.descs) {
			ch <- prometheus.MustNewConstMetric(g.descs[i], g.kinds[i], v)
		}
	}
}
