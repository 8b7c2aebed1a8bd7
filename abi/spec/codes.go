package spec

// Result codes returned by host functions. Non-negative results are lengths
// or counts; these negative values are errors.
const (
	// ErrNotFound: the env key, key or subscription does not exist.
	ErrNotFound int32 = -1
	// ErrInvalid: an argument is not acceptable.
	ErrInvalid int32 = -2
	// ErrCommitted: metadata can no longer change, output was written.
	ErrCommitted int32 = -3
	// ErrClosed: the peer went away or the output is closed.
	ErrClosed int32 = -4
	// ErrIO: input or output failed for another reason.
	ErrIO int32 = -5
	// ErrTimeout: the exchange deadline passed during the call.
	ErrTimeout int32 = -6
	// ErrTooLarge: the input exceeds a configured limit.
	ErrTooLarge int32 = -7
	// ErrDenied: an extension call on a channel, signal or store the route
	// was not granted.
	ErrDenied int32 = -8
	// ErrFull: a store or service is at capacity (a key-value namespace
	// with no room left, the route's or the host's subscription cap).
	// Nothing was stored; the call may succeed once something is deleted,
	// expires or ends. Unlike ErrTooLarge it says nothing about the size
	// of what the guest passed.
	ErrFull int32 = -9
)

// ErrorName returns the ABI.md name of a negative result code, such as
// "ERR_CLOSED", or "" for a code this version does not define (a guest
// treats such a code as ErrIO).
func ErrorName(code int32) string {
	switch code {
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
	case ErrDenied:
		return "ERR_DENIED"
	case ErrFull:
		return "ERR_FULL"
	}
	return ""
}

// Log levels of the log import; they are log/slog's values. The host
// clamps any other level to one of them.
const (
	LogDebug int32 = -4
	LogInfo  int32 = 0
	LogWarn  int32 = 4
	LogError int32 = 8
)
