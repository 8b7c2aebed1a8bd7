package wasm

import (
	"bytes"
	"container/list"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/bubblewasm/bubblewasm/server"
)

// Residency bounds how many handlers keep their module loaded — the
// compiled module (machine code and the engine's view of the module) and,
// for Snapshot, the snapshot image — so that a server of thousands of
// routes, most of them quiet, holds the code of the busy ones only. A
// compiled Go module is about 8 MB of machine code and 4 MB of heap; a
// thousand of them would otherwise stay in memory for as long as the
// server runs.
//
// Handlers made with a Residency are loaded by New as without one (every
// module is compiled, validated and its initialization proved at load),
// then unloaded, least recently used first, whenever more than Max are
// loaded: a handler is unloaded only while no exchange runs on it, and
// its idle instances are closed with it. The next exchange loads it
// again: the binary comes back from the spill file (see spillFile), is
// compiled again (from the compilation cache when the engine has one: tens
// of milliseconds for a Go module, against about a second of compiling),
// and initialized again for its snapshot; exchanges that arrive meanwhile
// wait for that load.
type Residency struct {
	max   int
	spill *spillFile
	// loads bounds the loads under way at once to half the cores (at
	// least one): a client asking for one unloaded route after another
	// makes every request a compilation, and the routes whose modules
	// are loaded must keep the other half to serve their requests.
	loads chan struct{}
	mu    sync.Mutex
	lru   list.List // *Handler whose module is loaded, most recently used first
	n     atomic.Int64
}

// NewResidency makes a Residency that keeps at most most handlers loaded
// (at least 1). Binaries are spilled to a file in dir (the system's
// temporary directory when empty), which no name points to.
func NewResidency(most int, dir string) (*Residency, error) {
	if most < 1 {
		return nil, fmt.Errorf("resident modules: want at least 1, got %d", most)
	}
	s, err := newSpillFile(dir)
	if err != nil {
		return nil, err
	}
	return &Residency{max: most, spill: s, loads: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}, nil
}

// Max is the most handlers kept loaded.
func (r *Residency) Max() int { return r.max }

// Loaded is how many handlers have their module loaded now. It can exceed
// Max while more than Max run exchanges at once.
func (r *Residency) Loaded() int { return int(r.n.Load()) }

// Close releases the spill file; the handlers must be closed first.
func (r *Residency) Close() error { return r.spill.close() }

// residence is a handler's side of a Residency: its module when loaded,
// the exchanges using it, and where its binary is spilled.
type residence struct {
	r   *Residency // nil: the module stays loaded until Close
	bin spillRef

	mu        sync.Mutex
	cur       *loaded       // nil while unloaded
	users     int           // exchanges holding cur
	restoring chan struct{} // closed when the load under way ends
	closed    bool
	elem      *list.Element // in r.lru while cur is set; r.mu guards it
}

// loaded is what a handler needs in memory to make instances.
type loaded struct {
	module Module
	image  *Image // the snapshot (Snapshot)
}

// close releases the module and the image.
func (l *loaded) close(ctx context.Context) error {
	err := l.module.Close(ctx)
	if l.image != nil {
		l.image.Memory.Close()
	}
	return err
}

// use returns the handler's loaded module for one exchange, loading it
// again if it was unloaded; the caller gives it back with done. Without a
// Residency it is the module New loaded, with no bookkeeping.
func (h *Handler) use(ctx context.Context) (*loaded, error) {
	res := &h.res
	if res.r == nil {
		return res.cur, nil
	}
	for {
		res.mu.Lock()
		switch {
		case res.closed:
			res.mu.Unlock()
			return nil, fmt.Errorf("%w: the route was closed", server.ErrHandlerFailed)
		case res.cur != nil:
			l := res.cur
			res.users++
			res.mu.Unlock()
			res.r.touch(h)
			return l, nil
		case res.restoring == nil:
			done := make(chan struct{})
			res.restoring = done
			res.mu.Unlock()
			return h.load(ctx, done)
		default:
			wait := res.restoring
			res.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: waiting for the module to load: %w", server.ErrOverloaded, ctx.Err())
			}
		}
	}
}

