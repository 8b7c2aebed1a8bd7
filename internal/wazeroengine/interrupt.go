package wazeroengine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/api"

	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// Interruption. A guest call must stop when its context ends (a timeout,
// a client gone, the server stopping), even in a loop that calls nothing.
// wazero's own way, WithCloseOnContextDone, starts a goroutine per call to
// watch the context and makes the compiled code leave for Go at every
// loop iteration to check whether the module was closed: measured with
// callgrind, 45% of the instructions of a Go SDK exchange and 25% of a WAT
// one. A binary that has the interrupt guard instead (server/wasm's
// guardStack; Limits.InterruptGuard) counts down at every call and loop
// and, once every few thousand, leaves for Go for an instant (so that a
// looping guest cannot keep the Go scheduler from running the timers and
// goroutines that end its context) and checks a flag. The adapter stops a
// guest by setting the flag and the countdown to 1 from a
// context.AfterFunc: the guest traps at its next call or loop iteration,
// and the call returns an error that wraps the context's. A guest blocked
// in a host function is not the guard's business: the host function
// returns on the exchange's deadline (abi.Exchange), and the guest traps
// at its next check. A binary without the guard (the adapter's tests
// compile raw modules) keeps wazero's way.

// guard is an instance's side of the interrupt guard.
type guard struct {
	bound *binding
	// callCtx is the context of every guest call of a guarded instance: it
	// carries bound and never ends (the guard does the stopping).
	callCtx   context.Context
	interrupt api.MutableGlobal // nil without the guard
	ticks     api.MutableGlobal
	pending   sync.WaitGroup // an armed stop that may still run
	// stopped is set by stop, which runs on another goroutine: call reads
	// it only after pending says that stop ran or never will.
	stopped atomic.Bool
}

func (g *guard) init(mod api.Module, b *binding, guarded bool) {
	g.bound = b
	if !guarded {
		return
	}
	flag, _ := mod.ExportedGlobal(wasm.InterruptGlobal).(api.MutableGlobal)
	ticks, _ := mod.ExportedGlobal(wasm.InterruptTicksGlobal).(api.MutableGlobal)
	if flag == nil || ticks == nil {
		return // a module with no function has no guard
	}
	g.interrupt, g.ticks = flag, ticks
	g.callCtx = context.WithValue(context.Background(), exchangeKey{}, b)
}

// call calls f with stack (parameters, then results), stopped when ctx
// ends. The instance's flag is clear when it returns, so that a stop that
// came as the guest returned does not fail the instance's next call.
func (g *guard) call(ctx context.Context, f api.Function, stack []uint64) error {
	if g.interrupt == nil {
		return callError(f.CallWithStack(context.WithValue(ctx, exchangeKey{}, g.bound), stack))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w (the guest was not called)", err)
	}
	var stop func() bool
	if ctx.Done() != nil {
		g.pending.Add(1)
		stop = context.AfterFunc(ctx, g.stop)
	}
	g.bound.ctx = ctx
	err := f.CallWithStack(g.callCtx, stack)
	g.bound.ctx = nil
	if stop != nil {
		if stop() {
			g.pending.Done()
		} else {
			g.pending.Wait() // stop must not set the flag after this call
		}
	}
	if g.stopped.Swap(false) {
		g.interrupt.Set(0)
		if err != nil {
			return &interrupted{ctx: ctx.Err(), cause: err}
		}
	}
	return callError(err)
}

// stop runs when the call's context ends.
func (g *guard) stop() {
	g.interrupt.Set(1)
	g.ticks.Set(1)
	g.stopped.Store(true)
	g.pending.Done()
}

// interrupted is the error of a guest call the guard stopped: it wraps the
// context's error, as wazero's own interruption does (callError).
type interrupted struct {
	ctx   error // context.DeadlineExceeded or context.Canceled
	cause error // the trap
}

func (e *interrupted) Error() string {
	return fmt.Sprintf("%v (wasm interrupted: %v)", e.ctx, firstLine(e.cause.Error()))
}

func (e *interrupted) Unwrap() []error { return []error{e.ctx, e.cause} }

func firstLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
