package accesslog

import (
	"log/slog"
	"time"
)

// JSONDurations is a slog.HandlerOptions.ReplaceAttr for JSON handlers: a
// duration becomes a number of milliseconds under its key with "_ms"
// appended ("duration_ms": 1.25, "timeout_ms": 10000), where slog would
// write integer nanoseconds under the bare key.
func JSONDurations(groups []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	return slog.Float64(a.Key+"_ms", float64(a.Value.Duration())/float64(time.Millisecond))
}
