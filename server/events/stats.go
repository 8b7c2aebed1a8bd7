package events

import "sync/atomic"

// BrokerStats are a broker's counts: gauges of now, and totals since it
// was made.
type BrokerStats struct {
	// Subscriptions are the live subscriptions now.
	Subscriptions int
	// Queued are the messages waiting in their queues now.
	Queued int
	// Published counts the messages Publish accepted (with or without
	// subscribers); Delivered the copies queued to subscriptions.
	Published, Delivered uint64
	// Evicted counts messages dropped from a full queue to make room
	// (overflow drop-oldest); Overflowed the subscriptions ended because
	// their queue was full (drop-subscriber).
	Evicted, Overflowed uint64
}

// brokerStats are a MemoryBroker's totals, added to as they happen.
type brokerStats struct {
	published, delivered, evicted, overflowed atomic.Uint64
}

// Stats returns the broker's counts. Counting the queued messages visits
// every subscription, each under its own lock.
func (b *MemoryBroker) Stats() BrokerStats {
	st := BrokerStats{
		Published:  b.stats.published.Load(),
		Delivered:  b.stats.delivered.Load(),
		Evicted:    b.stats.evicted.Load(),
		Overflowed: b.stats.overflowed.Load(),
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	st.Subscriptions = len(b.subs)
	for _, s := range b.subs {
		s.mu.Lock()
		st.Queued += s.q.n
		s.mu.Unlock()
	}
	return st
}

// Stats returns the counts of the subscriptions of this process (the
// messages that reached it from the shared exchange are its deliveries).
func (b *AMQPBroker) Stats() BrokerStats { return b.local.Stats() }
