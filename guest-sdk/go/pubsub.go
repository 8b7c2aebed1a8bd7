package bubble

import (
	"github.com/bubblewasm/bubblewasm/abi/spec"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
)

// MaxSubscriptionID is the longest subscription id the host issues.
const MaxSubscriptionID = spec.MaxSubscriptionID

// fetchBufSize is the buffer Fetch and KVGet try first; larger messages and
// values take a second call with a buffer of their exact size.
const fetchBufSize = 2 << 10

// scratch is that first buffer, shared: SDK functions run on the handler's
// goroutine only. The result is copied out of it.
var scratch []byte

func scratchBuf() []byte {
	if scratch == nil {
		scratch = make([]byte, fetchBufSize)
	}
	return scratch
}

// negotiate fills a buffer through call, which returns the full size n of
// what the host has (size negotiation, ABI.md): it tries the scratch buffer
// and then a buffer of n bytes, until the result fits. It returns the
// bytes, in a new slice of their exact size, or the negative code.
func negotiate(call func(buf []byte) int32) ([]byte, int32) {
	buf := scratchBuf()
	for {
		n := call(buf)
		switch {
		case n < 0:
			return nil, n
		case int(n) > len(buf):
			buf = make([]byte, n)
			continue
		case len(buf) == int(n) && &buf[0] != &scratch[0]:
			return buf, n
		}
		return append(make([]byte, 0, n), buf[:n]...), n
	}
}

// millis converts a timeout or TTL in milliseconds to the ABI's i32:
// negative values become -1, values beyond the i32 range its maximum
// (about 24.8 days).
func millis(ms int) int32 {
	switch {
	case ms < 0:
		return -1
	case ms > 1<<31-1:
		return 1<<31 - 1
	}
	return int32(ms)
}

// Publish queues msg on every subscription of channel and returns how many
// subscriptions it was queued for (0 when nobody listens). Channel names are
// printable ASCII without spaces or the characters * ? [ ] \, single dots
// separating non-empty levels ("chat.room1"; not "chat." or "a..b"). Errors: ErrDenied (channel outside the
// route's pubsub grant), ErrInvalid (bad channel name), ErrTooLarge (msg
// over the route's message limit, 64 KiB by default).
func Publish(channel string, msg []byte) (int, error) {
	n := host.PubSubHost().Publish(channel, msg)
	if n < 0 {
		return 0, callError("pubsub.publish", n)
	}
	return int(n), nil
}

// Subscribe creates a subscription to channel and returns its id. The
// subscription lives on the host, not in the instance, and outlives the
// exchange: keep the id (in a [Session], a cookie) and [Fetch] from it in
// later exchanges. Messages published after Subscribe returns reach it, up
// to the route's queue size; a subscription whose queue overflows, or that
// nobody fetches from for the route's idle time (a minute by default), is
// dropped. The id is an unguessable bearer token: do not log or show it.
// It works on the route that made it (and routes of its pubsub_scope)
// only. Errors are those of [Publish], and ErrFull when the route's or the
// host's subscription cap is reached.
func Subscribe(channel string) (string, error) {
	var id [MaxSubscriptionID]byte
	n := host.PubSubHost().Subscribe(channel, id[:])
	if n < 0 {
		return "", callError("pubsub.subscribe", n)
	}
	if int(n) > len(id) {
		return "", callError("pubsub.subscribe", int32(ErrIO))
	}
	return string(id[:n]), nil
}

// Fetch takes the next message of subscription id, waiting up to timeoutMs
// milliseconds for one to arrive; a timeout ≤ 0 does not wait, and every
// wait also ends at the exchange's deadline. Messages of any size are
// returned whole. Errors: ErrTimeout (no message in time, or the exchange's
// deadline passed), [ErrSubscriptionGone] (unsubscribed, dropped, or never
// issued: subscribe again), ErrClosed (the exchange was cancelled, e.g.
// the client went away), ErrDenied.
//
// A message longer than the SDK's first buffer (2 KiB) stays queued until a
// second call with a buffer of its size takes it; if a concurrent fetch on
// the same subscription took it in between, Fetch waits for the next one,
// with the whole timeout again.
func Fetch(id string, timeoutMs int) ([]byte, error) {
	ps, t := host.PubSubHost(), millis(timeoutMs)
	msg, n := negotiate(func(buf []byte) int32 { return ps.Fetch(id, t, buf) })
	if n < 0 {
		return nil, callError("pubsub.fetch", n)
	}
	return msg, nil
}

// Unsubscribe ends subscription id and discards its queued messages. It
// fails with [ErrSubscriptionGone] if the subscription no longer exists,
// which callers usually ignore.
func Unsubscribe(id string) error {
	if n := host.PubSubHost().Unsubscribe(id); n < 0 {
		return callError("pubsub.unsubscribe", n)
	}
	return nil
}
