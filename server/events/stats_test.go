package events

import (
	"strconv"
	"testing"
)

// TestStats: the broker counts what it publishes, delivers and drops,
// and what its queues hold.
func TestStats(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	oldest := subscribe(t, b, "c", SubscribeOptions{QueueSize: 10, Overflow: DropOldest})
	subscribe(t, b, "d", SubscribeOptions{QueueSize: 2, Overflow: DropSubscriber})
	for i := range 25 {
		publish(t, b, "c", strconv.Itoa(i))
	}
	for i := range 3 { // the third overflows the queue of 2: the subscription ends
		publish(t, b, "d", strconv.Itoa(i))
	}
	publish(t, b, "nobody", "x")
	want := BrokerStats{Subscriptions: 1, Queued: 10, Published: 29, Delivered: 27, Evicted: 15, Overflowed: 1}
	if got := b.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	fetchStrings(t, b, oldest, 4)
	if got := b.Stats().Queued; got != 6 {
		t.Errorf("after fetching 4: %d queued, want 6", got)
	}
}
