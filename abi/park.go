package abi

import (
	"errors"
	"time"

	"github.com/bubblewasm/bubblewasm/abi/spec"
)

// ParkModule holds the functions with which a handler hands its wait to
// the host: message, signal and sleep register what the exchange waits
// for, cancel drops it, stash keeps state for the next run, state and
// payload read it back on a resumed run. Every route grants it.
const ParkModule = "bubblewasm_park_v1"

// MaxStateBytes is the most a guest may stash with a park (stash answers
// ERR_TOO_LARGE beyond).
const MaxStateBytes = spec.MaxStateBytes

// Env keys of a resumed run (ENV.md).
const (
	// EnvResume is how many times the exchange has been resumed: "1" on
	// its first resumed run. Absent on the first run.
	EnvResume = "bubble.resume"
	// EnvWake says why a resumed run started: one of the Wake values.
	EnvWake = "bubble.wake"
)

// Wake values of EnvWake.
const (
	WakeMessage  = "message"  // the subscription has a message, or is gone
	WakeSignal   = "signal"   // a send on the signal; payload reads it
	WakeTimeout  = "timeout"  // the park's timeout passed
	WakeShutdown = "shutdown" // the server is stopping
)

// ParkOn is what a parked exchange waits for.
type ParkOn uint8

const (
	// ParkTimeout waits for the timeout only.
	ParkTimeout ParkOn = iota
	// ParkMessage waits until a subscription has a message queued or is
	// gone.
	ParkMessage
	// ParkSignal waits for a send on a signal.
	ParkSignal
)

// String returns the wake value the park ends with when its event comes.
func (p ParkOn) String() string {
	switch p {
	case ParkMessage:
		return WakeMessage
	case ParkSignal:
		return WakeSignal
	}
	return WakeTimeout
}

// Park is a wait a guest registers.
type Park struct {
	On ParkOn
	// Name is the subscription id (ParkMessage) or the signal name
	// (ParkSignal).
	Name string
	// Timeout is positive.
	Timeout time.Duration
}

// Errors a Parker returns besides the extensions' (ErrNotGranted, ErrGone,
// ErrInvalidName, ErrCapacity); ErrorCode-style mapping in parkErrorCode.
var (
	// ErrParked: a wait is already registered in this run (ERR_INVALID).
	ErrParked = errors.New("a wait is already registered in this run")
	// ErrNoPark: there is no exchange to park, or the host is shutting
	// down (ERR_CLOSED).
	ErrNoPark = errors.New("no exchange to park")
)

// Parker is implemented by an Exchange that its host can park: the
// bubblewasm_park_v1 functions call it. On an Exchange that is not a
// Parker every function of the module answers ERR_DENIED.
type Parker interface {
	// Park registers p, to take effect when the run returns 0. Errors:
	// ErrNotGranted, ErrGone, ErrInvalidName, ErrParked, ErrNoPark,
	// ErrCapacity.
	Park(p Park) error
	// Unpark drops the wait registered in this run, if any.
	Unpark()
	// Stash keeps a copy of state (at most MaxStateBytes) for the
	// exchange's later runs. It fails with ErrNoPark when there is no
	// exchange.
	Stash(state []byte) error
	// State returns the last stash and whether there is one.
	State() ([]byte, bool)
	// WakePayload returns the payload of the signal that woke this run and
	// whether a signal did.
	WakePayload() ([]byte, bool)
}

func parkFuncs() []Func {
	return []Func{
		{"message", []string{"id_ptr", "id_len", "timeout_ms"}, 1, parkMessage},
		{"signal", []string{"name_ptr", "name_len", "timeout_ms"}, 1, parkSignal},
		{"sleep", []string{"timeout_ms"}, 1, parkSleep},
		{"cancel", nil, 1, parkCancel},
		{"stash", []string{"buf_ptr", "buf_len"}, 1, parkStash},
		{"state", []string{"buf_ptr", "buf_len"}, 1, parkState},
		{"payload", []string{"buf_ptr", "buf_len"}, 1, parkPayload},
	}
}

// parkErrorCode maps a Parker's error to a negative result.
func parkErrorCode(err error) int32 {
	switch {
	case errors.Is(err, ErrParked):
		return ErrInvalid
	case errors.Is(err, ErrNoPark):
		return ErrClosed
	}
	return extErrorCode(err)
}

// parkTimeout converts a guest's timeout; ok is false for one ≤ 0.
func parkTimeout(v uint64) (time.Duration, bool) {
	ms := int32(uint32(v))
	return time.Duration(ms) * time.Millisecond, ms > 0
}

// register is message, signal and sleep after their arguments are read.
func register(x Exchange, stack []uint64, p Park, ok bool) error {
	px, isParker := x.(Parker)
	switch {
	case !isParker:
		result(stack, ErrDenied)
	case !ok:
		result(stack, ErrInvalid)
	default:
		result(stack, parkErrorCode(px.Park(p)))
	}
	return nil
}

func parkMessage(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(ParkModule+".message", mem, stack, 0)
	if err != nil {
		return err
	}
	d, ok := parkTimeout(stack[2])
	if ok && tooLong(b[0], MaxSubscriptionID) {
		result(stack, ErrNotFound) // no id is longer: not copied
		return nil
	}
	return register(x, stack, Park{On: ParkMessage, Name: string(b[0]), Timeout: d}, ok)
}

func parkSignal(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(ParkModule+".signal", mem, stack, 0)
	if err != nil {
		return err
	}
	d, ok := parkTimeout(stack[2])
	if ok && tooLong(b[0], MaxNameBytes) {
		ok = false // ERR_INVALID, as for any bad name; not copied
	}
	return register(x, stack, Park{On: ParkSignal, Name: string(b[0]), Timeout: d}, ok)
}

func parkSleep(x Exchange, _ Memory, stack []uint64) error {
	d, ok := parkTimeout(stack[0])
	return register(x, stack, Park{On: ParkTimeout, Timeout: d}, ok)
}

func parkCancel(x Exchange, _ Memory, stack []uint64) error {
	px, ok := x.(Parker)
	if !ok {
		result(stack, ErrDenied)
		return nil
	}
	px.Unpark()
	result(stack, 0)
	return nil
}

func parkStash(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(ParkModule+".stash", mem, stack, 0)
	if err != nil {
		return err
	}
	px, ok := x.(Parker)
	switch {
	case !ok:
		result(stack, ErrDenied)
	case len(b[0]) > MaxStateBytes:
		result(stack, ErrTooLarge)
	default:
		result(stack, parkErrorCode(px.Stash(b[0])))
	}
	return nil
}

// parkRead is state and payload: size negotiation over what get returns.
func parkRead(fn string, get func(Parker) ([]byte, bool)) func(Exchange, Memory, []uint64) error {
	return func(x Exchange, mem Memory, stack []uint64) error {
		b, err := spans(ParkModule+"."+fn, mem, stack, 0)
		if err != nil {
			return err
		}
		px, ok := x.(Parker)
		if !ok {
			result(stack, ErrDenied)
			return nil
		}
		data, ok := get(px)
		if !ok {
			result(stack, ErrNotFound)
			return nil
		}
		fill(stack, b[0], data)
		return nil
	}
}

var (
	parkState   = parkRead("state", Parker.State)
	parkPayload = parkRead("payload", Parker.WakePayload)
)
