package events

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/bubblewasm/bubblewasm/server/internal/indexheap"
)

// MemoryBroker is the in-memory Broker: one process, no persistence.
//
// Cost: a subscription is a small struct plus its queue, which grows with
// use up to QueueSize slice headers (24 bytes each); a message is copied
// once per Publish and shared by every queue holding it. Publish to n
// subscribers is O(n) with one short lock per subscription. Idle timeouts
// are kept in one min-heap served by one timer (time.AfterFunc), so there
// is no goroutine per subscription and none at all between expiries.
//
// Locking, outermost first: MemoryBroker.mu, then a channel's mu or the
// idle heap's jmu, then a subscription's mu. Publishes to one channel are
// serialised by the channel's lock, which is what gives every subscriber
// the same order.
type MemoryBroker struct {
	opts  BrokerOptions
	log   *slog.Logger
	epoch time.Time // now() is monotonic time since epoch, in nanoseconds

	mu       sync.RWMutex
	subs     map[SubID]*subscription
	channels map[string]*channel
	owned    map[string]int // live subscriptions per owner
	closed   bool

	jmu     sync.Mutex // the idle heap and its timer
	idle    indexheap.Heap[*subscription]
	timer   *time.Timer
	armed   int64 // due time the timer is set for, -1 when not set
	jclosed bool

	stats brokerStats // totals for Stats (stats.go)
}

// channel is the set of subscriptions of one channel name.
type channel struct {
	name string
	refs int // live subscriptions in MemoryBroker.subs; guarded by MemoryBroker.mu

	mu   sync.Mutex // serialises publishes; guards subs and subscription.cidx
	subs []*subscription
}

type subscription struct {
	id       SubID
	owner    string
	ch       *channel
	size     int
	overflow Overflow
	idleNs   int64 // idle timeout in ns; < 0 for never

	cidx int   // index in ch.subs, -1 when removed; guarded by ch.mu
	hidx int   // index in the idle heap, -1 when absent; guarded by jmu
	due  int64 // when the janitor next looks at it; guarded by jmu

	mu       sync.Mutex
	q        ring
	gone     error         // non-nil once ended: the error Fetch returns
	notify   chan struct{} // closed to wake waiting Fetches, then replaced
	fetchers int           // Fetch calls in progress
	last     int64         // when a Fetch last started or ended (or Subscribe)
}

// sweepBatch bounds the subscriptions one janitor pass examines, so the
// heap lock is never held for long; a pass that hits it schedules the next
// one immediately.
const sweepBatch = 1024

// NewMemoryBroker returns an empty broker. A nil logger discards. Close it
// to stop its timer.
func NewMemoryBroker(opts BrokerOptions, logger *slog.Logger) *MemoryBroker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &MemoryBroker{
		opts:     opts.withDefaults(),
		log:      logger,
		epoch:    time.Now(),
		subs:     make(map[SubID]*subscription),
		channels: make(map[string]*channel),
		owned:    make(map[string]int),
		armed:    -1,
	}
}

func (b *MemoryBroker) now() int64 { return int64(time.Since(b.epoch)) }

// addSat returns a+d for d ≥ 0, saturating instead of wrapping, so an
// enormous timeout means "never" rather than "already".
func addSat(a, d int64) int64 {
	if a > math.MaxInt64-d {
		return math.MaxInt64
	}
	return a + d
}

// Publish implements Broker.
func (b *MemoryBroker) Publish(ctx context.Context, name string, msg []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := CheckName(name); err != nil {
		return 0, err
	}
	if len(msg) > b.opts.MaxMessageBytes {
		return 0, fmt.Errorf("%w: message of %d bytes exceeds %d", ErrTooLarge, len(msg), b.opts.MaxMessageBytes)
	}
	b.mu.RLock()
	closed, ch := b.closed, b.channels[name]
	b.mu.RUnlock()
	if closed {
		return 0, ErrClosed
	}
	b.stats.published.Add(1)
	if ch == nil {
		return 0, nil
	}
	// One copy, shared by every queue: the caller's buffer (guest memory)
	// may be reused as soon as Publish returns. A channel that lost its
	// last subscriber after the lookup has an empty list, which is the
	// same as publishing just before the unsubscribe.
	m := append(make([]byte, 0, len(msg)), msg...)
	var dropped []*subscription
	n := 0
	ch.mu.Lock()
	for _, s := range ch.subs {
		switch s.push(m) {
		case pushEvicting:
			b.stats.evicted.Add(1)
			n++
		case pushQueued:
			n++
		case pushOverflowed:
			dropped = append(dropped, s)
		}
	}
	ch.mu.Unlock()
	b.stats.delivered.Add(uint64(n))
	b.stats.overflowed.Add(uint64(len(dropped)))
	for _, s := range dropped {
		b.unlink(s)
		b.log.Debug("events: subscription dropped: queue overflowed", "channel", name, "queue_size", s.size)
	}
	return n, nil
}

