package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/bubblewasm/bubblewasm/abi"
)

// Defaults of Options.
const (
	// DefaultRate is the sustained records per second a Limiter admits.
	DefaultRate = 100
	// DefaultBurst is how many records a Limiter admits at once after a
	// quiet spell.
	DefaultBurst = 1000
	// DefaultMaxBytes caps a record's message and each string attribute:
	// the ABI's cap on a guest's record.
	DefaultMaxBytes = abi.MaxLogBytes
	// DefaultReportEvery is how long a count of dropped records waits to
	// be reported: one report per 5 s at most while records are dropped.
	DefaultReportEvery = 5 * time.Second
)

// DroppedMessage is the message of the record that reports dropped
// records; its attribute "dropped" holds the count.
const DroppedMessage = "log records dropped: over the rate limit"

// Options configure a Limiter. Zero fields take the defaults.
type Options struct {
	// Rate is the records per second the Limiter admits in the long run
	// (default DefaultRate).
	Rate float64
	// Burst is the size of the bucket: how many records it admits at once
	// (default DefaultBurst).
	Burst int
	// MaxBytes caps the message and each string or error attribute of a
	// record (default DefaultMaxBytes); longer ones are cut and marked.
	MaxBytes int
	// Parent, when set, is a budget this Limiter shares with others (the
	// whole process's): a record passes only when both have a token. The
	// dropped count is reported by this Limiter, with its attributes.
	Parent *Limiter
	// ReportEvery is how long after the first unreported drop the count is
	// reported (default DefaultReportEvery): at most one report per
	// ReportEvery however long a flood lasts.
	ReportEvery time.Duration
}

// Limiter is a token bucket of log records. Its methods are safe for
// concurrent use. Close it when its source goes away, so that the last
// dropped records are reported and its timer stops.
type Limiter struct {
	opts   Options
	bucket *rate.Limiter
	total  atomic.Int64 // records dropped in all

	mu      sync.Mutex
	pending int64        // dropped and not yet reported
	to      slog.Handler // where pending is reported: the last dropper's
	timer   *time.Timer  // reports pending after ReportEvery; nil when none
	closed  bool
}

// New returns a Limiter with a full bucket.
func New(opts Options) *Limiter {
	if opts.Rate <= 0 {
		opts.Rate = DefaultRate
	}
	if opts.Burst <= 0 {
		opts.Burst = DefaultBurst
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.ReportEvery <= 0 {
		opts.ReportEvery = DefaultReportEvery
	}
	return &Limiter{opts: opts, bucket: rate.NewLimiter(rate.Limit(opts.Rate), opts.Burst)}
}

// Handler returns a handler that passes h's records through l. Handlers
// derived from it (WithAttrs, WithGroup) share l.
func (l *Limiter) Handler(h slog.Handler) slog.Handler { return &handler{l: l, next: h} }

// Logger returns a logger whose records go through l to base's handler.
func (l *Limiter) Logger(base *slog.Logger) *slog.Logger { return slog.New(l.Handler(base.Handler())) }

// Dropped returns how many records l has dropped since it was made.
func (l *Limiter) Dropped() int64 { return l.total.Load() }

// Close reports the records dropped and not reported yet, and stops l's
// timer. l still limits records after Close; what it drops then is counted
// (Dropped) but not reported. Close always returns nil.
func (l *Limiter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.flush()
	return nil
}

// allow takes a token from l and from each of its parents.
func (l *Limiter) allow() bool {
	for p := l; p != nil; p = p.opts.Parent {
		if !p.bucket.Allow() {
			return false
		}
	}
	return true
}

// drop counts a record that h would have handled.
func (l *Limiter) drop(h slog.Handler) {
	l.total.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending++
	l.to = h
	if l.timer == nil && !l.closed {
		l.timer = time.AfterFunc(l.opts.ReportEvery, l.flush)
	}
}

// take returns and clears the pending count.
func (l *Limiter) take() (int64, slog.Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, h := l.pending, l.to
	l.pending, l.to = 0, nil
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	return n, h
}

// flush reports the pending count, if any, to the last dropper's handler.
func (l *Limiter) flush() {
	if n, h := l.take(); n > 0 {
		l.report(context.Background(), h, n)
	}
}

func (l *Limiter) report(ctx context.Context, h slog.Handler, n int64) {
	if !h.Enabled(ctx, slog.LevelWarn) {
		return
	}
	r := slog.NewRecord(time.Now(), slog.LevelWarn, DroppedMessage, 0)
	r.AddAttrs(slog.Int64("dropped", n), slog.Float64("rate", l.opts.Rate), slog.Int("burst", l.opts.Burst))
	h.Handle(ctx, r)
}

// handler is a slog.Handler that passes records through a Limiter.
type handler struct {
	l    *Limiter
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if !h.l.allow() {
		h.l.drop(h.next)
		return nil
	}
	return h.next.Handle(ctx, cutRecord(r, h.l.opts.MaxBytes))
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	cut := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		cut[i], _ = cutAttr(a, h.l.opts.MaxBytes)
	}
	return &handler{l: h.l, next: h.next.WithAttrs(cut)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{l: h.l, next: h.next.WithGroup(name)}
}

var _ slog.Handler = (*handler)(nil)
