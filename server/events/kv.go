package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bubblewasm/bubblewasm/server/internal/indexheap"
)

// KV is a key-value store partitioned into namespaces (one per route or
// application, as the ABI glue decides), with an optional time to live per
// key and size caps per namespace.
type KV interface {
	// Get returns a copy of key's value and true, or false when the key is
	// absent or has expired (an expired key is invisible at once, whether
	// or not it has been reclaimed yet). Errors: ErrBadName, ErrClosed,
	// ctx.Err().
	Get(ctx context.Context, namespace, key string) (value []byte, ok bool, err error)

	// Set stores a copy of value under key, replacing any previous value
	// and time to live. A ttl > 0 makes the key expire after ttl; ttl ≤ 0
	// keeps it until it is deleted or replaced. Errors: ErrBadName,
	// ErrTooLarge (key or value above its limit), ErrFull (the namespace's
	// key or byte cap), ErrClosed, ctx.Err(); on error nothing changed.
	Set(ctx context.Context, namespace, key string, value []byte, ttl time.Duration) error

	// Delete removes key and reports whether it existed (an expired key
	// did not). Errors: ErrBadName, ErrClosed, ctx.Err().
	Delete(ctx context.Context, namespace, key string) (existed bool, err error)

	// Close discards every namespace; later calls return ErrClosed. Close
	// is idempotent.
	Close() error
}

// Limits cap one namespace. Zero fields take the defaults documented on
// each.
type Limits struct {
	// MaxKeys is the most live keys (default 10,000).
	MaxKeys int
	// MaxKeyBytes is the longest key (default 256). Keys are any non-empty
	// byte string.
	MaxKeyBytes int
	// MaxValueBytes is the largest value (default 64 KiB).
	MaxValueBytes int
	// MaxBytes caps the sum of the lengths of the live keys and values
	// (default 16 MiB). Bookkeeping (about 100 bytes a key) is not counted.
	MaxBytes int
}

func (l Limits) or(d Limits) Limits {
	if l.MaxKeys <= 0 {
		l.MaxKeys = d.MaxKeys
	}
	if l.MaxKeyBytes <= 0 {
		l.MaxKeyBytes = d.MaxKeyBytes
	}
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = d.MaxValueBytes
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	return l
}

// Eviction is what a full namespace does when Set needs room.
type Eviction int

const (
	// EvictNone refuses the Set with ErrFull: nothing stored is lost.
	EvictNone Eviction = iota
	// EvictLRU removes the least recently used keys (Get and Set use a
	// key) until the new value fits.
	EvictLRU
	// EvictSoonestExpiry removes the keys that would expire soonest until
	// the new value fits. Keys without a ttl are never evicted: when only
	// they are left, the Set fails with ErrFull. Short-lived entries (a
	// session nobody has used yet, say) thus make room before long-lived
	// ones.
	EvictSoonestExpiry
)

// String returns the policy's configuration name.
func (e Eviction) String() string {
	switch e {
	case EvictNone:
		return "reject"
	case EvictLRU:
		return "lru"
	case EvictSoonestExpiry:
		return "soonest-expiry"
	}
	return fmt.Sprintf("Eviction(%d)", int(e))
}

// KVOptions configure a MemoryKV. Zero fields take the defaults documented
// on each.
type KVOptions struct {
	// Limits apply to every namespace unless NamespaceLimits says otherwise.
	Limits Limits
	// Eviction is what a full namespace does (default EvictNone: Set
	// fails with ErrFull). Expired keys always go first, whatever the
	// policy.
	Eviction Eviction
	// NamespaceLimits, when set, returns a namespace's own limits; its zero
	// fields take the values of Limits. It is called when the namespace is
	// first used (and again after an emptied namespace was reclaimed).
	NamespaceLimits func(namespace string) Limits
	// SweepInterval is the time between janitor passes while keys with a
	// ttl exist (default one second). Expiry does not depend on it: it
	// only says how soon an expired key's memory is reclaimed.
	SweepInterval time.Duration
	// SweepBatch bounds the expired keys one janitor pass reclaims
	// (default 1024); a pass that reaches it schedules the next at once, so
	// a backlog drains in short steps that never hold a lock for long.
	SweepBatch int
}

