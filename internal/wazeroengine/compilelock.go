package wazeroengine

import (
	"hash/maphash"
	"sync"
)

// compileLocks lets one compilation of a binary run at a time in an
// engine: compilations of different binaries still run side by side.
//
// wazero (v1.12, upstream issue 2547) publishes a module it reads from the
// file cache to its in-memory table before it has compiled the module's
// entry preambles; a second runtime compiling the same bytes at that
// moment takes the half-made module, and instantiating it can panic (an
// index out of range in the engine) — the whole host, not one exchange.
// Routes serving one module with different limits compile it in runtimes
// of their own at the same time (loads run in parallel, and a Residency
// loads unloaded routes again concurrently), so the engine waits instead.
//
// The key is a maphash of the bytes (a start hashes every module once
// more: maphash takes 0.3 ms for 2 MiB where SHA-256 takes 1.9 ms); two
// binaries that collide only wait for each other.
type compileLocks struct {
	mu    sync.Mutex
	seed  maphash.Seed
	locks map[uint64]*compileLock
}

type compileLock struct {
	sync.Mutex
	users int // holders and waiters
}

// lock waits until no other compilation of bin runs and returns the
// function that ends this one's turn.
func (c *compileLocks) lock(bin []byte) (unlock func()) {
	c.mu.Lock()
	if c.locks == nil {
		c.seed, c.locks = maphash.MakeSeed(), map[uint64]*compileLock{}
	}
	key := maphash.Bytes(c.seed, bin)
	l := c.locks[key]
	if l == nil {
		l = &compileLock{}
		c.locks[key] = l
	}
	l.users++
	c.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		c.mu.Lock()
		if l.users--; l.users == 0 {
			delete(c.locks, key)
		}
		c.mu.Unlock()
	}
}
