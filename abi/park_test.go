package abi_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
)

// parkExchange is an exchange whose host can park it: it records the
// parks registered and answers with err.
type parkExchange struct {
	fakeExchange
	parks    []abi.Park
	unparks  int
	stashed  []byte
	hasState bool
	payload  []byte
	woken    bool
	err      error
}

func (x *parkExchange) Park(p abi.Park) error {
	if x.err != nil {
		return x.err
	}
	x.parks = append(x.parks, p)
	return nil
}

func (x *parkExchange) Unpark() { x.unparks++ }

func (x *parkExchange) Stash(b []byte) error {
	if x.err != nil {
		return x.err
	}
	x.stashed, x.hasState = bytes.Clone(b), true
	return nil
}

func (x *parkExchange) State() ([]byte, bool)       { return x.stashed, x.hasState }
func (x *parkExchange) WakePayload() ([]byte, bool) { return x.payload, x.woken }

var _ abi.Parker = (*parkExchange)(nil)

func parkFunc(name string) abi.Func { return extFunc(abi.ParkModule, name) }

// Registering a wait: the Parker gets what the guest passed; a timeout ≤ 0
// and an over-long name are refused before the Parker is asked (nothing
// copied); the Parker's errors map to the codes ABI.md lists.
func TestParkRegister(t *testing.T) {
	m := mem(1<<17, "sub-1"+strings.Repeat("n", 1<<16))
	minus1 := uint32(0xFFFFFFFF)
	for _, c := range []struct {
		name string
		fn   string
		args []uint32
		err  error
		want int32
		park *abi.Park
	}{
		{"message", "message", []uint32{0, 5, 10_000}, nil, 0, &abi.Park{On: abi.ParkMessage, Name: "sub-1", Timeout: 10 * time.Second}},
		{"signal", "signal", []uint32{0, 5, 1}, nil, 0, &abi.Park{On: abi.ParkSignal, Name: "sub-1", Timeout: time.Millisecond}},
		{"sleep", "sleep", []uint32{250}, nil, 0, &abi.Park{On: abi.ParkTimeout, Timeout: 250 * time.Millisecond}},
		{"message zero timeout", "message", []uint32{0, 5, 0}, nil, abi.ErrInvalid, nil},
		{"message negative timeout", "message", []uint32{0, 5, minus1}, nil, abi.ErrInvalid, nil},
		{"signal negative timeout", "signal", []uint32{0, 5, 0x80000000}, nil, abi.ErrInvalid, nil},
		{"sleep zero", "sleep", []uint32{0}, nil, abi.ErrInvalid, nil},
		{"sleep negative", "sleep", []uint32{minus1}, nil, abi.ErrInvalid, nil},
		{"message id over 64 bytes", "message", []uint32{0, abi.MaxSubscriptionID + 1, 1000}, nil, abi.ErrNotFound, nil},
		{"message id of 64 KiB", "message", []uint32{0, 1 << 16, 1000}, nil, abi.ErrNotFound, nil},
		{"signal name over 256 bytes", "signal", []uint32{0, abi.MaxNameBytes + 1, 1000}, nil, abi.ErrInvalid, nil},
		{"not granted", "message", []uint32{0, 5, 1000}, fmt.Errorf("x: %w", abi.ErrNotGranted), abi.ErrDenied, nil},
		{"gone", "message", []uint32{0, 5, 1000}, fmt.Errorf("x: %w", abi.ErrGone), abi.ErrNotFound, nil},
		{"bad name", "signal", []uint32{0, 5, 1000}, fmt.Errorf("x: %w", abi.ErrInvalidName), abi.ErrInvalid, nil},
		{"twice", "sleep", []uint32{1000}, abi.ErrParked, abi.ErrInvalid, nil},
		{"no exchange", "sleep", []uint32{1000}, abi.ErrNoPark, abi.ErrClosed, nil},
		{"max_waiting", "signal", []uint32{0, 5, 1000}, fmt.Errorf("x: %w", abi.ErrCapacity), abi.ErrFull, nil},
		{"other", "sleep", []uint32{1000}, errors.New("other"), abi.ErrIO, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := &parkExchange{err: c.err}
			r, err := callExt(parkFunc(c.fn), x, m, c.args...)
			if err != nil || r != c.want {
				t.Fatalf("%s%v: %d (%s), %v; want %d (%s)", c.fn, c.args, r, abi.ErrorName(r), err, c.want, abi.ErrorName(c.want))
			}
			switch {
			case c.park == nil && len(x.parks) != 0:
				t.Errorf("registered %+v, want nothing", x.parks)
			case c.park != nil && (len(x.parks) != 1 || x.parks[0] != *c.park):
				t.Errorf("registered %+v, want %+v", x.parks, *c.park)
			}
		})
	}
}