// MemoryKV is the in-memory KV. Each namespace has its own lock, map and
// expiry min-heap; one timer (time.AfterFunc, no goroutine between passes,
// none at all while no key has a ttl) runs the janitor, which reclaims
// expired keys and empty namespaces.
type MemoryKV struct {
	limits   Limits
	eviction Eviction
	nsLimits func(string) Limits
	interval time.Duration
	batch    int
	log      *slog.Logger
	epoch    time.Time

	mu     sync.RWMutex // guards spaces and closed; held (read) around every namespace operation
	spaces map[string]*space
	closed bool

	tmu     sync.Mutex // guards the janitor timer
	timer   *time.Timer
	armed   bool
	tclosed bool
}

type space struct {
	lim      Limits
	eviction Eviction

	mu    sync.Mutex
	items map[string]*item
	bytes int                   // sum of len(key)+len(value) of items
	exp   indexheap.Heap[*item] // items with an expiry, soonest first
	lru   lruList               // every item, most recently used first
}

type item struct {
	key     string
	value   []byte
	expires int64 // in MemoryKV.now() time; 0 for never
	hidx    int   // index in exp, -1 when absent

	prev, next *item // in space.lru
}

func (it *item) expired(now int64) bool { return it.expires != 0 && it.expires <= now }

func (it *item) size() int { return len(it.key) + len(it.value) }

// NewMemoryKV returns an empty store. A nil logger discards. Close it to
// stop its janitor.
func NewMemoryKV(opts KVOptions, logger *slog.Logger) *MemoryKV {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Second
	}
	if opts.SweepBatch <= 0 {
		opts.SweepBatch = 1024
	}
	return &MemoryKV{
		limits:   opts.Limits.or(Limits{MaxKeys: 10_000, MaxKeyBytes: 256, MaxValueBytes: 64 << 10, MaxBytes: 16 << 20}),
		eviction: opts.Eviction,
		nsLimits: opts.NamespaceLimits,
		interval: opts.SweepInterval,
		batch:    opts.SweepBatch,
		log:      logger,
		epoch:    time.Now(),
		spaces:   make(map[string]*space),
	}
}

func (k *MemoryKV) now() int64 { return int64(time.Since(k.epoch)) }

func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrBadName)
	}
	return nil
}

