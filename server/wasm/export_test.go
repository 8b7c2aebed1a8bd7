package wasm

// Parked returns how many of the route's exchanges are parked now.
func (h *Handler) Parked() int { return int(h.lot.parked.Load()) }

// Waiting returns how many places of max_waiting are taken now: parked
// exchanges and waits registered by running ones.
func (h *Handler) Waiting() int { return int(h.lot.n.Load()) }
