package wasm

// Parked returns how many of the route's exchanges are parked now.
func (h *Handler) Parked() int { return int(h.lot.parked.Load()) }

// Waiting returns how many places of max_waiting are taken now: parked
// exchanges and waits registered by running ones.
func (h *Handler) Waiting() int { return int(h.lot.n.Load()) }

// Idle returns how many instances the route keeps idle now (Snapshot,
// Pool; 0 for Fresh).
func (h *Handler) Idle() int {
	if h.pool == nil {
		return 0
	}
	h.pool.mu.Lock()
	defer h.pool.mu.Unlock()
	return len(h.pool.list)
}

// Resuming returns how many resumed exchanges wait for a slot now
// (outside the queue).
func (h *Handler) Resuming() int { return int(h.queue.resuming.Load()) }

// CorruptSpilled changes one byte of h's binary in its Residency's spill
// file.
func CorruptSpilled(h *Handler) error {
	s, ref := h.res.r.spill, h.res.bin
	b := make([]byte, 1)
	if _, err := s.f.ReadAt(b, ref.off+int64(ref.n)/2); err != nil {
		return err
	}
	b[0] ^= 0xff
	_, err := s.f.WriteAt(b, ref.off+int64(ref.n)/2)
	return err
}

// HoldLoads takes every place among the loads r allows at once; the
// returned function gives them back.
func (r *Residency) HoldLoads() func() {
	for range cap(r.loads) {
		r.loads <- struct{}{}
	}
	return func() {
		for range cap(r.loads) {
			<-r.loads
		}
	}
}
