package wasm

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// Process-wide resources. A route's own limits (max_concurrency, memory)
// bound one route; the two bounds here are shared by every route that is
// given them, so that no mix of routes and clients can exhaust what the
// whole process has: OS threads (Gate) and memory (MemoryBudget). Waiting
// for either is bounded by the exchange's deadline, after which the
// exchange is refused as overloaded (503), never started.

// Gate bounds how many guest runs are under way at once across the routes
// that share it. The app gives one to every wasmtime route: a wasmtime
// guest runs inside a cgo call, so a guest blocked in a host call (reading
// a slow body, waiting on a signal) holds an OS thread, and Go aborts the
// process when it reaches its thread limit (runtime/debug.SetMaxThreads).
type Gate struct {
	places chan struct{}
	share  int64
}

// DefaultRouteShare is the fraction of a Gate's places, or of a
// MemoryBudget, that one route may hold unless told otherwise: three
// quarters for a gate, so that a route whose guests all block (a
// slow-body attack on it) leaves room for the others; the whole of a
// budget made by NewMemoryBudget.
const DefaultRouteShare = 0.75

// NewGate returns a gate with n places (n > 0), of which one route may
// hold DefaultRouteShare.
func NewGate(n int) *Gate {
	return NewGateShare(n, DefaultRouteShare)
}

// NewGateShare returns a gate with n places (n > 0), of which one route
// may hold the fraction share (0 < share <= 1), rounded up, at least one.
func NewGateShare(n int, share float64) *Gate {
	return &Gate{places: make(chan struct{}, n), share: ShareOf(int64(n), share)}
}

// ShareOf is the part share (0 < share <= 1) of a limit n that one route
// may hold: rounded up (a product a rounding error above a whole number is
// that number), at least 1, at most n.
func ShareOf(n int64, share float64) int64 {
	if share <= 0 || share >= 1 {
		return n
	}
	return min(n, max(1, int64(math.Ceil(float64(n)*share-1e-9))))
}

// Cap is the number of places.
func (g *Gate) Cap() int { return cap(g.places) }

// Share is the most places one route may hold.
func (g *Gate) Share() int { return int(g.share) }

// InUse is the number of places taken.
func (g *Gate) InUse() int { return len(g.places) }