// load loads the module again for use, which marked the load under way
// with done (closed, and the mark cleared, when load returns), and holds
// it for the caller. The load waits for a place among those allowed at
// once within ctx; once it has one, it goes on if ctx ends (others may be
// waiting for it) and start bounds the initialization.
func (h *Handler) load(ctx context.Context, done chan struct{}) (*loaded, error) {
	res := &h.res
	finish := func() {
		res.restoring = nil
		close(done) // waiters look again: loaded, or one of them loads
	}
	select {
	case res.r.loads <- struct{}{}:
	case <-ctx.Done():
		res.mu.Lock()
		finish()
		res.mu.Unlock()
		return nil, fmt.Errorf("%w: no place to load the module again among the %d loads allowed at once: %w", server.ErrOverloaded, cap(res.r.loads), ctx.Err())
	}
	l, err := h.reload(context.WithoutCancel(ctx))
	<-res.r.loads
	res.mu.Lock()
	finish()
	closed := res.closed
	if err == nil && !closed {
		res.cur = l
		res.users++
	}
	res.mu.Unlock()
	switch {
	case err != nil:
		h.opts.Logger.Error("loading the module again failed", "error", err)
		if errors.Is(err, server.ErrOverloaded) || errors.Is(err, context.DeadlineExceeded) {
			// It loaded before: the time ran out waiting for memory or a
			// busy machine, not on the module.
			return nil, fmt.Errorf("%w: loading the module again: %w", server.ErrOverloaded, err)
		}
		return nil, fmt.Errorf("%w: loading the module again: %w", server.ErrHandlerFailed, err)
	case closed:
		l.close(context.Background())
		return nil, fmt.Errorf("%w: the route was closed", server.ErrHandlerFailed)
	}
	h.stats.restores.Add(1)
	res.r.add(h)
	return l, nil
}

// done gives back what use returned; the handler may be unloaded once no
// exchange uses it.
func (h *Handler) done() {
	res := &h.res
	if res.r == nil {
		return
	}
	res.mu.Lock()
	res.users--
	idle := res.users == 0
	res.mu.Unlock()
	if idle && res.r.Loaded() > res.r.max {
		res.r.evict()
	}
}

// spillModule writes p to the spill file: what a handler needs to compile
// its module again (the binary after the load-time rewrites, which cost a
// third of a load again, and what the snapshot rewrite took out of it).
func (r *Residency) spillModule(p *preparedModule) (spillRef, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(p); err != nil {
		return spillRef{}, fmt.Errorf("module spill file: %w", err)
	}
	return r.spill.put(buf.Bytes())
}

// reload compiles the spilled binary again, as New did, and initializes an
// instance for the snapshot. It does not check the ABI and the grants
// again: the bytes are those New checked.
func (h *Handler) reload(ctx context.Context) (*loaded, error) {
	rec, err := h.res.r.spill.get(h.res.bin)
	if err != nil {
		return nil, err
	}
	var p preparedModule
	if err := gob.NewDecoder(bytes.NewReader(rec)).Decode(&p); err != nil {
		return nil, fmt.Errorf("module spill file: %w", err)
	}
	plan := p.plan()
	m, err := h.engine.Compile(ctx, p.Bin, h.opts.Limits)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	l := &loaded{module: m}
	if !h.cgi {
		if err := h.start(ctx, l, plan, false); err != nil {
			m.Close(ctx)
			return nil, fmt.Errorf("instantiate: %w", err)
		}
	}
	return l, nil
}

// touch makes h the most recently used.
func (r *Residency) touch(h *Handler) {
	r.mu.Lock()
	if e := h.res.elem; e != nil {
		r.lru.MoveToFront(e)
	}
	r.mu.Unlock()
}

// add counts h, just loaded, as the most recently used, and unloads the
// least recently used beyond Max.
func (r *Residency) add(h *Handler) {
	r.mu.Lock()
	if h.res.elem == nil {
		h.res.elem = r.lru.PushFront(h)
		r.n.Add(1)
	}
	r.mu.Unlock()
	r.evict()
}

// evict unloads the least recently used handlers that no exchange uses
// until at most Max are loaded (or none is left that can be).
func (r *Residency) evict() {
	var out []*loaded
	var idle [][]*guest
	r.mu.Lock()
	for e := r.lru.Back(); e != nil && r.lru.Len() > r.max; {
		prev := e.Prev()
		h := e.Value.(*Handler)
		res := &h.res
		res.mu.Lock()
		if res.users == 0 && res.cur != nil {
			out = append(out, res.cur)
			res.cur = nil
			// Idle instances are of the module being closed: they go now,
			// before a load can make a new module that the pool serves.
			idle = append(idle, h.pool.takeAll())
			r.lru.Remove(e)
			res.elem = nil
			r.n.Add(-1)
			h.stats.evictions.Add(1)
		}
		res.mu.Unlock()
		e = prev
	}
	r.mu.Unlock()
	ctx := context.Background()
	for _, gs := range idle {
		for _, g := range gs {
			g.close(ctx)
		}
	}
	for _, l := range out {
		l.close(ctx)
	}
}

// closeResidence unloads the module for good and frees the spilled
// binary. Like Close, it expects no exchange to run any more.
func (h *Handler) closeResidence(ctx context.Context) error {
	res := &h.res
	r := res.r
	if r != nil {
		r.mu.Lock()
	}
	res.mu.Lock()
	l := res.cur
	res.cur, res.closed = nil, true
	if r != nil && res.elem != nil {
		r.lru.Remove(res.elem)
		res.elem = nil
		r.n.Add(-1)
	}
	res.mu.Unlock()
	if r != nil {
		r.mu.Unlock()
		r.spill.free(res.bin)
	}
	if l == nil {
		return nil
	}
	return l.close(ctx)
}
