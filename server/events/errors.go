package events

import "errors"

// Sentinel errors. Implementations wrap them with details (fmt.Errorf with
// %w); callers test them with errors.Is. The ABI glue maps each one to a
// guest-visible error code.
var (
	// ErrClosed: the service was closed. Calls made after Close and calls
	// waiting when Close ran return it.
	ErrClosed = errors.New("events: service closed")

	// ErrBadName: a channel name, signal name, namespace, key or grant
	// pattern breaks the naming rules (see CheckName and CheckPattern).
	ErrBadName = errors.New("events: invalid name")

	// ErrBadOption: an option is out of range (for example a queue size
	// above BrokerOptions.MaxQueueSize or an unknown overflow policy).
	ErrBadOption = errors.New("events: invalid option")

	// ErrTooLarge: a message, payload, key or value exceeds its size limit.
	// Nothing was stored or delivered.
	ErrTooLarge = errors.New("events: too large")

	// ErrFull: a capacity limit was reached (a KV namespace's key or byte
	// cap, or the broker's subscription cap). Nothing was stored; the call
	// may succeed once something is deleted or expires.
	ErrFull = errors.New("events: capacity reached")

	// ErrSubscriptionGone: the subscription does not exist (any longer). It
	// was unsubscribed, dropped because its queue overflowed under
	// DropSubscriber, dropped after its idle timeout, or its ID was never
	// issued by this broker. The guest should subscribe again.
	ErrSubscriptionGone = errors.New("events: subscription gone")

	// ErrTimeout: Signals.Wait gave up because its timeout passed before a
	// signal was sent. (Broker.Fetch reports a timeout as an empty result
	// instead, because no message is never a valid message.)
	ErrTimeout = errors.New("events: wait timed out")
)