// Subscribe implements Broker.
func (b *MemoryBroker) Subscribe(ctx context.Context, name string, opts SubscribeOptions) (SubID, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := CheckName(name); err != nil {
		return "", err
	}
	size := opts.QueueSize
	if size == 0 {
		size = DefaultQueueSize
	}
	if size < 0 || size > b.opts.MaxQueueSize {
		return "", fmt.Errorf("%w: queue size %d outside 1..%d", ErrBadOption, opts.QueueSize, b.opts.MaxQueueSize)
	}
	if opts.Overflow != DropSubscriber && opts.Overflow != DropOldest {
		return "", fmt.Errorf("%w: unknown overflow policy %v", ErrBadOption, opts.Overflow)
	}
	idle := opts.IdleTimeout
	if idle == 0 {
		idle = b.opts.DefaultIdleTimeout
	}
	if opts.MaxOwned < 0 {
		return "", fmt.Errorf("%w: negative MaxOwned %d", ErrBadOption, opts.MaxOwned)
	}
	s := &subscription{id: newID(), owner: opts.Owner, size: size, overflow: opts.Overflow, idleNs: int64(idle), cidx: -1, hidx: -1}
	if idle < 0 {
		s.idleNs = -1
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", ErrClosed
	}
	if len(b.subs) >= b.opts.MaxSubscriptions {
		return "", fmt.Errorf("%w: %d subscriptions, the broker's limit", ErrFull, len(b.subs))
	}
	if n := b.owned[s.owner]; opts.MaxOwned > 0 && n >= opts.MaxOwned {
		return "", fmt.Errorf("%w: %q has %d subscriptions, its limit", ErrFull, s.owner, n)
	}
	b.owned[s.owner]++
	for b.subs[s.id] != nil { // 2^-128: never, but cheap to rule out
		s.id = newID()
	}
	now := b.now()
	s.last = now
	ch := b.channels[name]
	if ch == nil {
		ch = &channel{name: name}
		b.channels[name] = ch
	}
	ch.refs++
	s.ch = ch
	b.subs[s.id] = s
	if s.idleNs >= 0 {
		b.jmu.Lock()
		s.due = addSat(now, s.idleNs)
		b.idle.Push(s)
		b.armLocked()
		b.jmu.Unlock()
	}
	ch.mu.Lock()
	s.cidx = len(ch.subs)
	ch.subs = append(ch.subs, s)
	ch.mu.Unlock()
	return s.id, nil
}

// Fetch implements Broker.
func (b *MemoryBroker) Fetch(ctx context.Context, id SubID, max int, timeout time.Duration) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := b.lookup(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.gone != nil {
		err := s.gone
		s.mu.Unlock()
		return nil, err
	}
	s.fetchers++
	s.last = b.now()
	msgs, err := s.fetchLocked(ctx, max, timeout)
	s.fetchers--
	s.last = b.now()
	s.mu.Unlock()
	return msgs, err
}