// A pointer or length outside guest memory traps the call, whatever else
// is wrong with it.
func TestParkBadPointers(t *testing.T) {
	m := mem(256, "")
	for _, c := range []struct {
		fn   string
		args []uint32
	}{
		{"message", []uint32{250, 10, 1000}},
		{"message", []uint32{0xFFFFFFF0, 0x20, 0}},
		{"signal", []uint32{0, 257, 1000}},
		{"stash", []uint32{200, 100}},
		{"state", []uint32{0xFFFFFFFF, 2}},
		{"payload", []uint32{256, 1}},
	} {
		_, err := callExt(parkFunc(c.fn), &parkExchange{}, m, c.args...)
		var ge *abi.GuestError
		if !errors.As(err, &ge) || ge.Func != abi.ParkModule+"."+c.fn {
			t.Errorf("%s%v: %v, want a guest error naming %s.%s", c.fn, c.args, err, abi.ParkModule, c.fn)
		}
	}
}

// stash keeps a copy of up to MaxStateBytes; beyond, ERR_TOO_LARGE and the
// earlier stash stays. state and payload negotiate sizes and answer
// ERR_NOT_FOUND when there is nothing.
func TestParkStashState(t *testing.T) {
	m := mem(1<<16, strings.Repeat("s", abi.MaxStateBytes+1))
	x := &parkExchange{}
	if r, _ := callExt(parkFunc("state"), x, m, 0, 16); r != abi.ErrNotFound {
		t.Errorf("state before any stash: %d, want ERR_NOT_FOUND", r)
	}
	if r, _ := callExt(parkFunc("stash"), x, m, 0, abi.MaxStateBytes); r != 0 || len(x.stashed) != abi.MaxStateBytes {
		t.Fatalf("stash of %d bytes: %d, kept %d", abi.MaxStateBytes, r, len(x.stashed))
	}
	m[0] = 'X' // a copy was kept, not a view
	if x.stashed[0] != 's' {
		t.Error("the stash aliases guest memory")
	}
	if r, _ := callExt(parkFunc("stash"), x, m, 0, abi.MaxStateBytes+1); r != abi.ErrTooLarge || len(x.stashed) != abi.MaxStateBytes {
		t.Errorf("stash of %d bytes: %d, kept %d; want ERR_TOO_LARGE and the earlier stash", abi.MaxStateBytes+1, r, len(x.stashed))
	}
	x.stashed = []byte("state!")
	if r, _ := callExt(parkFunc("state"), x, m, 100, 3); r != 6 || string(m[100:103]) != "sss" {
		t.Errorf("state into 3 bytes: %d, buffer %q; want 6 and nothing written", r, m[100:103])
	}
	if r, _ := callExt(parkFunc("state"), x, m, 100, 6); r != 6 || string(m[100:106]) != "state!" {
		t.Errorf("state into 6 bytes: %d, %q", r, m[100:106])
	}
	if r, _ := callExt(parkFunc("payload"), x, m, 0, 16); r != abi.ErrNotFound {
		t.Errorf("payload on a run no signal woke: %d, want ERR_NOT_FOUND", r)
	}
	x.payload, x.woken = []byte{}, true
	if r, _ := callExt(parkFunc("payload"), x, m, 0, 0); r != 0 {
		t.Errorf("empty payload: %d, want 0", r)
	}
	x.err = abi.ErrNoPark
	if r, _ := callExt(parkFunc("stash"), x, m, 0, 1); r != abi.ErrClosed {
		t.Errorf("stash without an exchange: %d, want ERR_CLOSED", r)
	}
}

// cancel reaches the Parker and answers 0.
func TestParkCancel(t *testing.T) {
	x := &parkExchange{}
	if r, err := callExt(parkFunc("cancel"), x, mem(16, "")); r != 0 || err != nil || x.unparks != 1 {
		t.Errorf("cancel: %d, %v, %d unparks", r, err, x.unparks)
	}
}
