package app

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"

	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// sharedEngine is an engine that compiles each distinct module once per
// process: routes that serve the same binary with the same limits (the
// three routes of examples/chat, say) get one compiled module between
// them, and a route that asks while the compilation runs waits for it
// instead of compiling the same code again beside it.
//
// The key is what the engine compiles: the SHA-256 of the binary after the
// load-time rewrites (which depend on the stack and table limits) and the
// limits the module is compiled with. The engine is the one this wraps.
// Anything else that changes the compiled result changes one of these.
type sharedEngine struct {
	wasm.Engine
	mu       sync.Mutex
	compiled map[compileKey]*compilation

	// compilations counts the modules compiled, shared the routes that got
	// a module another route compiled (metrics).
	compilations, shared atomic.Uint64
	counted              bool // registered with the metrics; App.enginesMu guards it
}

type compileKey struct {
	sum    [sha256.Size]byte
	limits wasm.Limits
}

// compilation is one compiled module and the routes using it.
type compilation struct {
	done chan struct{} // closed when mod or err is set
	mod  wasm.Module
	err  error
	refs int // routes holding it, and routes waiting for it
}

func newSharedEngine(e wasm.Engine) *sharedEngine {
	return &sharedEngine{Engine: e, compiled: map[compileKey]*compilation{}}
}

// Compile returns the module compiled from bin with limits, compiling it
// only if no route has it yet. Each module it returns must be closed; the
// compiled module is closed with the last of them.
func (e *sharedEngine) Compile(ctx context.Context, bin []byte, limits wasm.Limits) (wasm.Module, error) {
	key := compileKey{sum: sha256.Sum256(bin), limits: limits}
	e.mu.Lock()
	c, found := e.compiled[key]
	if !found {
		c = &compilation{done: make(chan struct{})}
		e.compiled[key] = c
	}
	c.refs++
	e.mu.Unlock()
	if !found {
		e.compilations.Add(1)
		c.mod, c.err = e.Engine.Compile(ctx, bin, limits)
		close(c.done)
	} else {
		e.shared.Add(1)
		select {
		case <-c.done:
		case <-ctx.Done():
			e.release(ctx, key, c)
			return nil, ctx.Err()
		}
	}
	if c.err != nil {
		e.release(ctx, key, c)
		return nil, c.err
	}
	return &sharedModule{Module: c.mod, close: func(ctx context.Context) error { return e.release(ctx, key, c) }}, nil
}

// release drops one reference to c, closing its module after the last.
func (e *sharedEngine) release(ctx context.Context, key compileKey, c *compilation) error {
	e.mu.Lock()
	c.refs--
	last := c.refs == 0
	if last && e.compiled[key] == c {
		delete(e.compiled, key)
	}
	e.mu.Unlock()
	if last && c.mod != nil {
		return c.mod.Close(ctx)
	}
	return nil
}

// sharedModule is one route's hold on a shared compiled module.
type sharedModule struct {
	wasm.Module
	once  sync.Once
	close func(context.Context) error
}

// Close releases the route's hold; the compiled module closes with the
// last one. Closing twice releases once.
func (m *sharedModule) Close(ctx context.Context) error {
	var err error
	m.once.Do(func() { err = m.close(ctx) })
	return err
}

// Unwrap returns the engine's module, for callers that look for optional
// methods on it.
func (m *sharedModule) Unwrap() wasm.Module { return m.Module }

var (
	_ wasm.Engine = (*sharedEngine)(nil)
	_ wasm.Module = (*sharedModule)(nil)
)
