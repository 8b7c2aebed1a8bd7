package abi_test

import (
	"time"
	"unsafe"

	"github.com/bubblewasm/bubblewasm/abi"
)

// extCall is one call a fake service received.
type extCall struct {
	op     string // "publish", "kv.set", ...
	name   string // channel, signal, key, target or subscription id
	data   []byte // the message, payload, value or request, as passed
	millis time.Duration
	limit  int
}

// fakeServices answers every extension call with result and err and
// records it; data is what a call returns (message, payload, value, reply).
type fakeServices struct {
	calls  []extCall
	result int
	data   []byte
	id     string // what subscribe returns
	err    error
}

func (s *fakeServices) record(c extCall) { s.calls = append(s.calls, c) }

// PubSub
func (s *fakeServices) Publish(channel string, msg []byte) (int, error) {
	s.record(extCall{op: "publish", name: channel, data: msg})
	return s.result, s.err
}

func (s *fakeServices) Subscribe(channel string) (string, error) {
	s.record(extCall{op: "subscribe", name: channel})
	return s.id, s.err
}

func (s *fakeServices) Next(id string, timeout time.Duration, limit int) ([]byte, int, error) {
	s.record(extCall{op: "fetch", name: id, millis: timeout, limit: limit})
	if s.err != nil {
		return nil, 0, s.err
	}
	if len(s.data) > limit {
		return nil, len(s.data), nil
	}
	return s.data, len(s.data), nil
}

func (s *fakeServices) Unsubscribe(id string) error {
	s.record(extCall{op: "unsubscribe", name: id})
	return s.err
}

// Signals
type fakeSignals struct{ *fakeServices }

func (s fakeSignals) Wait(name string, timeout time.Duration) ([]byte, error) {
	s.record(extCall{op: "wait", name: name, millis: timeout})
	return s.data, s.err
}

func (s fakeSignals) Send(name string, payload []byte) (int, error) {
	s.record(extCall{op: "send", name: name, data: payload})
	return s.result, s.err
}

// KV
type fakeKV struct{ *fakeServices }

func (s fakeKV) Get(key string) ([]byte, bool, error) {
	s.record(extCall{op: "kv.get", name: key})
	return s.data, s.result >= 0, s.err
}

func (s fakeKV) Set(key string, value []byte, ttl time.Duration) error {
	s.record(extCall{op: "kv.set", name: key, data: value, millis: ttl})
	return s.err
}

func (s fakeKV) Delete(key string) error {
	s.record(extCall{op: "kv.delete", name: key})
	return s.err
}

// Dial
type fakeDial struct{ *fakeServices }

func (s fakeDial) Call(target string, req []byte, timeout time.Duration) ([]byte, int, error) {
	s.record(extCall{op: "dial.call", name: target, data: req, millis: timeout})
	return s.data, s.result, s.err
}

func (s fakeDial) Last() ([]byte, int, bool) {
	s.record(extCall{op: "dial.last"})
	return s.data, s.result, s.err == nil
}

// extExchange is an exchange whose route grants the extensions that have
// a service (nil: not granted).
type extExchange struct {
	fakeExchange
	svc                         *fakeServices
	pubsub, signals, kv, dialer bool
	outbound                    *fakeOutbound
}

func (x *extExchange) Outbound() abi.Outbound {
	if x.outbound == nil {
		return nil
	}
	return x.outbound
}

func (x *extExchange) PubSub() abi.PubSub {
	if !x.pubsub {
		return nil
	}
	return x.svc
}

func (x *extExchange) Signals() abi.Signals {
	if !x.signals {
		return nil
	}
	return fakeSignals{x.svc}
}

func (x *extExchange) KV() abi.KV {
	if !x.kv {
		return nil
	}
	return fakeKV{x.svc}
}

func (x *extExchange) Dial() abi.Dial {
	if !x.dialer {
		return nil
	}
	return fakeDial{x.svc}
}

// granted returns an exchange that grants every extension.
func granted(svc *fakeServices) *extExchange {
	return &extExchange{svc: svc, pubsub: true, signals: true, kv: true, dialer: true, outbound: &fakeOutbound{}}
}

// aliases reports whether b is a view of m (not a copy).
func aliases(b []byte, m fakeMem) bool {
	if len(b) == 0 || len(m) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	return p >= lo && p < lo+uintptr(len(m))
}

// extFunc returns the host function module.name.
func extFunc(module, name string) abi.Func {
	for _, m := range abi.Modules() {
		if m.Name != module {
			continue
		}
		for _, f := range m.Funcs {
			if f.Name == name {
				return f
			}
		}
	}
	panic("no host function " + module + "." + name)
}

// callExt runs an extension function with i32 arguments.
func callExt(f abi.Func, x abi.Exchange, m abi.Memory, args ...uint32) (int32, error) {
	stack := make([]uint64, max(len(args), 1))
	for i, a := range args {
		stack[i] = 0xDEAD_BEEF_0000_0000 | uint64(a)
	}
	if err := f.Call(x, m, stack); err != nil {
		return 0, err
	}
	return int32(uint32(stack[0])), nil
}
