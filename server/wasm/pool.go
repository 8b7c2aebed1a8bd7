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
type pool struct {
	size   int
	idle   time.Duration
	budget *MemoryBudget // nil without one
	mu     sync.Mutex
	list   []*guest // oldest first
	closed bool
	stop   chan struct{} // closed by close, to end sweep
	done   sync.WaitGroup
}

func newPool(size int, idle time.Duration, budget *MemoryBudget) *pool {
	p := &pool{size: size, idle: idle, budget: budget, stop: make(chan struct{})}
	p.done.Go(p.sweep)
	budget.addIdle(p)
	return p
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
	return true
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

// sweep closes instances idle longer than p.idle until the pool closes.
func (p *pool) sweep() {
	t := time.NewTicker(max(p.idle/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			n := 0
			for n < len(p.list) && now.Sub(p.list[n].idleSince) >= p.idle {
				n++
			}
			old := append([]*guest(nil), p.list[:n]...)
			p.list = append(p.list[:0], p.list[n:]...)
			p.mu.Unlock()
			for _, g := range old {
				g.close(context.Background())
			}
		}
	}
}

// close stops the sweeper and closes every idle instance.
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
	close(p.stop)
	p.done.Wait()
	for _, g := range list {
		g.close(ctx)
	}
}
