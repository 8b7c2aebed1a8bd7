package fakehost

import (
	"slices"

	"github.com/bubblewasm/bubblewasm/abi/spec"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
)

// Park is a wait a run registered: On is "message", "signal" or "timeout";
// Name the subscription id or signal name.
type Park struct {
	On        string
	Name      string
	TimeoutMS int
}

// ParkState is an exchange's side of bubblewasm_park_v1, kept across its
// runs: the wait this run registered, the stash, and the payload of the
// signal that woke this run.
type ParkState struct {
	Pending *Park
	State   []byte
	Stashed bool
	Payload []byte
	Woken   bool
}

var _ host.Park = (*Host)(nil)

// register checks a wait as the real host does, arguments first, and
// records it; check is the grant and name check, run for a valid timeout.
func (h *Host) register(p Park, check func() int32) int32 {
	if p.TimeoutMS <= 0 {
		return spec.ErrInvalid
	}
	if code := check(); code != 0 {
		return code
	}
	if h.Park.Pending != nil {
		return spec.ErrInvalid
	}
	h.Park.Pending = &p
	return 0
}

// ParkMessage implements bubblewasm_park_v1.message: the subscription must
// exist, on a route with pub/sub.
func (h *Host) ParkMessage(id string, timeoutMS int32) int32 {
	return h.register(Park{On: "message", Name: id, TimeoutMS: int(timeoutMS)}, func() int32 {
		e, c := h.ext()
		if c.PubSub == nil {
			return spec.ErrDenied
		}
		if _, ok := e.Queued(id); !ok {
			return spec.ErrNotFound
		}
		return 0
	})
}

// ParkSignal implements bubblewasm_park_v1.signal.
func (h *Host) ParkSignal(name string, timeoutMS int32) int32 {
	return h.register(Park{On: "signal", Name: name, TimeoutMS: int(timeoutMS)}, func() int32 {
		_, c := h.ext()
		return channelCheck(c.Signals, name)
	})
}

// ParkSleep implements bubblewasm_park_v1.sleep.
func (h *Host) ParkSleep(timeoutMS int32) int32 {
	return h.register(Park{On: "timeout", TimeoutMS: int(timeoutMS)}, func() int32 { return 0 })
}

// ParkCancel implements bubblewasm_park_v1.cancel.
func (h *Host) ParkCancel() int32 {
	h.Park.Pending = nil
	return 0
}

// ParkStash implements bubblewasm_park_v1.stash.
func (h *Host) ParkStash(state []byte) int32 {
	if len(state) > spec.MaxStateBytes {
		return spec.ErrTooLarge
	}
	h.Park.State, h.Park.Stashed = slices.Clone(state), true
	return 0
}

// ParkState implements bubblewasm_park_v1.state.
func (h *Host) ParkState(buf []byte) int32 {
	if !h.Park.Stashed {
		return spec.ErrNotFound
	}
	return fill(buf, h.Park.State)
}

// ParkPayload implements bubblewasm_park_v1.payload.
func (h *Host) ParkPayload(buf []byte) int32 {
	if !h.Park.Woken {
		return spec.ErrNotFound
	}
	return fill(buf, h.Park.Payload)
}