// acquire takes a place, waiting until ctx ends.
func (g *Gate) acquire(ctx context.Context) error {
	select {
	case g.places <- struct{}{}:
		return nil
	default:
	}
	select {
	case g.places <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *Gate) release() { <-g.places }

// share is one route's part of a Gate.
type share struct {
	g     *Gate
	mine  chan struct{} // the places the route holds, at most g.Share()
	route int           // the route's max_concurrency, for messages
}

func newShare(g *Gate, maxConcurrency int) *share {
	if g == nil {
		return nil
	}
	return &share{g: g, mine: make(chan struct{}, min(g.Share(), maxConcurrency))}
}

// acquire takes one of the route's places, then one of the gate's, waiting
// until ctx ends. A nil share has room for everything.
func (s *share) acquire(ctx context.Context) error {
	if s == nil {
		return nil
	}
	select {
	case s.mine <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("the route holds %d of them (%v)", cap(s.mine), ctx.Err())
	}
	if err := s.g.acquire(ctx); err != nil {
		<-s.mine
		return fmt.Errorf("all are taken (%v)", err)
	}
	return nil
}

func (s *share) release() {
	if s != nil {
		s.g.release()
		<-s.mine
	}
}

// MemoryBudget bounds the linear memory of every instance of the routes
// that share it. It charges what instances really have: an instance's
// memory as it is created and each page it grows, released when the
// instance is closed. A new instance first reserves the size its route's
// instances start with (Handler learns it at load), waiting while the
// budget cannot hold it; growth past the budget is refused, so the guest's
// memory.grow returns -1 and only that guest's exchange is affected.
type MemoryBudget struct {
	limit int64
	share int64 // the most one route may hold (routeMemory)
	mu    sync.Mutex
	used  int64
	peak  int64         // the highest used since TakePeak
	freed chan struct{} // closed and replaced whenever memory is released
	// pools are the idle instances of the routes that share the budget,
	// which a reservation or a growth that does not fit closes (each
	// route's oldest first).
	pools []*pool
}

// NewMemoryBudget returns a budget of limit bytes (limit > 0), all of
// which one route may hold.
func NewMemoryBudget(limit int64) *MemoryBudget {
	return NewMemoryBudgetShare(limit, 1)
}

// NewMemoryBudgetShare returns a budget of limit bytes (limit > 0), of
// which one route may hold the fraction share (0 < share <= 1): a route's
// new instance waits while the route holds its share, as when the budget
// is full, and its growth past its share is refused.
func NewMemoryBudgetShare(limit int64, share float64) *MemoryBudget {
	return &MemoryBudget{limit: limit, share: ShareOf(limit, share), freed: make(chan struct{})}
}

// RouteShare is the most bytes one route may hold.
func (b *MemoryBudget) RouteShare() int64 { return b.share }

// routeMemory is one route's part of a MemoryBudget: what its instances
// hold, at most the budget's share. A nil routeMemory meters nothing.
type routeMemory struct {
	b    *MemoryBudget
	used int64 // guarded by b.mu
	pool *pool // the route's idle instances; guarded by b.mu
}

// route returns a new route's part of b; nil for a nil budget.
func (b *MemoryBudget) route() *routeMemory {
	if b == nil {
		return nil
	}
	return &routeMemory{b: b}
}

// setPool tells r where its route's idle instances are, which a
// reservation over the route's share closes first.
func (r *routeMemory) setPool(p *pool) {
	if r == nil {
		return
	}
	r.b.mu.Lock()
	r.pool = p
	r.b.mu.Unlock()
}

// Limit is the budget in bytes.
func (b *MemoryBudget) Limit() int64 { return b.limit }

// Used is the memory charged now, in bytes.
func (b *MemoryBudget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// TakePeak returns the highest use since the last call, and starts
// tracking a new one from the use now.
func (b *MemoryBudget) TakePeak() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.peak
	b.peak = b.used
	return p
}

// charge takes n bytes for growth if they fit below the growth limit, or
// unconditionally when force is set. Growth stops short of the whole budget
// (see growthReserve) so that guests growing their memory cannot keep new
// instances, of any route, from starting. Idle instances are closed to make
// room first.
func (b *MemoryBudget) charge(r *routeMemory, n int64, force bool) bool {
	for {
		b.mu.Lock()
		overShare := r.used+n > b.share-b.share/growthReserve
		if force || (b.used+n <= b.limit-b.limit/growthReserve && !overShare) {
			b.used += n
			r.used += n
			b.peak = max(b.peak, b.used)
			b.mu.Unlock()
			return true
		}
		pools := b.pools
		if overShare {
			pools = r.pools()
		}
		b.mu.Unlock()
		if !reclaimOne(pools) {
			return false
		}
	}
}

// growthReserve: growth may use all but 1/growthReserve of the budget; the
// rest is for the initial memory of new instances.
const growthReserve = 8

// reserve takes n bytes for route r, waiting for them until ctx ends.
// While they do not fit, it first closes idle instances of the routes that
// share the budget (of r alone when r holds its share): an instance that
// serves nobody must not keep a new one from starting.
func (b *MemoryBudget) reserve(ctx context.Context, r *routeMemory, n int64) error {
	for {
		b.mu.Lock()
		overShare := r.used+n > b.share
		if b.used+n <= b.limit && !overShare {
			b.used += n
			r.used += n
			b.peak = max(b.peak, b.used)
			b.mu.Unlock()
			return nil
		}
		freed := b.freed
		pools := b.pools
		if overShare {
			pools = r.pools()
		}
		b.mu.Unlock()
		if reclaimOne(pools) {
			continue
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pools is r's idle instances, for reserve and charge; b.mu is held.
func (r *routeMemory) pools() []*pool {
	if r.pool == nil {
		return nil
	}
	return []*pool{r.pool}
}

// reclaimOne closes one idle instance of pools, taking them in turn, and
// reports whether there was one.
func reclaimOne(pools []*pool) bool {
	for _, p := range pools {
		if p.closeOldest() {
			return true
		}
	}
	return false
}

// addIdle and removeIdle register and unregister a route's pool of idle
// instances, for reserve. A nil budget keeps no list.
func (b *MemoryBudget) addIdle(p *pool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pools = append(b.pools[:len(b.pools):len(b.pools)], p)
}

func (b *MemoryBudget) removeIdle(p *pool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	pools := make([]*pool, 0, len(b.pools))
	for _, q := range b.pools {
		if q != p {
			pools = append(pools, q)
		}
	}
	b.pools = pools
}

func (b *MemoryBudget) release(r *routeMemory, n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	r.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// MemoryMeter is charged for one instance's linear memory. An engine calls
// Grow before it gives the instance more memory: when the instance's
// memory is created (its minimum) and at each memory.grow.
type MemoryMeter interface {
	// Grow charges n more bytes and reports whether the instance may have
	// them. With must set the charge cannot be refused (an engine that
	// cannot fail the allocation); it is still counted.
	Grow(n uint64, must bool) bool
}

// memoryAccount is the MemoryMeter of one instance: a reservation made
// before the instance was created, used up first, then charges on the
// budget. close releases everything.
type memoryAccount struct {
	r       *routeMemory
	charged atomic.Int64 // bytes taken from the budget, the reservation included
	grown   atomic.Int64 // bytes the engine asked for
}

// openAccount reserves n bytes for a new instance of r's route, waiting
// until ctx ends. A nil routeMemory meters nothing (nil account).
func (r *routeMemory) openAccount(ctx context.Context, n int64) (*memoryAccount, error) {
	if r == nil {
		return nil, nil
	}
	b := r.b
	if err := b.reserve(ctx, r, n); err != nil {
		b.mu.Lock()
		used, mine := b.used, r.used
		b.mu.Unlock()
		return nil, fmt.Errorf("memory budget of %s: %d bytes in use (%d by this route, whose share is %s), %d more needed (%v)",
			formatBytes(b.limit), used, mine, formatBytes(b.share), n, err)
	}
	a := &memoryAccount{r: r}
	a.charged.Store(n)
	return a, nil
}

// Grow implements MemoryMeter.
func (a *memoryAccount) Grow(n uint64, must bool) bool {
	grown := a.grown.Add(int64(n))
	over := grown - a.charged.Load() // beyond what is already charged
	if over <= 0 {
		return true
	}
	if !a.r.b.charge(a.r, over, must) {
		a.grown.Add(-int64(n))
		return false
	}
	a.charged.Add(over)
	return true
}

// close gives back everything the account charged. The instance must be
// closed (its memory freed) first.
func (a *memoryAccount) close() {
	if a == nil {
		return
	}
	a.r.b.release(a.r, a.charged.Swap(0))
}

// meter returns a as a MemoryMeter, or nil (no metering) for a nil account.
func (a *memoryAccount) meter() MemoryMeter {
	if a == nil {
		return nil
	}
	return a
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
