package wasm

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// Parking (bubblewasm_park_v1, ABI.md): a run of bubble_handle registers
// what its exchange waits for and returns; Serve gives the instance back,
// with the slot, the gate place and the memory the run held, and waits
// holding only the exchange; then it runs bubble_handle again, on whatever
// instance acquire gives, with the same exchange.

// DefaultMaxWaiting bounds the exchanges of a route parked at once.
const DefaultMaxWaiting = 10_000

// Watch is what a parked exchange waits on besides its timeout: a
// subscription that gets a message, a signal being sent. It holds no
// goroutine.
type Watch interface {
	// Ready is closed once the event has happened or the service behind
	// the watch has closed.
	Ready() <-chan struct{}
	// Stop ends the watch and says what happened: wake is abi.WakeMessage
	// or abi.WakeSignal (with the signal's payload) when the event came,
	// even after the waiter gave up on it; abi.WakeShutdown when the
	// service closed; "" when nothing happened. It is called once.
	Stop() (wake string, payload []byte)
}

// MessageWatcher is implemented by a pub/sub binding (what
// Services.PubSub returns) that can park an exchange on a subscription.
type MessageWatcher interface {
	// WatchMessage returns a Watch that is ready once subscription id has
	// a message queued or is gone. The id must be one the route may fetch
	// from (abi.ErrGone otherwise), as for Next.
	WatchMessage(id string) (Watch, error)
}

// SignalWatcher is implemented by a signals binding (what
// Services.Signals returns) that can park an exchange on a signal.
type SignalWatcher interface {
	// WatchSignal registers a waiter on name at once, so that a send from
	// then on is not lost, and returns it. Errors as for Wait's name:
	// abi.ErrInvalidName, abi.ErrNotGranted.
	WatchSignal(name string) (Watch, error)
}

// lot counts a route's parked exchanges against Options.MaxWaiting.
type lot struct {
	max    int64
	n      atomic.Int64
	drain  <-chan struct{} // Options.Drain
	parked atomic.Int64    // exchanges waiting now (for tests)
}

func (l *lot) reserve() bool {
	if l.n.Add(1) > l.max {
		l.n.Add(-1)
		return false
	}
	return true
}

func (l *lot) release() { l.n.Add(-1) }

func (l *lot) draining() bool {
	select {
	case <-l.drain:
		return true
	default:
		return false
	}
}

// parkState is an exchange's side of parking, kept across its runs; it is
// made when the guest first parks or stashes.
type parkState struct {
	pending *pending // the wait registered in this run
	state   []byte   // the last stash
	stashed bool
	resumes int
	payload []byte // the signal that woke this run
	woken   bool
}

// pending is a registered wait; it holds a place in the lot.
type pending struct {
	park  abi.Park
	watch Watch // nil for a timeout
}

// drop stops p's watch and gives its place back.
func (p *pending) drop(l *lot) {
	if p.watch != nil {
		p.watch.Stop()
	}
	l.release()
}

// state returns the exchange's parking state, making it on first use.
func (e *hostExchange) state() *parkState {
	if e.park == nil {
		e.park = &parkState{}
	}
	return e.park
}

// Park implements abi.Parker.
func (e *hostExchange) Park(p abi.Park) error {
	l := e.lot
	switch {
	case l == nil || e.ctx == nil:
		return abi.ErrNoPark
	case e.park != nil && e.park.pending != nil:
		return abi.ErrParked
	}
	var w Watch
	var err error
	switch p.On {
	case abi.ParkMessage:
		mw, ok := e.PubSub().(MessageWatcher)
		if !ok {
			return fmt.Errorf("park on a message: %w (the route has no pubsub)", abi.ErrNotGranted)
		}
		w, err = mw.WatchMessage(p.Name)
	case abi.ParkSignal:
		sw, ok := e.Signals().(SignalWatcher)
		if !ok {
			return fmt.Errorf("park on a signal: %w (the route has no signals)", abi.ErrNotGranted)
		}
		w, err = sw.WatchSignal(p.Name)
	}
	if err != nil {
		return err
	}
	switch {
	case l.draining():
		err = fmt.Errorf("%w: the server is shutting down", abi.ErrNoPark)
	case !l.reserve():
		err = fmt.Errorf("%w: the route has %d exchanges parked (max_waiting)", abi.ErrCapacity, l.max)
	}
	if err != nil {
		if w != nil {
			w.Stop()
		}
		return err
	}
	e.state().pending = &pending{park: p, watch: w}
	return nil
}

// Unpark implements abi.Parker.
func (e *hostExchange) Unpark() {
	if e.park != nil && e.park.pending != nil {
		pd := e.park.pending
		e.park.pending = nil
		pd.drop(e.lot)
	}
}

// Stash implements abi.Parker.
func (e *hostExchange) Stash(state []byte) error {
	if e.lot == nil || e.ctx == nil {
		return abi.ErrNoPark
	}
	ps := e.state()
	ps.state = append(ps.state[:0], state...)
	ps.stashed = true
	return nil
}

// State implements abi.Parker.
func (e *hostExchange) State() ([]byte, bool) {
	if e.park == nil {
		return nil, false
	}
	return e.park.state, e.park.stashed
}

// WakePayload implements abi.Parker.
func (e *hostExchange) WakePayload() ([]byte, bool) {
	if e.park == nil {
		return nil, false
	}
	return e.park.payload, e.park.woken
}

// serveRuns runs the exchange (run) and, as long as a run parks it, waits
// and runs it again.
func (h *Handler) serveRuns(ctx context.Context, x *server.Exchange, hx *hostExchange) error {
	hx.lot = &h.lot
	for {
		err := h.run(ctx, x, hx)
		if hx.park == nil || hx.park.pending == nil {
			return err
		}
		pd := hx.park.pending
		hx.park.pending = nil
		if err != nil {
			pd.drop(&h.lot) // a failed run's wait is dropped
			return err
		}
		if err := h.wait(ctx, x, hx, pd); err != nil {
			return err
		}
	}
}

// wait holds a parked exchange until its event, its timeout, the server
// draining or the end of ctx (the client gone, the deadline), and sets up
// the next run: the resume count, why it woke and a signal's payload.
func (h *Handler) wait(ctx context.Context, x *server.Exchange, hx *hostExchange, pd *pending) error {
	h.lot.parked.Add(1)
	defer h.lot.parked.Add(-1)
	defer h.lot.release()
	timer := time.NewTimer(pd.park.Timeout)
	defer timer.Stop()
	var ready <-chan struct{} // nil for a timeout: never ready
	if pd.watch != nil {
		ready = pd.watch.Ready()
	}
	wake := abi.WakeTimeout
	select {
	case <-ready:
	case <-timer.C:
	case <-h.lot.drain:
		wake = abi.WakeShutdown
	case <-ctx.Done():
	}
	var payload []byte
	if pd.watch != nil {
		if w, p := pd.watch.Stop(); w != "" {
			wake, payload = w, p
		}
	}
	if ctx.Err() != nil {
		return h.ctxError(ctx, fmt.Errorf("while parked: %w", ctx.Err()))
	}
	hx.park.resumes++
	hx.park.payload, hx.park.woken = payload, wake == abi.WakeSignal
	if x.Env == nil {
		x.Env = server.Env{}
	}
	x.Env[abi.EnvResume] = strconv.Itoa(hx.park.resumes)
	x.Env[abi.EnvWake] = wake
	return nil
}

var _ abi.Parker = (*hostExchange)(nil)
