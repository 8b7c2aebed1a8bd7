package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Signals lets callers park until someone signals a name: a long poll that
// waits for an event rather than for a queued message. Signals are
// edge-triggered and not stored: Send wakes the callers waiting at that
// moment and is otherwise lost. A caller that must not miss an event
// checks its state (in a KV store, say) before waiting and uses a timeout,
// or subscribes to a Broker channel instead.
type Signals interface {
	// Wait parks the caller until Send(name), timeout, Close or the end of
	// ctx, and returns the payload Send gave. Several callers may wait on
	// one name; each gets the same payload, which they must treat as
	// read-only. A timeout ≤ 0 does not wait. Errors: ErrTimeout,
	// ErrBadName, ErrClosed, ctx.Err().
	Wait(ctx context.Context, name string, timeout time.Duration) (payload []byte, err error)

	// Watch registers a waiter on name without blocking: a Send from now
	// on closes the Watch's Ready and counts it as woken, and Stop returns
	// its payload (ErrClosed after Close, ErrTimeout when no Send came).
	// Errors: ErrBadName, ErrClosed.
	Watch(name string) (Watch, error)

	// Send wakes every current waiter on name with payload and returns how
	// many it woke (0 when nobody waited: the signal is dropped). Errors:
	// ErrBadName, ErrTooLarge, ErrClosed, ctx.Err().
	Send(ctx context.Context, name string, payload []byte) (woken int, err error)

	// Close wakes every waiter with ErrClosed; later calls return
	// ErrClosed. Close is idempotent.
	Close() error
}

// SignalOptions configure MemorySignals. Zero fields take the defaults
// documented on each.
type SignalOptions struct {
	// MaxPayloadBytes is the largest payload Send accepts (default 64 KiB).
	MaxPayloadBytes int
}

// MemorySignals is the in-memory Signals. A waiter costs its caller's
// goroutine (parked, not a thread), one runtime timer (no goroutine) and a
// share of a per-name record; all waiters on one name wait on one channel
// that Send closes, so Send is O(1) whatever the number of waiters.
type MemorySignals struct {
	maxPayload int

	mu     sync.Mutex
	waits  map[string]*generation
	closed bool
}

// generation is the set of callers waiting on one name until the next Send.
type generation struct {
	done    chan struct{} // closed by Send (after payload and sent are set) or Close
	payload []byte
	waiters int  // guarded by MemorySignals.mu
	sent    bool // set under MemorySignals.mu before done is closed
}

// NewMemorySignals returns an empty MemorySignals.
func NewMemorySignals(opts SignalOptions) *MemorySignals {
	if opts.MaxPayloadBytes <= 0 {
		opts.MaxPayloadBytes = 64 << 10
	}
	return &MemorySignals{
		maxPayload: opts.MaxPayloadBytes,
		waits:      make(map[string]*generation),
	}
}

// Wait implements Signals.
func (m *MemorySignals) Wait(ctx context.Context, name string, timeout time.Duration) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w, err := m.watch(name, timeout > 0)
	switch {
	case err != nil:
		return nil, err
	case w == nil:
		return nil, ErrTimeout
	}
	// Three channels, so a parked waiter holds three runtime sudogs and a
	// timer: Close closes g.done too rather than adding a fourth case.
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var gaveUp error
	select {
	case <-w.g.done:
	case <-timer.C:
		gaveUp = ErrTimeout
	case <-ctx.Done():
		gaveUp = ctx.Err()
	}
	p, err := w.Stop()
	if errors.Is(err, ErrTimeout) && gaveUp != nil {
		err = gaveUp
	}
	return p, err
}

// Watch implements Signals.
func (m *MemorySignals) Watch(name string) (Watch, error) {
	w, err := m.watch(name, true)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// watch checks name and, with register, adds a waiter to its generation.
// Without register it only reports the errors a waiter would get.
func (m *MemorySignals) watch(name string, register bool) (*signalWatch, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return nil, ErrClosed
	case !register:
		return nil, nil
	}
	g := m.waits[name]
	if g == nil {
		g = &generation{done: make(chan struct{})}
		m.waits[name] = g
	}
	g.waiters++
	return &signalWatch{m: m, name: name, g: g}, nil
}

// signalWatch is one waiter of a MemorySignals generation.
type signalWatch struct {
	m       *MemorySignals
	name    string
	g       *generation
	once    sync.Once
	payload []byte
	err     error
}

func (w *signalWatch) Ready() <-chan struct{} { return w.g.done }

// Stop leaves the generation unless a Send already counted this waiter as
// woken, in which case its payload is the outcome.
func (w *signalWatch) Stop() ([]byte, error) {
	w.once.Do(func() {
		m, g := w.m, w.g
		m.mu.Lock()
		defer m.mu.Unlock()
		switch {
		case g.sent:
			w.payload = g.payload
			return
		case m.closed:
			w.err = ErrClosed
			return
		}
		w.err = ErrTimeout
		g.waiters--
		if g.waiters == 0 && m.waits[w.name] == g {
			delete(m.waits, w.name)
		}
	})
	return w.payload, w.err
}

// Send implements Signals.
func (m *MemorySignals) Send(ctx context.Context, name string, payload []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := CheckName(name); err != nil {
		return 0, err
	}
	if len(payload) > m.maxPayload {
		return 0, fmt.Errorf("%w: payload of %d bytes exceeds %d", ErrTooLarge, len(payload), m.maxPayload)
	}
	p := append(make([]byte, 0, len(payload)), payload...)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	g := m.waits[name]
	if g == nil {
		return 0, nil
	}
	delete(m.waits, name)
	g.payload = p
	g.sent = true
	close(g.done)
	return g.waiters, nil
}

// Close implements Signals.
func (m *MemorySignals) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		for _, g := range m.waits {
			close(g.done) // sent stays false: the waiters return ErrClosed
		}
		m.waits = nil
	}
	return nil
}

// waiting returns the number of callers waiting on name (for tests).
func (m *MemorySignals) waiting(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.waits[name]; g != nil {
		return g.waiters
	}
	return 0
}

var _ Signals = (*MemorySignals)(nil)
