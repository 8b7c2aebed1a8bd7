package app

import (
	"slices"
	"sync"

	"github.com/bubblewasm/bubblewasm/server/internal/metrics"
)

// A Prometheus registry takes a collector's descriptors once: a route or
// an AMQP listener that a reload makes anew (same name, new handler or
// consumer) cannot register its counts again. keyedCounts registers them
// once per name and reads, at every scrape, the live owners of that name
// (the new handler, and the one still draining) plus what the owners gone
// had counted, so that the counters keep growing across reloads.

// keyedCounts are an app's counts registered by name.
type keyedCounts struct {
	mu     sync.Mutex
	byName map[string]*liveCounts
}

// add makes owner's values, read at every scrape, part of the counts
// registered under key with the given labels (registered on first use).
// The returned func removes owner, keeping the counters it reached.
func (k *keyedCounts) add(m *metrics.Metrics, key string, labels map[string]string, owner any, read func() []float64, values ...metrics.Value) (remove func(), err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.byName[key]
	if c == nil {
		c = &liveCounts{gone: make([]float64, len(values)), live: map[any]func() []float64{}}
		for _, v := range values {
			c.counter = append(c.counter, v.Counter)
		}
		if err := m.Values(labels, c.read, values...); err != nil {
			return nil, err
		}
		if k.byName == nil {
			k.byName = map[string]*liveCounts{}
		}
		k.byName[key] = c
	}
	c.add(owner, read)
	return func() { c.remove(owner) }, nil
}

// liveCounts are the values of one name: the sum of its live owners', plus
// the counters of those removed.
type liveCounts struct {
	mu      sync.Mutex
	counter []bool
	gone    []float64
	live    map[any]func() []float64
}

func (c *liveCounts) add(owner any, read func() []float64) {
	c.mu.Lock()
	c.live[owner] = read
	c.mu.Unlock()
}

// remove stops reading owner; its counters stay in the sum, its gauges
// leave it.
func (c *liveCounts) remove(owner any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	read := c.live[owner]
	if read == nil {
		return
	}
	delete(c.live, owner)
	for i, v := range read() {
		if i < len(c.gone) && c.counter[i] {
			c.gone[i] += v
		}
	}
}

// read is the collector's: every value summed.
func (c *liveCounts) read() []float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	sum := slices.Clone(c.gone)
	for _, read := range c.live {
		for i, v := range read() {
			if i < len(sum) {
				sum[i] += v
			}
		}
	}
	return sum
}