// Watch implements Broker. A watch costs a small struct: every watch of a
// subscription shares its wake-up channel with its waiting Fetches.
func (b *MemoryBroker) Watch(id SubID) (Watch, error) {
	s, err := b.lookup(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone != nil {
		return nil, s.gone
	}
	s.fetchers++
	s.last = b.now()
	w := &subWatch{b: b, s: s, ready: closedChan}
	if s.q.n == 0 {
		if s.notify == nil {
			s.notify = make(chan struct{})
		}
		w.ready = s.notify
	}
	return w, nil
}

// closedChan is the Ready of a watch whose event has happened already.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// subWatch is a MemoryBroker's Watch.
type subWatch struct {
	b     *MemoryBroker
	s     *subscription
	ready <-chan struct{}
	once  sync.Once
	err   error
}

func (w *subWatch) Ready() <-chan struct{} { return w.ready }

func (w *subWatch) Stop() ([]byte, error) {
	w.once.Do(func() {
		s := w.s
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fetchers--
		s.last = w.b.now()
		switch {
		case s.gone != nil:
			w.err = s.gone
		case s.q.n == 0:
			w.err = ErrTimeout
		}
	})
	return nil, w.err
}

// Info implements Broker.
func (b *MemoryBroker) Info(id SubID) (SubInfo, error) {
	s, err := b.lookup(id)
	if err != nil {
		return SubInfo{}, err
	}
	return SubInfo{Channel: s.ch.name, Owner: s.owner}, nil
}

// Unsubscribe implements Broker.
func (b *MemoryBroker) Unsubscribe(ctx context.Context, id SubID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := b.lookup(id)
	if err != nil {
		return err
	}
	if !s.kill(ErrSubscriptionGone) {
		return ErrSubscriptionGone // ended concurrently
	}
	b.unlink(s)
	return nil
}

// Close implements Broker.
func (b *MemoryBroker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := b.subs
	b.subs, b.channels, b.owned = nil, nil, nil
	b.mu.Unlock()

	b.jmu.Lock()
	b.jclosed = true
	b.idle = nil
	if b.timer != nil {
		b.timer.Stop()
	}
	b.jmu.Unlock()

	for _, s := range subs {
		s.kill(ErrClosed)
	}
	return nil
}

func (b *MemoryBroker) lookup(id SubID) (*subscription, error) {
	b.mu.RLock()
	closed, s := b.closed, b.subs[id]
	b.mu.RUnlock()
	switch {
	case closed:
		return nil, ErrClosed
	case s == nil:
		return nil, ErrSubscriptionGone
	}
	return s, nil
}

// unlink removes an ended subscription from the broker's indexes. The
// caller has already killed it, so nothing is delivered to it meanwhile.
func (b *MemoryBroker) unlink(s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[s.id] == s {
		delete(b.subs, s.id)
		if b.owned[s.owner]--; b.owned[s.owner] <= 0 {
			delete(b.owned, s.owner)
		}
		s.ch.refs--
		if s.ch.refs == 0 && b.channels[s.ch.name] == s.ch {
			delete(b.channels, s.ch.name)
		}
	}
	ch := s.ch
	ch.mu.Lock()
	if i := s.cidx; i >= 0 {
		last := len(ch.subs) - 1
		ch.subs[i] = ch.subs[last]
		ch.subs[i].cidx = i
		ch.subs[last] = nil
		ch.subs = ch.subs[:last]
		s.cidx = -1
	}
	ch.mu.Unlock()
	b.jmu.Lock()
	if s.hidx >= 0 && !b.jclosed { // Close dropped the whole heap
		b.idle.Remove(s.hidx)
	}
	b.jmu.Unlock()
}

// armLocked sets the timer for the idle heap's earliest due time unless it
// is already set for that time or earlier. b.jmu is held.
func (b *MemoryBroker) armLocked() {
	if b.jclosed || len(b.idle) == 0 {
		return
	}
	due := b.idle[0].due
	if b.armed >= 0 && b.armed <= due {
		return
	}
	d := max(time.Duration(due-b.now()), 0)
	if b.timer == nil {
		b.timer = time.AfterFunc(d, b.sweep)
	} else {
		b.timer.Reset(d)
	}
	b.armed = due
}

func (b *MemoryBroker) sweep() { b.sweepAt(b.now()) }

// sweepAt is one janitor pass at time now: it looks at up to sweepBatch
// subscriptions whose due time has come, drops those idle for their whole
// timeout and puts the others back at their real next due time (a Fetch
// only records when it happened; the heap is corrected lazily here).
func (b *MemoryBroker) sweepAt(now int64) {
	var victims []*subscription
	b.jmu.Lock()
	if b.jclosed {
		b.jmu.Unlock()
		return
	}
	b.armed = -1
	for n := 0; n < sweepBatch && len(b.idle) > 0 && b.idle[0].due <= now; n++ {
		s := b.idle[0]
		s.mu.Lock()
		switch {
		case s.gone != nil: // ended; its unlink is on the way
			b.idle.Pop()
		case s.fetchers > 0:
			s.due = addSat(now, s.idleNs)
			b.idle.Fix(0)
		case addSat(s.last, s.idleNs) > now:
			s.due = addSat(s.last, s.idleNs)
			b.idle.Fix(0)
		default:
			s.killLocked(fmt.Errorf("%w: not fetched for %v", ErrSubscriptionGone, time.Duration(s.idleNs)))
			b.idle.Pop()
			victims = append(victims, s)
		}
		s.mu.Unlock()
	}
	b.armLocked()
	b.jmu.Unlock()
	for _, s := range victims {
		b.unlink(s)
	}
	if len(victims) > 0 {
		b.log.Debug("events: idle subscriptions dropped", "count", len(victims))
	}
}

const (
	pushDiscarded  = iota // the subscription had ended
	pushQueued            // queued
	pushEvicting          // queued, evicting the oldest
	pushOverflowed        // the queue was full: the subscription ended
)

func (s *subscription) push(m []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone != nil {
		return pushDiscarded
	}
	result := pushQueued
	if s.q.n == s.size {
		if s.overflow == DropSubscriber {
			s.killLocked(fmt.Errorf("%w: more than %d messages not fetched", ErrSubscriptionGone, s.size))
			return pushOverflowed
		}
		s.q.dropOldest()
		result = pushEvicting
	}
	s.q.push(m, s.size)
	s.wakeLocked()
	return result
}

// fetchLocked is Fetch's wait loop. s.mu is held on entry and on return.
func (s *subscription) fetchLocked(ctx context.Context, max int, timeout time.Duration) ([][]byte, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	timedOut := false
	for {
		switch {
		case s.gone != nil:
			return nil, s.gone
		case s.q.n > 0:
			return s.q.take(max), nil
		case timedOut || timeout <= 0:
			return nil, nil
		}
		if timer == nil {
			timer = time.NewTimer(timeout)
		}
		if s.notify == nil {
			s.notify = make(chan struct{})
		}
		wake := s.notify
		s.mu.Unlock()
		select {
		case <-wake:
		case <-timer.C:
			timedOut = true // one last look at the queue
		case <-ctx.Done():
			s.mu.Lock()
			return nil, ctx.Err()
		}
		s.mu.Lock()
	}
}

// kill ends the subscription with err (what its Fetches return) and reports
// whether it was still live.
func (s *subscription) kill(err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone != nil {
		return false
	}
	s.killLocked(err)
	return true
}

func (s *subscription) killLocked(err error) {
	s.gone = err
	s.q = ring{}
	s.wakeLocked()
}

func (s *subscription) wakeLocked() {
	if s.notify != nil {
		close(s.notify)
		s.notify = nil
	}
}

// ring is a FIFO of messages whose buffer grows on demand up to the
// subscription's queue size, so an idle subscriber with a large QueueSize
// costs nothing until messages pile up.
type ring struct {
	buf     [][]byte
	head, n int
}

// shrinkAbove is the buffer length above which an emptied queue gives its
// buffer back rather than keeping it for the next burst.
const shrinkAbove = 64

func (r *ring) push(m []byte, limit int) {
	if r.n == len(r.buf) {
		grown := make([][]byte, min(max(2*len(r.buf), 4), limit))
		r.copyTo(grown)
		r.buf, r.head = grown, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = m
	r.n++
}

func (r *ring) copyTo(dst [][]byte) {
	k := copy(dst, r.buf[r.head:min(r.head+r.n, len(r.buf))])
	copy(dst[k:], r.buf[:r.n-k])
}

func (r *ring) dropOldest() {
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.n--
}

// take removes and returns the oldest max messages (all when max < 1).
func (r *ring) take(max int) [][]byte {
	k := r.n
	if max >= 1 && max < k {
		k = max
	}
	out := make([][]byte, k)
	for i := range out {
		out[i] = r.buf[r.head]
		r.buf[r.head] = nil
		r.head = (r.head + 1) % len(r.buf)
	}
	r.n -= k
	if r.n == 0 {
		r.head = 0
		if len(r.buf) > shrinkAbove {
			r.buf = nil
		}
	}
	return out
}

// Less orders subscriptions by due time in the janitor's heap.
func (s *subscription) Less(o *subscription) bool { return s.due < o.due }

// SetIndex records the subscription's index in the janitor's heap (hidx).
func (s *subscription) SetIndex(i int) { s.hidx = i }

var _ Broker = (*MemoryBroker)(nil)
