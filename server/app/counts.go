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
// had counted, so that the counters keep growing across reloads. A
// handler that a reload keeps (reuse.go) is added by each set holding it,
// and read live until the last of them removes it.

// keyedCounts are an app's counts registered by name.
type keyedCounts struct {
	mu     sync.Mutex
	byName map[string]*liveCounts
}

// add makes owner's values, read at every scrape, part of the counts
// registered under key with the given labels (registered on first use).
// The returned func removes owner, keeping the counters it reached, once
// every add of owner has been removed.
func (k *keyedCounts) add(m *metrics.Metrics, key string, labels map[string]string, owner any, read func() []float64, values ...metrics.Value) (remove func(), err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.byName[key]
	if c == nil {
		c = &liveCounts{gone: make([]float64, len(values)), live: map[any]*liveOwner{}}
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
	live    map[any]*liveOwner
}

// liveOwner is one owner's values and how many adds hold it.
type liveOwner struct {
	read  func() []float64
	holds int
}

func (c *liveCounts) add(owner any, read func() []float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o := c.live[owner]; o != nil {
		o.holds++
		return
	}
	c.live[owner] = &liveOwner{read: read, holds: 1}
}

// remove drops one hold on owner; after the last it stops reading owner:
// its counters stay in the sum, its gauges leave it.
func (c *liveCounts) remove(owner any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.live[owner]
	if o == nil {
		return
	}
	if o.holds--; o.holds > 0 {
		return
	}
	delete(c.live, owner)
	for i, v := range o.read() {
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
	for _, o := range c.live {
		for i, v := range o.read() {
			if i < len(sum) {
				sum[i] += v
			}
		}
	}
	return sum
}
