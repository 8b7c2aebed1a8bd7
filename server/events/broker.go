package events

import (
	"context"
	"fmt"
	"time"
)

// Broker is a publish/subscribe service. A subscription belongs to no
// goroutine or instance: it is created by Subscribe, found again by its ID
// on every Fetch (typically from a later exchange, served by another
// instance), and ends with Unsubscribe, an overflow, an idle timeout or
// Close.
//
// Each subscription has a bounded queue, so a subscriber that stops
// fetching costs at most its queue, and Publish never waits for any
// subscriber. All subscribers of a channel see its messages in the same
// order.
type Broker interface {
	// Publish queues msg on every current subscription of channel and
	// returns how many queued it (a subscription dropped by this message's
	// overflow is not counted). It never blocks on a slow subscriber.
	// Errors: ErrBadName, ErrTooLarge, ErrClosed, ctx.Err().
	Publish(ctx context.Context, channel string, msg []byte) (delivered int, err error)

	// Subscribe creates a subscription to channel and returns its ID. Only
	// messages published after Subscribe returns are guaranteed to reach
	// it. Errors: ErrBadName, ErrBadOption, ErrFull (the broker's
	// MaxSubscriptions, or opts.MaxOwned for opts.Owner), ErrClosed,
	// ctx.Err().
	Subscribe(ctx context.Context, channel string, opts SubscribeOptions) (SubID, error)

	// Info describes subscription id: its channel and the
	// SubscribeOptions.Owner it was made with, so that a caller can refuse
	// an ID presented by someone else (the ABI glue answers another route,
	// or a route whose grant does not cover the channel, as for an
	// unknown ID). Errors: ErrSubscriptionGone, ErrClosed.
	Info(id SubID) (SubInfo, error)

	// Fetch returns up to max queued messages of subscription id (all of
	// them when max < 1), oldest first, in publish order. When none is
	// queued it waits until one is, timeout passes, or ctx ends; a timeout
	// ≤ 0 does not wait.
	//
	// A timeout is not an error: Fetch returns no messages and a nil error.
	// Other results: ErrSubscriptionGone (unknown, unsubscribed or dropped,
	// including while waiting), ErrClosed, ctx.Err(). Messages taken by a
	// Fetch are gone from the queue; concurrent Fetches on one subscription
	// share its messages, each going to exactly one of them.
	//
	// The returned slices may be shared with other subscribers: treat them
	// as read-only.
	Fetch(ctx context.Context, id SubID, max int, timeout time.Duration) ([][]byte, error)

	// Watch registers interest in subscription id without waiting: the
	// returned Watch's Ready is closed once the subscription has a message
	// queued or ends, and its Stop returns nil when a message is queued,
	// the error that ended the subscription (ErrSubscriptionGone,
	// ErrClosed), or ErrTimeout when nothing has happened yet. No message
	// is taken: a Fetch takes it. While watched, the subscription counts as
	// being fetched from (it does not idle out). Errors:
	// ErrSubscriptionGone, ErrClosed.
	Watch(id SubID) (Watch, error)

	// Unsubscribe ends subscription id, discards its queue and wakes its
	// waiting Fetches with ErrSubscriptionGone. Errors: ErrSubscriptionGone
	// (unknown or already gone), ErrClosed, ctx.Err().
	Unsubscribe(ctx context.Context, id SubID) error

	// Close ends every subscription; waiting Fetches return ErrClosed, and
	// so does every later call. Close is idempotent.
	Close() error
}

// Watch is a wait that holds no goroutine: the caller selects on Ready
// with whatever else it waits for (a timer, a context) and then calls Stop.
// A parked exchange holds one instead of a goroutine blocked in Fetch or
// Wait (see Broker.Watch and Signals.Watch).
type Watch interface {
	// Ready is closed once the watched event has happened, or the watched
	// subscription or service has ended.
	Ready() <-chan struct{}
	// Stop ends the watch and returns its outcome: the event's payload (a
	// signal's) and nil when it happened, ErrTimeout when it has not, or
	// the error that ended what was watched. An event that comes before
	// Stop counts, even after the caller gave up waiting for it. Stop is
	// idempotent: later calls return the same.
	Stop() ([]byte, error)
}