// Get implements KV.
func (k *MemoryKV) Get(ctx context.Context, namespace, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if err := CheckName(namespace); err != nil {
		return nil, false, err
	}
	if err := checkKey(key); err != nil {
		return nil, false, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return nil, false, ErrClosed
	}
	s := k.spaces[namespace]
	if s == nil {
		return nil, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[key]
	if it == nil {
		return nil, false, nil
	}
	if it.expired(k.now()) {
		s.removeLocked(it)
		return nil, false, nil
	}
	s.lru.touch(it)
	return append([]byte{}, it.value...), true, nil
}

// Set implements KV.
func (k *MemoryKV) Set(ctx context.Context, namespace, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := CheckName(namespace); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	now := k.now()
	var expires int64
	if ttl > 0 {
		expires = addSat(now, int64(ttl))
	}

	k.mu.RLock()
	s := k.spaces[namespace]
	if k.closed || s == nil {
		k.mu.RUnlock()
		k.mu.Lock()
		if k.closed {
			k.mu.Unlock()
			return ErrClosed
		}
		if s = k.spaces[namespace]; s == nil {
			s = &space{lim: k.limitsFor(namespace), eviction: k.eviction, items: make(map[string]*item)}
			k.spaces[namespace] = s
		}
		err := s.set(namespace, key, value, expires, now)
		if err != nil && s.empty() {
			delete(k.spaces, namespace)
		}
		k.mu.Unlock()
		if err == nil && expires != 0 {
			k.arm()
		}
		return err
	}
	err := s.set(namespace, key, value, expires, now)
	k.mu.RUnlock()
	if err == nil && expires != 0 {
		k.arm()
	}
	return err
}

// Delete implements KV.
func (k *MemoryKV) Delete(ctx context.Context, namespace, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := CheckName(namespace); err != nil {
		return false, err
	}
	if err := checkKey(key); err != nil {
		return false, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return false, ErrClosed
	}
	s := k.spaces[namespace]
	if s == nil {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[key]
	if it == nil {
		return false, nil
	}
	s.removeLocked(it)
	return !it.expired(k.now()), nil
}

// Close implements KV.
func (k *MemoryKV) Close() error {
	k.mu.Lock()
	k.closed = true
	k.spaces = nil
	k.mu.Unlock()
	k.tmu.Lock()
	k.tclosed = true
	if k.timer != nil {
		k.timer.Stop()
	}
	k.tmu.Unlock()
	return nil
}

func (k *MemoryKV) limitsFor(namespace string) Limits {
	if k.nsLimits == nil {
		return k.limits
	}
	return k.nsLimits(namespace).or(k.limits)
}

// arm makes sure a janitor pass is scheduled.
func (k *MemoryKV) arm() {
	k.tmu.Lock()
	defer k.tmu.Unlock()
	k.armLocked(k.interval)
}

func (k *MemoryKV) armLocked(d time.Duration) {
	if k.armed || k.tclosed {
		return
	}
	k.armed = true
	if k.timer == nil {
		k.timer = time.AfterFunc(d, k.sweep)
	} else {
		k.timer.Reset(d)
	}
}

func (k *MemoryKV) sweep() {
	k.tmu.Lock()
	k.armed = false // a Set from now on schedules its own pass
	k.tmu.Unlock()
	n, more, pending := k.sweepAt(k.now())
	if n > 0 {
		k.log.Debug("events: expired keys reclaimed", "count", n)
	}
	k.tmu.Lock()
	switch {
	case more:
		k.armLocked(0)
	case pending:
		k.armLocked(k.interval)
	}
	k.tmu.Unlock()
}

// sweepAt is one janitor pass at time now. It reclaims at most k.batch
// expired keys, visiting namespaces in map order (random, so a namespace
// with a large backlog does not starve the others across passes), then
// removes namespaces left empty. more reports that the budget ran out;
// pending that keys with a ttl remain.
func (k *MemoryKV) sweepAt(now int64) (reclaimed int, more, pending bool) {
	var empty []string
	k.mu.RLock()
	if k.closed {
		k.mu.RUnlock()
		return 0, false, false
	}
	budget := k.batch
	for name, s := range k.spaces {
		if budget == 0 {
			more, pending = true, true
			break
		}
		s.mu.Lock()
		for budget > 0 && len(s.exp) > 0 && s.exp[0].expires <= now {
			s.removeLocked(s.exp[0])
			budget--
			reclaimed++
		}
		if len(s.exp) > 0 {
			pending = true
			more = more || s.exp[0].expires <= now
		}
		if len(s.items) == 0 {
			empty = append(empty, name)
		}
		s.mu.Unlock()
	}
	k.mu.RUnlock()
	if len(empty) > 0 {
		k.mu.Lock()
		for _, name := range empty {
			if s := k.spaces[name]; s != nil && s.empty() {
				delete(k.spaces, name)
			}
		}
		k.mu.Unlock()
	}
	return reclaimed, more, pending
}

// set stores a copy of value under key in s; see KV.Set. Every size is
// checked before value is copied. Callers hold MemoryKV.mu.
func (s *space) set(namespace, key string, value []byte, expires, now int64) error {
	switch {
	case len(key) > s.lim.MaxKeyBytes:
		return fmt.Errorf("%w: key of %d bytes exceeds %d", ErrTooLarge, len(key), s.lim.MaxKeyBytes)
	case len(value) > s.lim.MaxValueBytes:
		return fmt.Errorf("%w: value of %d bytes exceeds %d", ErrTooLarge, len(value), s.lim.MaxValueBytes)
	case len(key)+len(value) > s.lim.MaxBytes:
		return fmt.Errorf("%w: key and value of %d bytes exceed the namespace's %d", ErrTooLarge, len(key)+len(value), s.lim.MaxBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.items[key]
	if old != nil && old.expired(now) {
		s.removeLocked(old)
		old = nil
	}
	if err := s.makeRoomLocked(namespace, old, len(key)+len(value), now); err != nil {
		return err
	}
	it := old
	if it == nil {
		it = &item{key: key, hidx: -1}
		s.items[key] = it
	} else {
		s.bytes -= it.size()
	}
	it.value = append(make([]byte, 0, len(value)), value...)
	s.bytes += it.size()
	s.lru.touch(it)
	it.expires = expires
	switch {
	case expires == 0 && it.hidx >= 0:
		s.exp.Remove(it.hidx)
	case expires != 0 && it.hidx >= 0:
		s.exp.Fix(it.hidx)
	case expires != 0:
		s.exp.Push(it)
	}
	return nil
}

// makeRoomLocked makes the namespace able to hold an entry of size bytes
// that replaces old (nil: a new key): expired keys go first, then, as the
// eviction policy says, other keys than old. ErrFull when it cannot.
func (s *space) makeRoomLocked(namespace string, old *item, size int, now int64) error {
	fits := func() (keys, bytes int, ok bool) {
		keys, bytes = len(s.items), s.bytes+size
		if old == nil {
			keys++
		} else {
			bytes -= old.size()
		}
		return keys, bytes, keys <= s.lim.MaxKeys && bytes <= s.lim.MaxBytes
	}
	if _, _, ok := fits(); ok {
		return nil
	}
	s.reclaimLocked(now) // expired keys do not count against the caps
	if _, _, ok := fits(); !ok && s.eviction == EvictSoonestExpiry && !s.evictableLocked(old, fits) {
		return s.fullError(namespace, fits) // before evicting anything
	}
	for {
		if _, _, ok := fits(); ok {
			return nil
		}
		victim := s.victimLocked(old)
		if victim == nil {
			return s.fullError(namespace, fits)
		}
		s.removeLocked(victim)
	}
}

func (s *space) fullError(namespace string, fits func() (int, int, bool)) error {
	keys, bytes, _ := fits()
	if keys > s.lim.MaxKeys {
		return fmt.Errorf("%w: namespace %q has %d keys, the limit", ErrFull, namespace, s.lim.MaxKeys)
	}
	return fmt.Errorf("%w: namespace %q would hold %d bytes, limit %d", ErrFull, namespace, bytes, s.lim.MaxBytes)
}

// evictableLocked reports whether evicting every key with a ttl but keep
// would make room, so that a Set that fails anyway evicts nothing.
func (s *space) evictableLocked(keep *item, fits func() (int, int, bool)) bool {
	keys, bytes, _ := fits()
	for _, it := range s.exp {
		if it != keep {
			keys--
			bytes -= it.size()
		}
	}
	return keys <= s.lim.MaxKeys && bytes <= s.lim.MaxBytes
}

// victimLocked returns the key the eviction policy removes next, never
// keep; nil when there is none.
func (s *space) victimLocked(keep *item) *item {
	switch s.eviction {
	case EvictLRU:
		for it := s.lru.tail; it != nil; it = it.prev {
			if it != keep {
				return it
			}
		}
	case EvictSoonestExpiry:
		// The heap's root, or, when that is keep, the sooner of its
		// children (one of them is the second soonest).
		if len(s.exp) > 0 && s.exp[0] != keep {
			return s.exp[0]
		}
		var best *item
		for _, i := range []int{1, 2} {
			if i < len(s.exp) && (best == nil || s.exp[i].expires < best.expires) {
				best = s.exp[i]
			}
		}
		return best
	}
	return nil
}

// reclaimLocked removes every expired item.
func (s *space) reclaimLocked(now int64) {
	for len(s.exp) > 0 && s.exp[0].expires <= now {
		s.removeLocked(s.exp[0])
	}
}

func (s *space) removeLocked(it *item) {
	delete(s.items, it.key)
	s.bytes -= it.size()
	if it.hidx >= 0 {
		s.exp.Remove(it.hidx)
	}
	s.lru.remove(it)
}

// lruList is an intrusive doubly linked list of items, most recently used
// at head.
type lruList struct{ head, tail *item }

// touch moves it (linked or not) to the head.
func (l *lruList) touch(it *item) {
	if l.head == it {
		return
	}
	l.remove(it)
	it.next = l.head
	if l.head != nil {
		l.head.prev = it
	}
	l.head = it
	if l.tail == nil {
		l.tail = it
	}
}

// remove unlinks it; an item not in the list is left as it is.
func (l *lruList) remove(it *item) {
	if it.prev == nil && l.head != it {
		return
	}
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		l.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		l.tail = it.prev
	}
	it.prev, it.next = nil, nil
}

func (s *space) empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items) == 0
}

// Less orders items by expiry in the janitor's heap.
func (it *item) Less(o *item) bool { return it.expires < o.expires }

// SetIndex records the item's index in the janitor's heap (hidx).
func (it *item) SetIndex(i int) { it.hidx = i }

var _ KV = (*MemoryKV)(nil)
