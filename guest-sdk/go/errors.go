package bubble

import "github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"

// Errno is a negative result code of the host ABI. The constants below are
// the codes of ABI version 1; match them with errors.Is:
//
//	if errors.Is(err, bubble.ErrClosed) { ... }
type Errno int32

// Error codes of ABI version 1. An unknown negative code from the host is
// reported as ErrIO, as the ABI requires.
const (
	ErrNotFound  Errno = -1 // the env key does not exist
	ErrInvalid   Errno = -2 // an argument is not acceptable
	ErrCommitted Errno = -3 // status and headers can no longer change
	ErrClosed    Errno = -4 // the peer went away or the output is closed
	ErrIO        Errno = -5 // input or output failed for another reason
	ErrTimeout   Errno = -6 // the exchange's deadline passed
	ErrTooLarge  Errno = -7 // the input exceeds a configured limit
)

// Error returns the ABI name of the code, such as "ERR_CLOSED".
func (e Errno) Error() string {
	switch e {
	case ErrNotFound:
		return "ERR_NOT_FOUND"
	case ErrInvalid:
		return "ERR_INVALID"
	case ErrCommitted:
		return "ERR_COMMITTED"
	case ErrClosed:
		return "ERR_CLOSED"
	case ErrIO:
		return "ERR_IO"
	case ErrTimeout:
		return "ERR_TIMEOUT"
	case ErrTooLarge:
		return "ERR_TOO_LARGE"
	}
	return "ERR_UNKNOWN"
}

// Error is a failed host call: the ABI function and the code it returned.
// Its message reads like "bubble: read: ERR_CLOSED"; it unwraps to the Errno.
type Error struct {
	Op    string // the ABI import, such as "write"
	Errno Errno
}

func (e *Error) Error() string { return "bubble: " + e.Op + ": " + e.Errno.Error() }

// Unwrap returns e.Errno.
func (e *Error) Unwrap() error { return e.Errno }

// callError converts a negative host result into an *Error.
func callError(op string, code int32) error {
	e := Errno(code)
	if e < ErrTooLarge {
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
