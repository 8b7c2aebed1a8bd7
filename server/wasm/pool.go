package wasm

import (
	"context"
	"sync"
	"time"
)

// pool keeps idle instances of a Pool route, newest on top, and closes
// those idle longer than its timeout.
type pool struct {
	size   int
	idle   time.Duration
	mu     sync.Mutex
	list   []*guest // oldest first
	closed bool
	stop   chan struct{} // closed by close, to end sweep
	done   sync.WaitGroup
}

func newPool(size int, idle time.Duration) *pool {
	p := &pool{size: size, idle: idle, stop: make(chan struct{})}
	p.done.Go(p.sweep)
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
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.list) >= p.size || p.closed {
		return false
	}
	g.idleSince = time.Now()
	p.list = append(p.list, g)
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
	close(p.stop)
	p.done.Wait()
	for _, g := range list {
		g.close(ctx)
	}
}