// SubInfo is what Broker.Info tells about a subscription.
type SubInfo struct {
	Channel string
	Owner   string
}

// SubID identifies a subscription. It is an unguessable bearer token (128
// random bits, 22 URL-safe characters): whoever holds it can fetch the
// subscription's messages, so a guest may keep it in a session or cookie
// but it must not be logged or shown to other users.
type SubID string

// Overflow says what happens when a message arrives for a full queue.
type Overflow int

const (
	// DropSubscriber ends the subscription (the comet chat's rule: a
	// participant that does not pull is gone). Its queued messages are
	// discarded and the next Fetch returns ErrSubscriptionGone.
	DropSubscriber Overflow = iota
	// DropOldest discards the oldest queued message to make room, so the
	// queue keeps the newest QueueSize messages.
	DropOldest
)

// String returns the policy's Go name.
func (o Overflow) String() string {
	switch o {
	case DropSubscriber:
		return "DropSubscriber"
	case DropOldest:
		return "DropOldest"
	}
	return fmt.Sprintf("Overflow(%d)", int(o))
}

// SubscribeOptions configure one subscription. The zero value is the comet
// chat's: a queue of DefaultQueueSize messages, DropSubscriber, and the
// broker's default idle timeout.
type SubscribeOptions struct {
	// QueueSize is how many unfetched messages the subscription holds;
	// 0 means DefaultQueueSize. It must not exceed the broker's
	// MaxQueueSize. Queue memory grows with use, up to this size.
	QueueSize int
	// Overflow is the policy when a message arrives for a full queue.
	Overflow Overflow
	// IdleTimeout drops the subscription when no Fetch has been in
	// progress for this long (measured from Subscribe or from the end of
	// the last Fetch; a waiting Fetch keeps it alive). 0 means the broker's
	// DefaultIdleTimeout; a negative value means never (for host-owned
	// subscriptions only: a guest that forgets its ID would leak it).
	IdleTimeout time.Duration
	// Owner names who made the subscription (the ABI glue uses the
	// route's pub/sub scope); Broker.Info returns it. "" is an owner like
	// any other.
	Owner string
	// MaxOwned caps the live subscriptions of Owner: Subscribe returns
	// ErrFull when Owner already has this many, so that one owner cannot
	// take the whole of MaxSubscriptions. 0 means no cap of its own.
	MaxOwned int
}

// DefaultQueueSize is a subscription's queue size when
// SubscribeOptions.QueueSize is 0: the comet chat's 10.
const DefaultQueueSize = 10

// BrokerOptions configure a MemoryBroker. Zero fields take the defaults
// documented on each.
type BrokerOptions struct {
	// MaxMessageBytes is the largest message Publish accepts (default
	// 64 KiB).
	MaxMessageBytes int
	// MaxQueueSize is the largest SubscribeOptions.QueueSize (default
	// 1024).
	MaxQueueSize int
	// MaxSubscriptions caps the live subscriptions of the broker; Subscribe
	// returns ErrFull beyond it (default 1<<20; a subscription with an empty
	// queue costs a few hundred bytes).
	MaxSubscriptions int
	// DefaultIdleTimeout applies to subscriptions whose IdleTimeout is 0
	// (default one minute: long enough for a client between two long
	// polls).
	DefaultIdleTimeout time.Duration
}

func (o BrokerOptions) withDefaults() BrokerOptions {
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 64 << 10
	}
	if o.MaxQueueSize <= 0 {
		o.MaxQueueSize = 1024
	}
	if o.MaxSubscriptions <= 0 {
		o.MaxSubscriptions = 1 << 20
	}
	if o.DefaultIdleTimeout <= 0 {
		o.DefaultIdleTimeout = time.Minute
	}
	return o
}
