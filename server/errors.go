package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors. Handlers wrap them with %w; StatusOf and the transports
// recognise them through errors.Is.
var (
	// ErrNoRoute: no route matched the exchange's env (HTTP 404).
	ErrNoRoute = errors.New("no route matches")
	// ErrBadRequest: the input could not be understood (HTTP 400).
	ErrBadRequest = errors.New("bad request")
	// ErrTooLarge: the input exceeds a configured limit (HTTP 413).
	ErrTooLarge = errors.New("input too large")
	// ErrTimeout: the exchange ran out of time (HTTP 504).
	ErrTimeout = errors.New("handler timed out")
	// ErrOverloaded: the handler is at its concurrency limit (HTTP 503).
	ErrOverloaded = errors.New("handler overloaded")
	// ErrRateLimited: the route's request-rate limit refused the exchange
	// (HTTP 429). Wrapped in a *RetryLaterError, it says when to try again.
	ErrRateLimited = errors.New("rate limited")
	// ErrHandlerFailed: the handler reported failure or trapped (HTTP 500).
	ErrHandlerFailed = errors.New("handler failed")
	// ErrBadGateway: the program the handler runs answered with something
	// that is not a response, such as a CGI module's malformed output
	// (HTTP 502).
	ErrBadGateway = errors.New("bad gateway")
	// ErrServerClosed is returned by Server.Serve after Shutdown.
	ErrServerClosed = errors.New("server closed")
)

// RetryAfter is how long a peer refused as overloaded (ErrOverloaded, 503)
// is asked to wait before it tries again: the HTTP transport sends it as
// Retry-After. A second is long enough for a burst to drain and short
// enough that a client that honours it loses little.
const RetryAfter = time.Second

// RetryLaterError is a refusal (ErrRateLimited, ErrOverloaded) that knows
// when its peer may try again: After, the wait of a rate limit's bucket.
type RetryLaterError struct {
	Err   error
	After time.Duration
}

func (e *RetryLaterError) Error() string { return e.Err.Error() }

// Unwrap returns the refusal.
func (e *RetryLaterError) Unwrap() error { return e.Err }

// RetryAfterOf is how long the peer of an exchange refused with err is
// asked to wait, in whole seconds (at least one, as HTTP's Retry-After
// counts): a RetryLaterError's After rounded up, RetryAfter for any other
// 429 or 503, and 0 (no such header) for other errors.
func RetryAfterOf(err error) time.Duration {
	var rl *RetryLaterError
	if errors.As(err, &rl) {
		return max(time.Second, (rl.After + time.Second - 1).Truncate(time.Second))
	}
	if s := StatusOf(err); s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable {
		return RetryAfter
	}
	return 0
}

// StatusOf returns the HTTP status that reports err: 404 for ErrNoRoute,
// 400 ErrBadRequest, 413 ErrTooLarge, 504 ErrTimeout or a context deadline,
// 429 ErrRateLimited, 503 ErrOverloaded, 502 ErrBadGateway, and 500 for anything else.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, ErrNoRoute):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrOverloaded):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrBadGateway):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// ErrorMessage returns the one-line message that reports a failed exchange
// to its peer (an error line, an AMQP reply header): the error's text for
// the peer's own mistakes (no route, bad or too large input), a generic
// phrase otherwise, whose details stay in the server log.
func ErrorMessage(err error) string {
	msg := "handler failed"
	switch code := StatusOf(err); {
	case errors.Is(err, ErrNoRoute), errors.Is(err, ErrTooLarge), errors.Is(err, ErrBadRequest):
		msg = err.Error()
	case code == http.StatusGatewayTimeout:
		msg = "handler timed out"
	case code == http.StatusServiceUnavailable:
		msg = "handler overloaded"
	case code == http.StatusTooManyRequests:
		msg = "rate limited"
	}
	return strings.ReplaceAll(msg, "\n", " ")
}

// StatusClientClosed is the status an access log gives an exchange whose
// context was cancelled before it finished, as nginx's 499 does: its client
// went away, or the server stopped it. No peer ever receives it.
const StatusClientClosed = 499

// Cancelled reports whether err ended an exchange because ctx, the
// exchange's context, was cancelled (its client went away, the server is
// stopping), rather than because the handler failed or ran out of time.
func Cancelled(ctx context.Context, err error) bool {
	return err != nil && errors.Is(ctx.Err(), context.Canceled)
}

// FailureLevel is the level of a record about an exchange that failed with
// err: DEBUG for what its peer caused (a 4xx status) or ended (a cancelled
// exchange: its client went away), ERROR for the server's own failures
// (5xx). The access log carries every exchange at INFO or above; these
// records add the detail.
func FailureLevel(ctx context.Context, err error) slog.Level {
	if Cancelled(ctx, err) || StatusOf(err) < 500 {
		return slog.LevelDebug
	}
	return slog.LevelError
}
