package wasm

import (
	"context"
	"sync"
	"time"
)

// pool keeps the idle instances of a Snapshot or Pool route, newest on
// top. It closes those idle longer than its timeout, and gives up its
// oldest ones when the memory budget needs room for a new instance (of any
// route).
//
// The sweep that closes idle instances runs on a timer that is armed only
// while the pool keeps some: a server of many routes, most of them
// quiet, holds no timer and no goroutine per quiet route. (The runtime
// walks all its timers now and then, so a timer per route would cost
// every exchange of every route a little more for each route configured.)
type pool struct {
	size   int
	idle   time.Duration
	budget *MemoryBudget // nil without one
	mu     sync.Mutex
	list   []*guest // oldest first
	closed bool
	timer  *time.Timer // runs sweep; armed while list is not empty
	armed  bool
	// sweeping is held by sweep while it closes instances, so that close
	// returns only after a sweep under way has finished.
	sweeping sync.Mutex
}

// minSweep is the shortest wait between two sweeps, so that instances
// that expire close together are closed in one pass.
const minSweep = 10 * time.Millisecond

func newPool(size int, idle time.Duration, budget *MemoryBudget) *pool {
	p := &pool{size: size, idle: idle, budget: budget}
	p.timer = time.AfterFunc(time.Hour, p.sweep)
	p.timer.Stop()
	budget.addIdle(p)
	return p
}

// armLocked arms the sweep timer for the oldest idle instance if it is not
// armed. p.mu is held and the list is not empty.
func (p *pool) armLocked(now time.Time) {
	if p.armed {
		return
	}
	p.armed = true
	p.timer.Reset(max(p.list[0].idleSince.Add(p.idle).Sub(now), minSweep))
}

// get returns the most recently used idle instance, or nil (also for a nil
// pool, as for the Fresh lifecycle).
func (p *pool) get() *guest {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.list)
	if n == 0 {
		return nil
	}
	g := p.list[n-1]
	p.list[n-1] = nil
	p.list = p.list[:n-1]
	return g
}

// put keeps g if the pool has room.
func (p *pool) put(g *guest) bool {
	if p == nil {
		return false
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.list) >= p.size || p.closed {
		return false
	}
	g.idleSince = now
	p.list = append(p.list, g)
	p.armLocked(now)
	return true
}

// takeAll removes every idle instance and returns them, for the caller to
// close (nil for a nil pool).
func (p *pool) takeAll() []*guest {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.list
	p.list = nil
	return list
}

// closeOldest closes the instance idle longest and reports whether there
// was one.
func (p *pool) closeOldest() bool {
	p.mu.Lock()
	if len(p.list) == 0 {
		p.mu.Unlock()
		return false
	}
	g := p.list[0]
	p.list = append(p.list[:0], p.list[1:]...)
	p.mu.Unlock()
	g.close(context.Background())
	return true
}

// sweep closes the instances idle longer than p.idle and arms the timer
// again for the oldest one left.
func (p *pool) sweep() {
	p.sweeping.Lock()
	defer p.sweeping.Unlock()
	now := time.Now()
	p.mu.Lock()
	p.armed = false
	if p.closed {
		p.mu.Unlock()
		return
	}
	n := 0
	for n < len(p.list) && now.Sub(p.list[n].idleSince) >= p.idle {
		n++
	}
	old := append([]*guest(nil), p.list[:n]...)
	p.list = append(p.list[:0], p.list[n:]...)
	if len(p.list) > 0 {
		p.armLocked(now)
	}
	p.mu.Unlock()
	for _, g := range old {
		g.close(context.Background())
	}
}

// close stops the sweep timer and closes every idle instance.
func (p *pool) close(ctx context.Context) {
	p.mu.Lock()
	was := p.closed
	p.closed = true
	list := p.list
	p.list = nil
	p.mu.Unlock()
	if was {
		return
	}
	p.budget.removeIdle(p)
	p.timer.Stop()
	p.sweeping.Lock() // a sweep under way has finished
	p.sweeping.Unlock()
	for _, g := range list {
		g.close(ctx)
	}
}
