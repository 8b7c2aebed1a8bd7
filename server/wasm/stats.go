package wasm

import (
	"sync/atomic"
	"time"
)

// Stats are the counts a Handler keeps of its instances and of the
// exchanges that waited for a slot, since Load. Every field only grows.
type Stats struct {
	// InstancesCreated counts instances made for exchanges (not those New
	// makes to prove the module, which it closes before it returns).
	InstancesCreated uint64
	// InstancesReused counts exchanges served by an idle instance.
	InstancesReused uint64
	// InstancesClosed counts instances closed: after a failed exchange, a
	// reset that could not be made, a full pool, an idle timeout, the
	// memory budget needing room, or Close.
	InstancesClosed uint64
	// Queued counts exchanges that found every slot of the route taken
	// and waited for one (MaxConcurrency).
	Queued uint64
	// QueueWait is the time those exchanges waited, in all.
	QueueWait time.Duration
	// Evictions counts the times the module was unloaded to keep within
	// Options.Residency, and Restores the times an exchange loaded it
	// again (resident.go).
	Evictions, Restores uint64
}

// stats are a Handler's counters: atomic adds on the paths that change
// them, read by Stats (a metrics scrape).
type stats struct {
	created, reused, closed, queued atomic.Uint64
	evictions, restores             atomic.Uint64
	queueWait                       atomic.Int64 // nanoseconds
}

// Stats returns the handler's counts so far. It is safe to call at any
// time, concurrently with exchanges.
func (h *Handler) Stats() Stats {
	s := &h.stats
	return Stats{
		InstancesCreated: s.created.Load(),
		InstancesReused:  s.reused.Load(),
		InstancesClosed:  s.closed.Load(),
		Queued:           s.queued.Load(),
		QueueWait:        time.Duration(s.queueWait.Load()),
		Evictions:        s.evictions.Load(),
		Restores:         s.restores.Load(),
	}
}
