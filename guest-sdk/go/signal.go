package bubble

import "github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"

// MaxSignalPayload is the longest payload [WaitSignal] returns. A signal is
// a one-shot event: the host copies what fits in the waiter's buffer and
// drops the rest, so a waiter cannot ask for it again.
const MaxSignalPayload = 64 << 10

// signalBuf is WaitSignal's buffer, allocated on first use; the payload is
// copied out of it.
var signalBuf []byte

// WaitSignal parks until another exchange sends the signal name with
// [SendSignal], and returns that send's payload. It waits up to timeoutMs
// milliseconds (≤ 0 does not wait), and every wait also ends at the
// exchange's deadline. Signal names follow
// the rules of channel names ([Publish]). A handler may write and flush
// output before it waits (long polling that streams a first part).
//
// Errors: ErrTimeout (no send in time, or the exchange's deadline passed),
// ErrClosed (the exchange was cancelled), ErrDenied (name outside the
// route's signals grant), ErrInvalid (bad name). A payload longer than
// MaxSignalPayload comes back cut to that length, with an error matching
// ErrTooLarge.
func WaitSignal(name string, timeoutMs int) ([]byte, error) {
	if signalBuf == nil {
		signalBuf = make([]byte, MaxSignalPayload)
	}
	n := host.SignalHost().SignalWait(name, millis(timeoutMs), signalBuf)
	if n < 0 {
		return nil, callError("signal.wait", n)
	}
	got := signalBuf[:min(int(n), len(signalBuf))]
	payload := append(make([]byte, 0, len(got)), got...)
	if int(n) > len(got) {
		return payload, callError("signal.wait", int32(ErrTooLarge))
	}
	return payload, nil
}

// SendSignal wakes every exchange waiting on the signal name with payload
// and returns how many it woke. A signal is not stored: with no waiter it
// is lost (use [Publish] for messages that must wait for their reader).
// Errors: ErrDenied, ErrInvalid, ErrTooLarge.
func SendSignal(name string, payload []byte) (int, error) {
	n := host.SignalHost().SignalSend(name, payload)
	if n < 0 {
		return 0, callError("signal.send", n)
	}
	return int(n), nil
}
