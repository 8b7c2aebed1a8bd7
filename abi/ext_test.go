package abi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
)

// nameArg describes the name argument of an extension function: the
// argument list for a name of n bytes at offset 0 (other buffers at 1<<16),
// the longest name the ABI lets through, and the answer beyond it.
type nameArg struct {
	module, fn string
	args       func(n uint32) []uint32
	max        int
	over       int32
}

var nameArgs = []nameArg{
	{abi.PubSubModule, "publish", func(n uint32) []uint32 { return []uint32{0, n, 1 << 16, 1} }, abi.MaxNameBytes, abi.ErrInvalid},
	{abi.PubSubModule, "subscribe", func(n uint32) []uint32 { return []uint32{0, n, 1 << 16, 64} }, abi.MaxNameBytes, abi.ErrInvalid},
	{abi.PubSubModule, "fetch", func(n uint32) []uint32 { return []uint32{0, n, 0, 1 << 16, 16} }, abi.MaxSubscriptionID, abi.ErrNotFound},
	{abi.PubSubModule, "unsubscribe", func(n uint32) []uint32 { return []uint32{0, n} }, abi.MaxSubscriptionID, abi.ErrNotFound},
	{abi.SignalModule, "wait", func(n uint32) []uint32 { return []uint32{0, n, 0, 1 << 16, 16} }, abi.MaxNameBytes, abi.ErrInvalid},
	{abi.SignalModule, "send", func(n uint32) []uint32 { return []uint32{0, n, 1 << 16, 1} }, abi.MaxNameBytes, abi.ErrInvalid},
	{abi.KVModule, "get", func(n uint32) []uint32 { return []uint32{0, n, 1 << 16, 16} }, abi.MaxKeyBytes, abi.ErrNotFound},
	{abi.KVModule, "set", func(n uint32) []uint32 { return []uint32{0, n, 1 << 16, 1, 0} }, abi.MaxKeyBytes, abi.ErrTooLarge},
	{abi.KVModule, "delete", func(n uint32) []uint32 { return []uint32{0, n} }, abi.MaxKeyBytes, 0},
	{abi.DialModule, "call", func(n uint32) []uint32 { return []uint32{0, n, 1 << 16, 1, 0, 1 << 16, 16} }, abi.MaxTargetBytes, abi.ErrDenied},
}

// A name, key, id or target longer than the ABI allows is answered
// without calling the service (nothing is copied into a string); at the
// limit the service is called with it.
func TestExtNameLimits(t *testing.T) {
	for _, a := range nameArgs {
		t.Run(a.module+"."+a.fn, func(t *testing.T) {
			m := mem(1<<17, strings.Repeat("n", 1<<16))
			f := extFunc(a.module, a.fn)
			for _, n := range []int{a.max + 1, 1 << 16} {
				svc := &fakeServices{id: "id"}
				r, err := callExt(f, granted(svc), m, a.args(uint32(n))...)
				if err != nil || r != a.over || len(svc.calls) != 0 {
					t.Errorf("name of %d bytes: %d (%s), %v, %d service calls; want %d (%s) and none",
						n, r, abi.ErrorName(r), err, len(svc.calls), a.over, abi.ErrorName(a.over))
				}
			}
			svc := &fakeServices{id: "id"}
			if _, err := callExt(f, granted(svc), m, a.args(uint32(a.max))...); err != nil || len(svc.calls) != 1 || len(svc.calls[0].name) != a.max {
				t.Errorf("name of %d bytes: %v, calls %+v; want one call with it", a.max, err, svc.calls)
			}
		})
	}
}

// Messages, payloads, values and requests reach the service as views of
// guest memory, whatever their size: the service checks the size before
// it copies, so a 100 MB value over the limit is never copied by the
// host.
func TestExtDataPassedAsViews(t *testing.T) {
	const big = 1 << 20
	m := mem(2*big, "chan")
	for _, c := range []struct {
		module, fn string
		args       []uint32
	}{
		{abi.PubSubModule, "publish", []uint32{0, 4, big, big}},
		{abi.SignalModule, "send", []uint32{0, 4, big, big}},
		{abi.KVModule, "set", []uint32{0, 4, big, big, 0}},
		{abi.DialModule, "call", []uint32{0, 4, big, big, 0, 0, 0}},
	} {
		svc := &fakeServices{}
		if _, err := callExt(extFunc(c.module, c.fn), granted(svc), m, c.args...); err != nil {
			t.Fatal(err)
		}
		if len(svc.calls) != 1 || len(svc.calls[0].data) != big || !aliases(svc.calls[0].data, m) {
			t.Errorf("%s.%s: the service got %d bytes, a view: %v", c.module, c.fn, len(svc.calls[0].data), aliases(svc.calls[0].data, m))
		}
	}
}

// Service errors map to the ABI's codes; a full store is ERR_FULL, not
// ERR_TOO_LARGE.
func TestExtErrorCodes(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("service: %w", err) }
	for _, c := range []struct {
		err  error
		want int32
	}{
		{wrap(abi.ErrCapacity), abi.ErrFull},
		{wrap(abi.ErrInputTooLarge), abi.ErrTooLarge},
		{wrap(abi.ErrNotGranted), abi.ErrDenied},
		{wrap(abi.ErrGone), abi.ErrNotFound},
		{wrap(abi.ErrInvalidName), abi.ErrInvalid},
		{wrap(context.DeadlineExceeded), abi.ErrTimeout},
		{wrap(context.Canceled), abi.ErrClosed},
		{errors.New("other"), abi.ErrIO},
	} {
		for _, f := range []struct {
			module, fn string
			args       []uint32
		}{
			{abi.PubSubModule, "publish", []uint32{0, 4, 0, 4}},
			{abi.PubSubModule, "subscribe", []uint32{0, 4, 64, 64}},
			{abi.KVModule, "set", []uint32{0, 4, 0, 4, 0}},
			{abi.SignalModule, "send", []uint32{0, 4, 0, 4}},
		} {
			r, err := callExt(extFunc(f.module, f.fn), granted(&fakeServices{err: c.err}), mem(256, "name"), f.args...)
			if err != nil || r != c.want {
				t.Errorf("%s.%s with %v: %d (%s), %v; want %s", f.module, f.fn, c.err, r, abi.ErrorName(r), err, abi.ErrorName(c.want))
			}
		}
	}
}

// Without a grant every extension function is ERR_DENIED, on an exchange
// that grants nothing and on one that knows no extensions at all.
func TestExtNotGranted(t *testing.T) {
	for _, m := range abi.Modules()[1:] {
		for _, f := range m.Funcs {
			args := make([]uint32, len(f.Params))
			for _, x := range []abi.Exchange{&extExchange{svc: &fakeServices{}}, &fakeExchange{}} {
				r, err := callExt(f, x, mem(256, ""), args...)
				if err != nil || r != abi.ErrDenied {
					t.Errorf("%s.%s on %T: %d, %v; want ERR_DENIED", m.Name, f.Name, x, r, err)
				}
			}
		}
	}
}
