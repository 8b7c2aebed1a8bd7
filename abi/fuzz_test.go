package abi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
)

// allFuncs is every host function of every module, core first.
func allFuncs() (names []string, funcs []abi.Func) {
	for _, m := range abi.Modules() {
		for _, f := range m.Funcs {
			names = append(names, m.Name+"."+f.Name)
			funcs = append(funcs, f)
		}
	}
	return names, funcs
}

// fuzzErrors are what the fake services and exchange may fail with.
var fuzzErrors = []error{
	nil, abi.ErrCapacity, abi.ErrInputTooLarge, abi.ErrNotGranted, abi.ErrGone, abi.ErrInvalidName,
	context.DeadlineExceeded, context.Canceled, io.ErrClosedPipe, io.EOF, errors.New("other"),
}

// FuzzHostFuncs calls every core and extension host function with random
// pointers, lengths and values on a small guest memory, against an
// exchange and extension services whose answers the input chooses too
// (which extensions are granted, the error, the size of the data returned,
// the count). The property: never a Go panic; a failure is only ever a
// *abi.GuestError naming the function; a result is a length or count (≥ 0)
// or an error code ABI.md defines.
func FuzzHostFuncs(f *testing.F) {
	names, funcs := allFuncs()
	// Seeds: every function with arguments in bounds, at the edge of
	// memory, and wrapping around 2^32.
	for i := range funcs {
		f.Add(uint16(i), uint16(256), uint32(0), uint32(8), uint32(16), uint32(64), uint32(100), uint32(128), uint32(8), []byte{0xFF, 0, 8, 1})
		f.Add(uint16(i), uint16(256), uint32(255), uint32(1), uint32(256), uint32(0), uint32(0xFFFFFFFF), uint32(0), uint32(0), []byte{0x0F, 1, 200, 3})
		f.Add(uint16(i), uint16(64), uint32(0xFFFFFFFF), uint32(2), uint32(0xFFFFFFF0), uint32(0x20), uint32(0x80000000), uint32(64), uint32(1), []byte{0, 2})
		f.Add(uint16(i), uint16(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), []byte{})
	}
	f.Fuzz(func(t *testing.T, fn uint16, memSize uint16, a0, a1, a2, a3, a4, a5, a6 uint32, svc []byte) {
		at := func(i int) byte {
			if i < len(svc) {
				return svc[i]
			}
			return 0
		}
		i := int(fn) % len(funcs)
		name, fun := names[i], funcs[i]
		m := mem(int(memSize)%4097, strings.Repeat("bubble.chat ", 400))
		services := &fakeServices{
			err:    fuzzErrors[int(at(1))%len(fuzzErrors)],
			data:   []byte(strings.Repeat("d", int(at(2))*int(at(2)))), // up to 65,025 bytes
			result: int(int8(at(3))) * 1000,                            // negative too: a buggy service
			id:     strings.Repeat("i", int(at(4))%(abi.MaxSubscriptionID+8)),
		}
		grants := at(0)
		x := &extExchange{svc: services, pubsub: grants&1 != 0, signals: grants&2 != 0, kv: grants&4 != 0, dialer: grants&8 != 0}
		if grants&16 != 0 {
			x.outbound = &fakeOutbound{err: services.err, header: http.Header{"X": {string(services.data)}}, body: string(services.data)}
		}
		x.env = map[string]string{"PATH_INFO": "/x", "bubble.route": strings.Repeat("r", int(at(5)))}
		x.reads = []readStep{{strings.Repeat("b", int(at(6))), fuzzErrors[int(at(7))%len(fuzzErrors)]}}
		x.writeErr = fuzzErrors[int(at(8))%len(fuzzErrors)]
		x.flushErr = fuzzErrors[int(at(9))%len(fuzzErrors)]
		x.committed = at(10)&1 != 0

		var ex abi.Exchange = x
		if at(11)&1 != 0 { // a host that can park the exchange
			p := &parkExchange{err: fuzzErrors[int(at(12))%len(fuzzErrors)], payload: services.data, woken: at(13)&1 != 0}
			p.stashed, p.hasState = services.data, at(13)&2 != 0
			ex = parkingExt{x, p}
		}

		args := []uint32{a0, a1, a2, a3, a4, a5, a6, a1, a3}[:len(fun.Params)] // request has 9: two repeat
		r, err := callExt(fun, ex, m, args...)
		if err != nil {
			var ge *abi.GuestError
			if !errors.As(err, &ge) || !strings.HasSuffix(name, "."+ge.Func[strings.LastIndex(ge.Func, ".")+1:]) {
				t.Fatalf("%s%v: error %v (%T), want a *abi.GuestError naming the function", name, args, err, err)
			}
			return
		}
		if fun.Results == 1 && r < 0 && abi.ErrorName(r) == "" {
			t.Fatalf("%s%v: result %d is no code of the ABI", name, args, r)
		}
	})
}

// parkingExt is an extExchange whose host can also park it.
type parkingExt struct {
	*extExchange
	p *parkExchange
}

func (x parkingExt) Park(p abi.Park) error       { return x.p.Park(p) }
func (x parkingExt) Unpark()                     { x.p.Unpark() }
func (x parkingExt) Stash(b []byte) error        { return x.p.Stash(b) }
func (x parkingExt) State() ([]byte, bool)       { return x.p.State() }
func (x parkingExt) WakePayload() ([]byte, bool) { return x.p.WakePayload() }
