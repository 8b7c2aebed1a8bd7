package amqp

import "sync/atomic"

// Stats are a Consumer's counts since New. Every field but Consuming only
// grows.
type Stats struct {
	// Consuming reports whether the current session consumes the queue.
	Consuming bool
	// Sessions counts the sessions that got as far as consuming: the first
	// and every reconnection.
	Sessions uint64
	// ConnectFailures counts the attempts that failed before consuming
	// (broker down, refused credentials, a queue that cannot be declared).
	ConnectFailures uint64
	// Deliveries counts the messages received; Redeliveries those of them
	// the broker marked redelivered.
	Deliveries, Redeliveries uint64
	// Acks and Nacks count the deliveries settled each way (a nack
	// requeues or rejects, as the listener's on_error says).
	Acks, Nacks uint64
}

// stats are a Consumer's counters.
type stats struct {
	sessions, connectFailures, deliveries, redeliveries, acks, nacks atomic.Uint64
}

// Stats returns the consumer's counts so far; safe to call at any time.
func (c *Consumer) Stats() Stats {
	s := &c.stats
	consuming := false
	select {
	case <-c.Ready():
		consuming = true
	default:
	}
	return Stats{
		Consuming:       consuming,
		Sessions:        s.sessions.Load(),
		ConnectFailures: s.connectFailures.Load(),
		Deliveries:      s.deliveries.Load(),
		Redeliveries:    s.redeliveries.Load(),
		Acks:            s.acks.Load(),
		Nacks:           s.nacks.Load(),
	}
}
