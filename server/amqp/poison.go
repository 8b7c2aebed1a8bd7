package amqp

import (
	"container/list"
	"context"
	"hash/maphash"
	"log/slog"
	"math"
	"reflect"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bubblewasm/bubblewasm/server"
)

// Poison messages: with on_error=requeue a message whose handler fails is
// delivered again, and one that always fails would loop forever. The
// consumer counts each message's deliveries and dead-letters it (nack,
// requeue=false: the queue's dead-letter exchange, if any, receives it)
// once a failed delivery was its max_deliveries-th.
//
// Quorum queues count for us: from the second delivery on, a message
// carries x-delivery-count, the broker's count of its earlier deliveries,
// which survives restarts of the consumer and is shared by every
// consumer. Classic queues give only the redelivered flag ("delivered at
// least once before"), so for them the consumer keeps the number of
// failed deliveries of each message it saw fail, keyed by a 64-bit hash
// of the message id, or of the exchange, routing key and body when the
// message has no id. The table is bounded (trackedMessages, about 100
// bytes each: under 1 MiB); when full, the message that failed least
// recently is forgotten, so that a forgotten message gets more deliveries,
// never fewer. A first delivery (redelivered=false) starts a new count.
// Such a count is the process's own: several consumers of one classic
// queue each allow max_deliveries.

const (
	// DefaultMaxDeliveries is max_deliveries when the URL sets none.
	DefaultMaxDeliveries = 5
	// MaxMaxDeliveries is the largest max_deliveries accepted.
	MaxMaxDeliveries = 1_000_000
	// trackedMessages bounds the failure counts kept for classic queues.
	trackedMessages = 10_000
	// headerDeliveryCount is the quorum queues' count of earlier
	// deliveries.
	headerDeliveryCount = "x-delivery-count"
)

// failures counts the failed deliveries of messages of a classic queue, the
// least recently failed forgotten first beyond its bound.
type failures struct {
	seed  maphash.Seed
	max   int
	mu    sync.Mutex
	byKey map[uint64]*list.Element // of *failure
	order list.List                // most recently failed first
}

type failure struct {
	key uint64
	n   int
}

func newFailures(max int) *failures {
	return &failures{seed: maphash.MakeSeed(), max: max, byKey: map[uint64]*list.Element{}}
}

// key identifies a message across its deliveries.
func (f *failures) key(d *amqp.Delivery) uint64 {
	var h maphash.Hash
	h.SetSeed(f.seed)
	if d.MessageId != "" {
		h.WriteString("id\x00")
		h.WriteString(d.MessageId)
		return h.Sum64()
	}
	h.WriteString("body\x00")
	h.WriteString(d.Exchange)
	h.WriteByte(0)
	h.WriteString(d.RoutingKey)
	h.WriteByte(0)
	h.Write(d.Body)
	return h.Sum64()
}

// get returns the failed deliveries recorded for key.
func (f *failures) get(key uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.byKey[key]; ok {
		return e.Value.(*failure).n
	}
	return 0
}

// set records n failed deliveries for key, forgetting the least recently
// failed message when the table is full.
func (f *failures) set(key uint64, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.byKey[key]; ok {
		e.Value.(*failure).n = n
		f.order.MoveToFront(e)
		return
	}
	if len(f.byKey) >= f.max {
		oldest := f.order.Back()
		f.order.Remove(oldest)
		delete(f.byKey, oldest.Value.(*failure).key)
	}
	f.byKey[key] = f.order.PushFront(&failure{key: key, n: n})
}

// forget drops key's count: its message succeeded or was dead-lettered.
func (f *failures) forget(key uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.byKey[key]; ok {
		f.order.Remove(e)
		delete(f.byKey, key)
	}
}

// tracked reports whether any count is kept (so that a success need not
// hash its message to forget it).
func (f *failures) tracked() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.byKey) > 0
}

// deliveries returns which delivery of its message d is (1 for the first)
// and whether the broker counted it (x-delivery-count, quorum queues).
func (f *failures) deliveries(d *amqp.Delivery) (n int, byBroker bool) {
	if v, ok := d.Headers[headerDeliveryCount]; ok {
		if before, ok := toInt(v); ok && before >= 0 {
			return before + 1, true
		}
	}
	if !d.Redelivered {
		return 1, false
	}
	return f.get(f.key(d)) + 1, false
}

// toInt reads an AMQP integer field of any width.
func toInt(v any) (int, bool) {
	switch rv := reflect.ValueOf(v); {
	case rv.CanInt():
		return int(rv.Int()), true
	case rv.CanUint() && rv.Uint() <= math.MaxInt32:
		return int(rv.Uint()), true
	}
	return 0, false
}

// poisoned reports whether d's failure (err) was its message's last
// allowed delivery under max_deliveries, and if so logs and counts the
// dead-lettering; otherwise it records the failure (classic queues).
func (c *Consumer) poisoned(d amqp.Delivery, err error, log *slog.Logger) bool {
	max := c.set.MaxDeliveries
	n, byBroker := c.failures.deliveries(&d)
	var key uint64
	if !byBroker {
		key = c.failures.key(&d)
	}
	if max == 0 || n < max {
		if !byBroker {
			c.failures.set(key, n)
		}
		return false
	}
	if !byBroker {
		c.failures.forget(key)
	}
	c.deadLettered.Add(1)
	log.Error("amqp message dead-lettered: its handler failed on every delivery", "deliveries", n, "max_deliveries", max, "err", err)
	return true
}

// requeueOverloaded requeues a delivery its handler was too busy to run
// (or its route's rate limit refused), after server.RetryAfterOf the error
// (or at once when the consumer stops).
func (c *Consumer) requeueOverloaded(ctx context.Context, d amqp.Delivery, err error, log *slog.Logger) {
	c.overloadRequeued.Add(1)
	wait := server.RetryAfterOf(err)
	log.Debug("amqp handler overloaded; requeueing", "retry_after", wait, "err", err)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-c.stop:
	case <-ctx.Done():
	}
	if nerr := d.Nack(false, true); nerr != nil {
		log.Warn("amqp nack failed; the broker will redeliver", "err", nerr)
	}
}
