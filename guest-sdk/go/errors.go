package bubble

import (
	"github.com/bubblewasm/bubblewasm/abi/spec"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
)

// Errno is a negative result code of the host ABI. The constants below are
// the codes of ABI version 1; match them with errors.Is:
//
//	if errors.Is(err, bubble.ErrClosed) { ... }
type Errno int32

// Error codes of ABI version 1. An unknown negative code from the host is
// reported as ErrIO, as the ABI requires.
//
// The extensions (pub/sub, signals, key-value) give some codes a meaning of
// their own: ErrNotFound from [Fetch] or [Unsubscribe] is
// [ErrSubscriptionGone], ErrTimeout from [Fetch] or [WaitSignal] means that
// nothing arrived in time (or the exchange's deadline passed), ErrClosed
// that the exchange was cancelled while waiting. ErrFull says a store is at
// capacity ([KVSet] on a full namespace, [Subscribe] at the route's or the
// host's subscription cap), not that what was passed is too large: the call
// may succeed once something is deleted, expires or ends.
const (
	ErrNotFound  = Errno(spec.ErrNotFound)  // the env key does not exist
	ErrInvalid   = Errno(spec.ErrInvalid)   // an argument is not acceptable
	ErrCommitted = Errno(spec.ErrCommitted) // status and headers can no longer change
	ErrClosed    = Errno(spec.ErrClosed)    // the peer went away or the output is closed
	ErrIO        = Errno(spec.ErrIO)        // input or output failed for another reason
	ErrTimeout   = Errno(spec.ErrTimeout)   // the exchange's deadline passed
	ErrTooLarge  = Errno(spec.ErrTooLarge)  // the input exceeds a configured limit
	ErrDenied    = Errno(spec.ErrDenied)    // an extension call outside the route's grant
	ErrFull      = Errno(spec.ErrFull)      // a store or service is at capacity
)

// ErrSubscriptionGone is ErrNotFound as [Fetch] and [Unsubscribe] report
// it: the subscription does not exist (any longer). It was unsubscribed,
// dropped for overflowing its queue or for idling (nobody fetched from it
// for the route's idle time), or its id was never issued. Subscribe again.
// It is the same value as ErrNotFound, so errors.Is matches either.
const ErrSubscriptionGone = ErrNotFound

// Error returns the ABI name of the code, such as "ERR_CLOSED", or
// "ERR_UNKNOWN" for a code ABI version 1 does not define.
func (e Errno) Error() string {
	if name := spec.ErrorName(int32(e)); name != "" {
		return name
	}
	return "ERR_UNKNOWN"
}

// Error is a failed host call: the ABI function and the code it returned.
// Its message reads like "bubble: read: ERR_CLOSED"; it unwraps to the Errno.
type Error struct {
	// Op is the ABI import, such as "write"; an extension's imports are
	// named "pubsub.fetch", "signal.wait", "kv.get" and so on.
	Op    string
	Errno Errno
}

func (e *Error) Error() string { return "bubble: " + e.Op + ": " + e.Errno.Error() }

// Unwrap returns e.Errno.
func (e *Error) Unwrap() error { return e.Errno }

// callError converts a negative host result into an *Error.
func callError(op string, code int32) error {
	e := Errno(code)
	if spec.ErrorName(code) == "" {
		e = ErrIO
	}
	return &Error{Op: op, Errno: e}
}

func init() {
	// Let fake hosts turn an Errno found in an I/O error back into its code.
	// A hand-written unwrap loop: errors.As would link reflection.
	host.CodeOf = func(err error) (int32, bool) {
		for err != nil {
			if e, ok := err.(Errno); ok && e < 0 {
				return int32(e), true
			}
			u, ok := err.(interface{ Unwrap() error })
			if !ok {
				break
			}
			err = u.Unwrap()
		}
		return 0, false
	}
}
