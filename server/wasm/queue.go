package wasm

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
)

// Backpressure: a route runs at most MaxConcurrency exchanges; at most
// Queue more wait for one of its slots, each at most QueueTimeout. An
// exchange beyond the queue, or whose QueueTimeout passes, is refused at
// once as overloaded (server.ErrOverloaded: 503 with Retry-After over
// HTTP, a requeue over AMQP), so that a saturated route answers quickly
// instead of holding every client until its timeout.
//
// A waiter costs nothing beyond its exchange's own goroutine: a place in
// the queue is an atomic count, and the wait is a select on the slot
// channel and a timer. Go hands a freed slot to the longest-blocked
// sender, so waiters are served in order of arrival and a newcomer cannot
// take a slot ahead of them.
//
// An exchange that parked and resumes was admitted already: it waits for
// a slot within its own deadline, outside the queue (parked exchanges are
// bounded by MaxWaiting), so that a publish waking thousands of long polls
// does not turn most of them into 503s.

const (
	// DefaultQueue is how many exchanges of a route may wait for a slot
	// when Options.Queue is 0. A waiter holds only its connection and its
	// goroutine (a few KiB), so a thousand per route cost a few MiB, while
	// they absorb a burst far beyond the usual max_concurrency; the wait
	// itself is bounded by QueueTimeout, not by the count.
	DefaultQueue = 1024
	// NoQueue as Options.Queue makes a route refuse an exchange at once
	// when all its slots are taken.
	NoQueue = -1
	// DefaultQueueTimeout is the longest an exchange waits for a slot
	// when Options.QueueTimeout is 0, shortened to half the route's
	// timeout when that is less (DefaultQueueTimeoutFor). A route whose
	// slots stay taken this long is saturated: a quick 503 lets the client
	// retry elsewhere or later, while the exchanges admitted keep the
	// rest of their time.
	DefaultQueueTimeout = 5 * time.Second
)

// DefaultQueueTimeoutFor returns the queue timeout of a route whose
// exchange timeout is timeout: DefaultQueueTimeout or half of timeout,
// whichever is shorter.
func DefaultQueueTimeoutFor(timeout time.Duration) time.Duration {
	return min(DefaultQueueTimeout, timeout/2)
}

// queue is a route's wait for slots: how many wait and how many were
// refused.
type queue struct {
	max      int64 // waiters allowed; 0 for none
	timeout  time.Duration
	waiting  atomic.Int64
	rejected atomic.Uint64
	resuming atomic.Int64 // resumed exchanges waiting outside the queue
}

// QueueRejected returns how many exchanges the route refused as overloaded
// because its queue was full or their QueueTimeout passed before a slot
// freed, since the handler was made. It is safe to call at any time (for
// metrics).
func (h *Handler) QueueRejected() uint64 { return h.queue.rejected.Load() }

// Queued returns how many exchanges wait for a slot now.
func (h *Handler) Queued() int { return int(h.queue.waiting.Load()) }

// takeSlot takes one of the route's slots: at once when one is free,
// otherwise after a wait in the queue (admitted: outside it, within ctx).
// The caller gives the slot back with <-h.slots.
func (h *Handler) takeSlot(ctx context.Context, admitted bool) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	start := time.Now()
	defer func() {
		h.stats.queued.Add(1)
		h.stats.queueWait.Add(int64(time.Since(start)))
	}()
	if admitted {
		h.queue.resuming.Add(1)
		defer h.queue.resuming.Add(-1)
		return h.waitSlot(ctx, nil)
	}
	q := &h.queue
	if q.waiting.Add(1) > q.max {
		q.waiting.Add(-1)
		q.rejected.Add(1)
		return fmt.Errorf("%w: %d exchanges running and %d waiting, the route's max_concurrency and queue", server.ErrOverloaded, cap(h.slots), q.max)
	}
	defer q.waiting.Add(-1)
	timer := time.NewTimer(q.timeout)
	defer timer.Stop()
	return h.waitSlot(ctx, timer.C)
}

// waitSlot waits for a slot until expired fires (nil: never), or ctx ends.
func (h *Handler) waitSlot(ctx context.Context, expired <-chan time.Time) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-expired:
		h.queue.rejected.Add(1)
		return fmt.Errorf("%w: no slot of %d freed within queue_timeout %s", server.ErrOverloaded, cap(h.slots), h.queue.timeout)
	case <-ctx.Done():
		err := fmt.Errorf("%w: %d exchanges already running", server.ErrOverloaded, cap(h.slots))
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// It never ran: overloaded (503), not a handler timeout (504).
			return fmt.Errorf("%w; no slot freed within %s", err, h.opts.Timeout)
		}
		return h.ctxError(ctx, err)
	}
}
