package bubble

import (
	"github.com/bubblewasm/bubblewasm/abi/spec"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
)

// MaxState is the most a handler may [Stash]: 4096 bytes.
const MaxState = spec.MaxStateBytes

// Wake says why a run of the handler resumes a parked exchange (the env
// key bubble.wake).
type Wake string

// The reasons a parked exchange wakes.
const (
	// WakeMessage: the subscription has a message, or is gone. The message
	// is still queued: take it with Fetch(id, -1).
	WakeMessage Wake = "message"
	// WakeSignal: a send on the signal; [WakePayload] returns its payload.
	WakeSignal Wake = "signal"
	// WakeTimeout: the park's timeout passed.
	WakeTimeout Wake = "timeout"
	// WakeShutdown: the server is stopping; answer now (a new park fails
	// with ErrClosed).
	WakeShutdown Wake = "shutdown"
)

// parked records that this run registered a wait, so that a [Handle]
// handler may return a nil *Response after parking.
var parked bool

// ParkMessage parks the exchange, once the handler returns without error,
// until subscription id has a message queued (or is gone) or timeoutMs
// milliseconds pass. Meanwhile the exchange holds no instance: the host
// runs the handler again, on a new instance, with [Resumed] saying why.
// Nothing in the instance's memory survives: keep what the next run needs
// with [Stash]. The route needs a pubsub grant and the subscription must be
// one it may [Fetch] from.
//
// Errors: ErrInvalid (timeoutMs ≤ 0, or a wait already registered in this
// run), ErrDenied (no pubsub grant), [ErrSubscriptionGone], ErrClosed (the
// server is shutting down), ErrFull (the route's max_waiting parked
// exchanges). After an error nothing is registered.
func ParkMessage(id string, timeoutMs int) error {
	return parkResult("park.message", host.ParkHost().ParkMessage(id, millis(timeoutMs)))
}

// ParkSignal parks the exchange, as [ParkMessage] does, until another
// exchange sends the signal name or timeoutMs pass. The host listens from
// this call on: a signal sent before the handler returns is not missed.
// Errors as for ParkMessage, with ErrDenied for a name outside the route's
// signals grant and ErrInvalid for a bad name.
func ParkSignal(name string, timeoutMs int) error {
	return parkResult("park.signal", host.ParkHost().ParkSignal(name, millis(timeoutMs)))
}

// ParkTimeout parks the exchange, as [ParkMessage] does, for timeoutMs
// milliseconds. Errors: ErrInvalid, ErrClosed, ErrFull.
func ParkTimeout(timeoutMs int) error {
	return parkResult("park.sleep", host.ParkHost().ParkSleep(millis(timeoutMs)))
}

func parkResult(op string, n int32) error {
	if n < 0 {
		return callError(op, n)
	}
	parked = true
	return nil
}

// Unpark drops the wait this run registered, if any: the exchange ends
// when the handler returns, as usual.
func Unpark() {
	if parked {
		host.ParkHost().ParkCancel()
		parked = false
	}
}

// Stash keeps a copy of state (at most [MaxState] bytes) on the host for
// the exchange's later runs, replacing an earlier stash. Errors:
// ErrTooLarge (the earlier stash stays), ErrClosed (outside an exchange).
func Stash(state []byte) error {
	if n := host.ParkHost().ParkStash(state); n < 0 {
		return callError("park.stash", n)
	}
	return nil
}

// State returns what an earlier run of this exchange stashed, and false
// when nothing was stashed.
func State() ([]byte, bool) {
	b, n := negotiate(host.ParkHost().ParkState)
	return b, n >= 0
}

// WakePayload returns the payload of the signal that woke this run, and
// false when no signal did.
func WakePayload() ([]byte, bool) {
	b, n := negotiate(host.ParkHost().ParkPayload)
	return b, n >= 0
}

// Resumed reports whether this run of the handler resumes a parked
// exchange: how many times it has been resumed (1 on the first resumed
// run) and why it woke. On an exchange's first run it returns 0 and "".
func Resumed() (n int, wake Wake) {
	var buf [16]byte
	w := host.Current.EnvGet("bubble.wake", buf[:])
	if w < 0 || int(w) > len(buf) {
		return 0, ""
	}
	wake = Wake(buf[:w])
	c := host.Current.EnvGet("bubble.resume", buf[:])
	for _, d := range buf[:max(min(int(c), len(buf)), 0)] {
		if d < '0' || d > '9' {
			break
		}
		n = 10*n + int(d-'0')
	}
	return n, wake
}
