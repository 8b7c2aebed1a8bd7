package abi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
)

// fakeMem is guest memory of a fixed size.
type fakeMem []byte

func (m fakeMem) Size() uint32 { return uint32(len(m)) }

func (m fakeMem) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(m)) {
		return nil, false
	}
	return m[off : off+n], true
}

func (m fakeMem) Write(off uint32, p []byte) bool {
	if uint64(off)+uint64(len(p)) > uint64(len(m)) {
		return false
	}
	copy(m[off:], p)
	return true
}

// readStep is one result of fakeExchange.Read.
type readStep struct {
	data string
	err  error
}

type logRecord struct {
	level slog.Level
	msg   string
}

// fakeExchange records what the host functions do with it.
type fakeExchange struct {
	env       map[string]string
	reads     []readStep // consumed in order; then io.EOF
	readCalls int
	out       bytes.Buffer
	writeErr  error
	flushErr  error
	flushes   int
	committed bool
	status    int
	header    [][3]string // name, value, "set" or "add"
	logs      []logRecord
}

func (f *fakeExchange) Env(k string) (string, bool) { v, ok := f.env[k]; return v, ok }

func (f *fakeExchange) EnvKeys() []string {
	keys := make([]string, 0, len(f.env))
	for k := range f.env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (f *fakeExchange) Read(p []byte) (int, error) {
	f.readCalls++
	if len(f.reads) == 0 {
		return 0, io.EOF
	}
	s := f.reads[0]
	n := copy(p, s.data)
	if n < len(s.data) {
		f.reads[0].data = s.data[n:]
		return n, nil
	}
	f.reads = f.reads[1:]
	return n, s.err
}

func (f *fakeExchange) Write(p []byte) (int, error) {
	f.committed = true
	if f.writeErr != nil {
		return 0, f.writeErr
	}
	return f.out.Write(p)
}

func (f *fakeExchange) Flush() error {
	f.committed = true
	f.flushes++
	return f.flushErr
}

func (f *fakeExchange) SetStatus(code int) bool {
	if f.committed {
		return false
	}
	f.status = code
	return true
}

func (f *fakeExchange) SetHeader(name, value string, add bool) int32 {
	if f.committed {
		return abi.ErrCommitted
	}
	op := "set"
	if add {
		op = "add"
	}
	f.header = append(f.header, [3]string{name, value, op})
	return 0
}

func (f *fakeExchange) Log(level slog.Level, msg string) {
	f.logs = append(f.logs, logRecord{level, msg})
}

func fn(t testing.TB, name string) abi.Func {
	t.Helper()
	for _, f := range abi.Funcs() {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no host function %s", name)
	return abi.Func{}
}

// call runs a host function with i32 arguments and returns its result (0
// for functions without one) and error.
func call(t testing.TB, name string, x abi.Exchange, mem abi.Memory, args ...uint32) (int32, error) {
	t.Helper()
	f := fn(t, name)
	if len(args) != len(f.Params) {
		t.Fatalf("%s takes %d params, got %d", name, len(f.Params), len(args))
	}
	stack := make([]uint64, max(len(args), 1))
	for i, a := range args {
		// Engines may leave garbage in the upper 32 bits of an i32 slot.
		stack[i] = 0xDEAD_BEEF_0000_0000 | uint64(a)
	}
	const untouched = 0x5555_5555_5555_5555
	if len(args) == 0 {
		stack[0] = untouched
	}
	err := f.Call(x, mem, stack)
	if err != nil {
		return 0, err
	}
	if f.Results == 0 {
		return 0, nil
	}
	if stack[0]>>32 != 0 {
		t.Fatalf("%s left upper bits set in its i32 result: %#x", name, stack[0])
	}
	return int32(uint32(stack[0])), nil
}

// mustOK calls and fails the test on a guest error.
func mustOK(t testing.TB, name string, x abi.Exchange, mem abi.Memory, args ...uint32) int32 {
	t.Helper()
	r, err := call(t, name, x, mem, args...)
	if err != nil {
		t.Fatalf("%s%v: unexpected guest error %v", name, args, err)
	}
	return r
}

// mustTrap calls and requires a *abi.GuestError naming the function.
func mustTrap(t testing.TB, name string, x abi.Exchange, mem abi.Memory, args ...uint32) {
	t.Helper()
	_, err := call(t, name, x, mem, args...)
	var ge *abi.GuestError
	if !errors.As(err, &ge) {
		t.Fatalf("%s%v: got %v, want a *abi.GuestError", name, args, err)
	}
	if ge.Func != name || !strings.Contains(err.Error(), abi.ModuleName+"."+name) {
		t.Fatalf("%s%v: guest error %q does not name the function", name, args, err)
	}
}

// mem returns a memory of n bytes filled with a sentinel and the string s
// at offset 0.
func mem(n int, s string) fakeMem {
	m := make(fakeMem, n)
	for i := range m {
		m[i] = 0xAA
	}
	copy(m, s)
	return m
}

func untouched(m fakeMem, from, to int) bool {
	for _, b := range m[from:to] {
		if b != 0xAA {
			return false
		}
	}
	return true
}

func TestFuncsTable(t *testing.T) {
	want := map[string]struct{ params, results int }{
		abi.FuncEnvGet: {4, 1}, abi.FuncEnvKeys: {2, 1}, abi.FuncEnvAll: {2, 1}, abi.FuncRead: {2, 1},
		abi.FuncWrite: {2, 1}, abi.FuncFlush: {0, 1}, abi.FuncSetStatus: {1, 1},
		abi.FuncSetHeader: {4, 1}, abi.FuncAddHeader: {4, 1}, abi.FuncLog: {3, 0},
	}
	seen := map[string]bool{}
	for _, f := range abi.Funcs() {
		if seen[f.Name] {
			t.Errorf("%s listed twice", f.Name)
		}
		seen[f.Name] = true
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected host function %s", f.Name)
			continue
		}
		if len(f.Params) != w.params || f.Results != w.results || f.Call == nil {
			t.Errorf("%s: %d params %d results, want %d %d", f.Name, len(f.Params), f.Results, w.params, w.results)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s missing from Funcs()", name)
		}
	}
	if !slices.EqualFunc(abi.Funcs(), abi.Funcs(), func(a, b abi.Func) bool { return a.Name == b.Name }) {
		t.Error("Funcs() order is not stable")
	}
}

// Pointer checks, shared by every function that takes ranges: a range is
// valid when ptr+len, computed without overflow, is at most the memory size.
func TestOutOfBoundsRanges(t *testing.T) {
	const size = 256
	// Each case gives the function and a way to place a (ptr, len) pair in
	// its arguments, the rest being valid.
	type placer func(ptr, n uint32) []uint32
	key := "K" // at 0
	slots := []struct {
		fn, slot string
		args     placer
	}{
		{abi.FuncEnvGet, "key", func(p, n uint32) []uint32 { return []uint32{p, n, 16, 16} }},
		{abi.FuncEnvGet, "buf", func(p, n uint32) []uint32 { return []uint32{0, 1, p, n} }},
		{abi.FuncEnvKeys, "buf", func(p, n uint32) []uint32 { return []uint32{p, n} }},
		{abi.FuncEnvAll, "buf", func(p, n uint32) []uint32 { return []uint32{p, n} }},
		{abi.FuncRead, "buf", func(p, n uint32) []uint32 { return []uint32{p, n} }},
		{abi.FuncWrite, "buf", func(p, n uint32) []uint32 { return []uint32{p, n} }},
		{abi.FuncSetHeader, "name", func(p, n uint32) []uint32 { return []uint32{p, n, 32, 1} }},
		{abi.FuncSetHeader, "value", func(p, n uint32) []uint32 { return []uint32{32, 1, p, n} }},
		{abi.FuncAddHeader, "name", func(p, n uint32) []uint32 { return []uint32{p, n, 32, 1} }},
		{abi.FuncAddHeader, "value", func(p, n uint32) []uint32 { return []uint32{32, 1, p, n} }},
		{abi.FuncLog, "msg", func(p, n uint32) []uint32 { return []uint32{0, p, n} }},
	}
	bad := []struct {
		name   string
		ptr, n uint32
	}{
		{"past the end", size + 8, 4},
		{"starts at the end", size, 1},
		{"straddles the end", size - 1, 2},
		{"zero length past the end", size + 1, 0},
		{"ptr+len overflows 32 bits", 0xFFFFFFF0, 0x20},
		{"ptr+len is exactly 2^32", 0xFFFFFFFF, 1},
		{"len is 2^32-1", 1, 0xFFFFFFFF},
		{"both huge", 0xFFFFFFFF, 0xFFFFFFFF},
	}
	good := []struct {
		name   string
		ptr, n uint32
	}{
		{"zero length at the end", size, 0},
		{"ends exactly at the end", size - 1, 1},
	}
	for _, s := range slots {
		for _, c := range bad {
			t.Run(s.fn+"/"+s.slot+"/"+c.name, func(t *testing.T) {
				x := &fakeExchange{env: map[string]string{key: "v"}, reads: []readStep{{data: "x"}}}
				m := mem(size, key)
				copy(m[32:], "X")
				mustTrap(t, s.fn, x, m, s.args(c.ptr, c.n)...)
				// A trapped call has no effect on the exchange.
				if x.out.Len() != 0 || x.committed || len(x.header) != 0 || len(x.logs) != 0 || x.readCalls != 0 {
					t.Fatalf("trapped call touched the exchange: %+v", x)
				}
				if !untouched(m, 33, size) {
					t.Fatal("trapped call wrote guest memory")
				}
			})
		}
		for _, c := range good {
			t.Run(s.fn+"/"+s.slot+"/valid "+c.name, func(t *testing.T) {
				x := &fakeExchange{env: map[string]string{key: "v"}}
				m := mem(size, key)
				copy(m[32:], "X")
				if _, err := call(t, s.fn, x, m, s.args(c.ptr, c.n)...); err != nil {
					t.Fatalf("valid range trapped: %v", err)
				}
			})
		}
	}
}

func TestEnvGet(t *testing.T) {
	x := &fakeExchange{env: map[string]string{"KEY": "value!", "EMPTY": ""}}
	m := mem(128, "KEYEMPTYNOPE")
	// Too small: nothing written, full size returned.
	if r := mustOK(t, abi.FuncEnvGet, x, m, 0, 3, 64, 5); r != 6 {
		t.Fatalf("small buffer: %d, want 6", r)
	}
	if !untouched(m, 12, 128) {
		t.Fatal("small buffer: bytes were written")
	}
	// Zero-length buffer: a size probe.
	if r := mustOK(t, abi.FuncEnvGet, x, m, 0, 3, 64, 0); r != 6 {
		t.Fatalf("probe: %d, want 6", r)
	}
	// Exact and larger buffers.
	for _, n := range []uint32{6, 20} {
		m := mem(128, "KEY")
		if r := mustOK(t, abi.FuncEnvGet, x, m, 0, 3, 64, n); r != 6 || string(m[64:70]) != "value!" || !untouched(m, 70, 128) {
			t.Fatalf("buffer of %d: %d %q", n, r, m[64:72])
		}
	}
	if r := mustOK(t, abi.FuncEnvGet, x, m, 3, 5, 64, 16); r != 0 {
		t.Fatalf("empty value: %d, want 0", r)
	}
	if r := mustOK(t, abi.FuncEnvGet, x, m, 8, 4, 64, 16); r != abi.ErrNotFound {
		t.Fatalf("missing key: %d, want ERR_NOT_FOUND", r)
	}
	// Key and buffer may overlap: the key is read before the value lands.
	m2 := mem(64, "KEY")
	if r := mustOK(t, abi.FuncEnvGet, x, m2, 0, 3, 0, 16); r != 6 || string(m2[:6]) != "value!" {
		t.Fatalf("overlapping key and buffer: %d %q", r, m2[:6])
	}
}

func TestEnvKeys(t *testing.T) {
	x := &fakeExchange{env: map[string]string{"b": "1", "a": "2", "REQUEST_METHOD": "GET"}}
	want := "REQUEST_METHOD\x00a\x00b\x00"
	m := mem(128, "")
	if r := mustOK(t, abi.FuncEnvKeys, x, m, 0, 0); r != int32(len(want)) {
		t.Fatalf("probe: %d, want %d", r, len(want))
	}
	if r := mustOK(t, abi.FuncEnvKeys, x, m, 0, uint32(len(want)-1)); r != int32(len(want)) || !untouched(m, 0, 128) {
		t.Fatalf("small buffer: %d, or bytes were written", r)
	}
	if r := mustOK(t, abi.FuncEnvKeys, x, m, 0, 128); r != int32(len(want)) || string(m[:len(want)]) != want || !untouched(m, len(want), 128) {
		t.Fatalf("full buffer: %d %q", r, m[:len(want)])
	}
	if r := mustOK(t, abi.FuncEnvKeys, &fakeExchange{}, m, 0, 0); r != 0 {
		t.Fatalf("empty env: %d, want 0", r)
	}
}

// env_all writes key, NUL, the value's length (u32 LE) and the value for
// every key in order; a value may hold NUL and any byte; a short buffer is
// untouched and the result says the size.
func TestEnvAll(t *testing.T) {
	x := &fakeExchange{env: map[string]string{"b": "", "a": "x\x00y", "REQUEST_METHOD": "GET"}}
	want := "REQUEST_METHOD\x00\x03\x00\x00\x00GET" + "a\x00\x03\x00\x00\x00x\x00y" + "b\x00\x00\x00\x00\x00"
	for _, tc := range []struct {
		name    string
		buf     uint32
		written bool
	}{
		{"probe", 0, false},
		{"one byte short", uint32(len(want) - 1), false},
		{"exact", uint32(len(want)), true},
		{"roomy", 128, true},
	} {
		m := mem(128, "")
		r := mustOK(t, abi.FuncEnvAll, x, m, 0, tc.buf)
		if r != int32(len(want)) {
			t.Fatalf("%s: %d, want %d", tc.name, r, len(want))
		}
		if tc.written && (string(m[:len(want)]) != want || !untouched(m, len(want), 128)) {
			t.Fatalf("%s: %q", tc.name, m[:len(want)])
		}
		if !tc.written && !untouched(m, 0, 128) {
			t.Fatalf("%s: bytes were written", tc.name)
		}
	}
	if r := mustOK(t, abi.FuncEnvAll, &fakeExchange{}, mem(8, ""), 0, 0); r != 0 {
		t.Fatalf("empty env: %d, want 0", r)
	}
}

func TestRead(t *testing.T) {
	t.Run("stream then EOF", func(t *testing.T) {
		x := &fakeExchange{reads: []readStep{{data: "hello "}, {data: "world"}}}
		m := mem(64, "")
		var got []byte
		for i := 0; ; i++ {
			if i > 20 {
				t.Fatal("read never returned 0")
			}
			r := mustOK(t, abi.FuncRead, x, m, 0, 4)
			if r < 0 || r > 4 {
				t.Fatalf("read returned %d", r)
			}
			if r == 0 {
				break
			}
			got = append(got, m[:r]...)
		}
		if string(got) != "hello world" {
			t.Fatalf("read %q", got)
		}
		// After end of input, read keeps returning 0.
		for range 3 {
			if r := mustOK(t, abi.FuncRead, x, m, 0, 4); r != 0 {
				t.Fatalf("after EOF: %d", r)
			}
		}
	})
	t.Run("data with EOF", func(t *testing.T) {
		x := &fakeExchange{reads: []readStep{{data: "abc", err: io.EOF}}}
		m := mem(64, "")
		if r := mustOK(t, abi.FuncRead, x, m, 0, 16); r != 3 || string(m[:3]) != "abc" {
			t.Fatalf("data with EOF: %d %q", r, m[:3])
		}
		if r := mustOK(t, abi.FuncRead, x, m, 0, 16); r != 0 {
			t.Fatalf("then: %d, want 0", r)
		}
	})
	t.Run("zero progress is not EOF", func(t *testing.T) {
		x := &fakeExchange{reads: []readStep{{}, {}, {data: "z"}}}
		m := mem(64, "")
		if r := mustOK(t, abi.FuncRead, x, m, 0, 16); r != 1 || m[0] != 'z' {
			t.Fatalf("after (0, nil) reads: %d", r)
		}
	})
	t.Run("zero-length buffer", func(t *testing.T) {
		x := &fakeExchange{reads: []readStep{{data: "abc"}}}
		m := mem(64, "")
		if r := mustOK(t, abi.FuncRead, x, m, 10, 0); r != abi.ErrInvalid {
			t.Fatalf("zero-length read: %d, want ERR_INVALID", r)
		}
		if x.readCalls != 0 {
			t.Fatal("zero-length read consumed input")
		}
		if r := mustOK(t, abi.FuncRead, x, m, 64, 0); r != abi.ErrInvalid {
			t.Fatalf("zero-length read at the end: %d, want ERR_INVALID", r)
		}
	})
	for _, c := range []struct {
		err  error
		want int32
	}{
		{net.ErrClosed, abi.ErrClosed},
		{io.ErrUnexpectedEOF, abi.ErrClosed},
		{os.ErrDeadlineExceeded, abi.ErrTimeout},
		{fmt.Errorf("body: %w", abi.ErrInputTooLarge), abi.ErrTooLarge},
		{errors.New("disk on fire"), abi.ErrIO},
	} {
		t.Run("error "+c.err.Error(), func(t *testing.T) {
			x := &fakeExchange{reads: []readStep{{err: c.err}}}
			if r := mustOK(t, abi.FuncRead, x, mem(64, ""), 0, 16); r != c.want {
				t.Fatalf("got %d (%s), want %d (%s)", r, abi.ErrorName(r), c.want, abi.ErrorName(c.want))
			}
		})
	}
}

func TestWriteAndFlush(t *testing.T) {
	x := &fakeExchange{}
	m := mem(64, "payload")
	if r := mustOK(t, abi.FuncWrite, x, m, 0, 7); r != 7 || x.out.String() != "payload" {
		t.Fatalf("write: %d %q", r, x.out.String())
	}
	if r := mustOK(t, abi.FuncWrite, x, m, 64, 0); r != 0 {
		t.Fatalf("empty write at the end: %d", r)
	}
	if r := mustOK(t, abi.FuncFlush, x, m); r != 0 || x.flushes != 1 {
		t.Fatalf("flush: %d (%d flushes)", r, x.flushes)
	}
	// The first write commits even when empty.
	x2 := &fakeExchange{}
	mustOK(t, abi.FuncWrite, x2, m, 0, 0)
	if !x2.committed {
		t.Fatal("an empty write did not commit")
	}
	for _, c := range []struct {
		err  error
		want int32
	}{
		{syscall.EPIPE, abi.ErrClosed},
		{fmt.Errorf("write tcp: %w", syscall.ECONNRESET), abi.ErrClosed},
		{context.Canceled, abi.ErrClosed},
		{os.ErrDeadlineExceeded, abi.ErrTimeout},
		{errors.New("boom"), abi.ErrIO},
	} {
		x := &fakeExchange{writeErr: c.err, flushErr: c.err}
		if r := mustOK(t, abi.FuncWrite, x, m, 0, 7); r != c.want {
			t.Errorf("write error %v: %d, want %d", c.err, r, c.want)
		}
		if r := mustOK(t, abi.FuncFlush, x, m); r != c.want {
			t.Errorf("flush error %v: %d, want %d", c.err, r, c.want)
		}
	}
}

func TestSetStatus(t *testing.T) {
	for _, c := range []struct {
		code uint32
		want int32
	}{
		{200, 0}, {201, 0}, {299, 0}, {599, 0}, {999, 0},
		// 1xx are the transport's business (ABI.md).
		{100, abi.ErrInvalid}, {101, abi.ErrInvalid}, {199, abi.ErrInvalid},
		{0, abi.ErrInvalid}, {99, abi.ErrInvalid}, {1000, abi.ErrInvalid},
		{0xFFFFFFFF, abi.ErrInvalid}, // -1
		{0x80000000, abi.ErrInvalid}, // most negative
		{0x00010000 + 200, abi.ErrInvalid},
	} {
		x := &fakeExchange{}
		if r := mustOK(t, abi.FuncSetStatus, x, mem(8, ""), c.code); r != c.want {
			t.Errorf("set_status(%d): %d, want %d", int32(c.code), r, c.want)
		}
		if c.want == 0 && x.status != int(c.code) {
			t.Errorf("set_status(%d) set %d", c.code, x.status)
		}
		if c.want != 0 && x.status != 0 {
			t.Errorf("invalid set_status(%d) changed the status to %d", int32(c.code), x.status)
		}
	}
	x := &fakeExchange{}
	m := mem(8, "a")
	mustOK(t, abi.FuncWrite, x, m, 0, 1)
	if r := mustOK(t, abi.FuncSetStatus, x, m, 404); r != abi.ErrCommitted {
		t.Fatalf("set_status after write: %d, want ERR_COMMITTED", r)
	}
	x = &fakeExchange{}
	mustOK(t, abi.FuncFlush, x, m)
	if r := mustOK(t, abi.FuncSetStatus, x, m, 404); r != abi.ErrCommitted {
		t.Fatalf("set_status after flush: %d, want ERR_COMMITTED", r)
	}
	// Invalid and too late: ERR_INVALID wins (arguments before state).
	for _, code := range []uint32{99, 150, 1000, 0xFFFFFFFF} {
		if r := mustOK(t, abi.FuncSetStatus, x, m, code); r != abi.ErrInvalid {
			t.Errorf("set_status(%d) after commit: %d, want ERR_INVALID", int32(code), r)
		}
	}
}

func TestHeaders(t *testing.T) {
	for _, fname := range []string{abi.FuncSetHeader, abi.FuncAddHeader} {
		t.Run(fname, func(t *testing.T) {
			op := map[string]string{abi.FuncSetHeader: "set", abi.FuncAddHeader: "add"}[fname]
			check := func(name, value string, want int32) {
				t.Helper()
				x := &fakeExchange{}
				m := mem(256, name)
				copy(m[128:], value)
				r := mustOK(t, fname, x, m, 0, uint32(len(name)), 128, uint32(len(value)))
				if r != want {
					t.Errorf("%s(%q, %q): %d, want %d", fname, name, value, r, want)
				}
				switch {
				case want == 0 && (len(x.header) != 1 || x.header[0] != [3]string{name, value, op}):
					t.Errorf("%s(%q, %q) passed %v", fname, name, value, x.header)
				case want != 0 && len(x.header) != 0:
					t.Errorf("rejected %s(%q, %q) still reached the exchange", fname, name, value)
				}
			}
			check("Content-Type", "text/plain", 0)
			check("x-lower", "", 0)
			check("X-Token!#$%&'*+-.^_`|~09", "v", 0)
			check("X-Tab", "a\tb", 0)
			check("X-Obs", "caf\xc3\xa9 \x80\xff", 0)
			for _, name := range []string{"", "Bad Name", "Bad:Name", "Bad\x00", "Bad\r", "Bad\n", "Bad\t", "Caf\xc3\xa9", "\x7f", "(x)", "a,b", "a/b", "a\"b", "{x}"} {
				check(name, "v", abi.ErrInvalid)
			}
			for _, value := range []string{"a\rb", "a\nb", "a\r\nX-Evil: 1", "a\x00b", "\n", "a\x01b", "\x1b[31m", "a\x7fb", "\x1f"} {
				check("X-Ok", value, abi.ErrInvalid)
			}
			// The host owns the framing: hop-by-hop and framing headers are
			// refused in any spelling; Content-Length only as a plain number.
			for _, name := range []string{"Connection", "connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TRANSFER-ENCODING", "Upgrade", "Trailer", "TE", "te"} {
				check(name, "close", abi.ErrInvalid)
			}
			check("Content-Length", "12", 0)
			check("content-length", "0", 0)
			for _, value := range []string{"", "-1", "+1", "012", "1 2", "1,1", "0x10", "1e3", "99999999999999999999", " 1"} {
				check("Content-Length", value, abi.ErrInvalid)
			}
			// Committed.
			x := &fakeExchange{committed: true}
			m := mem(64, "X-A Bad")
			copy(m[32:], "v\n")
			if r := mustOK(t, fname, x, m, 0, 3, 32, 1); r != abi.ErrCommitted {
				t.Errorf("%s after commit: %d, want ERR_COMMITTED", fname, r)
			}
			// Invalid and too late: ERR_INVALID wins.
			if r := mustOK(t, fname, x, m, 0, 7, 32, 1); r != abi.ErrInvalid {
				t.Errorf("%s with a bad name after commit: %d, want ERR_INVALID", fname, r)
			}
			if r := mustOK(t, fname, x, m, 0, 3, 32, 2); r != abi.ErrInvalid {
				t.Errorf("%s with a bad value after commit: %d, want ERR_INVALID", fname, r)
			}
		})
	}
	// Names and values are copied, not aliased to guest memory.
	x := &fakeExchange{}
	m := mem(64, "X-A")
	copy(m[32:], "one")
	mustOK(t, abi.FuncSetHeader, x, m, 0, 3, 32, 3)
	copy(m, "ZZZ")
	copy(m[32:], "ZZZ")
	if x.header[0] != [3]string{"X-A", "one", "set"} {
		t.Fatalf("header aliases guest memory: %v", x.header[0])
	}
}

func TestLog(t *testing.T) {
	for level, want := range map[int32]int32{abi.LogDebug: abi.LogDebug, abi.LogInfo: abi.LogInfo, abi.LogWarn: abi.LogWarn, abi.LogError: abi.LogError,
		3: abi.LogInfo, -100: abi.LogDebug, 1 << 30: abi.LogError, 2147483647: abi.LogError, -2147483648: abi.LogDebug, 7: abi.LogWarn, -1: abi.LogDebug} {
		x := &fakeExchange{}
		m := mem(64, "message")
		if _, err := call(t, abi.FuncLog, x, m, uint32(level), 0, 7); err != nil {
			t.Fatal(err)
		}
		if len(x.logs) != 1 || x.logs[0] != (logRecord{slog.Level(want), "message"}) {
			t.Fatalf("log(%d): %+v", level, x.logs)
		}
		copy(m, "XXXXXXX")
		if x.logs[0].msg != "message" {
			t.Fatal("log message aliases guest memory")
		}
	}
	// An empty message at the end of memory is valid.
	x := &fakeExchange{}
	if _, err := call(t, abi.FuncLog, x, mem(64, ""), 0, 64, 0); err != nil || len(x.logs) != 1 || x.logs[0].msg != "" {
		t.Fatalf("empty log: %v %+v", err, x.logs)
	}
	// The slog levels are the ABI's.
	if abi.LogDebug != int32(slog.LevelDebug) || abi.LogInfo != int32(slog.LevelInfo) || abi.LogWarn != int32(slog.LevelWarn) || abi.LogError != int32(slog.LevelError) {
		t.Fatal("log level constants differ from log/slog")
	}
}

func TestErrorCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", err)) }
	for _, c := range []struct {
		err  error
		want int32
	}{
		{nil, 0},
		{abi.ErrInputTooLarge, abi.ErrTooLarge},
		{wrap(abi.ErrInputTooLarge), abi.ErrTooLarge},
		{context.DeadlineExceeded, abi.ErrTimeout},
		{wrap(context.DeadlineExceeded), abi.ErrTimeout},
		{os.ErrDeadlineExceeded, abi.ErrTimeout},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, abi.ErrTimeout},
		{net.ErrClosed, abi.ErrClosed},
		{&net.OpError{Op: "write", Net: "tcp", Err: net.ErrClosed}, abi.ErrClosed},
		{io.ErrClosedPipe, abi.ErrClosed},
		{io.ErrUnexpectedEOF, abi.ErrClosed},
		{context.Canceled, abi.ErrClosed},
		{syscall.EPIPE, abi.ErrClosed},
		{&os.SyscallError{Syscall: "write", Err: syscall.EPIPE}, abi.ErrClosed},
		{syscall.ECONNRESET, abi.ErrClosed},
		{wrap(syscall.ECONNRESET), abi.ErrClosed},
		{errors.New("other"), abi.ErrIO},
		{io.EOF, abi.ErrIO}, // read maps EOF to 0 itself; ErrorCode never sees it there
		{errors.Join(errors.New("a"), abi.ErrInputTooLarge), abi.ErrTooLarge},
	} {
		if got := abi.ErrorCode(c.err); got != c.want {
			t.Errorf("ErrorCode(%v) = %d (%s), want %d (%s)", c.err, got, abi.ErrorName(got), c.want, abi.ErrorName(c.want))
		}
	}
}

func TestErrorNames(t *testing.T) {
	for code, name := range map[int32]string{
		abi.ErrNotFound: "ERR_NOT_FOUND", abi.ErrInvalid: "ERR_INVALID", abi.ErrCommitted: "ERR_COMMITTED",
		abi.ErrClosed: "ERR_CLOSED", abi.ErrIO: "ERR_IO", abi.ErrTimeout: "ERR_TIMEOUT", abi.ErrTooLarge: "ERR_TOO_LARGE", abi.ErrDenied: "ERR_DENIED",
		abi.ErrFull: "ERR_FULL",
	} {
		if got := abi.ErrorName(code); got != name {
			t.Errorf("ErrorName(%d) = %q, want %q", code, got, name)
		}
	}
	for _, code := range []int32{0, 1, -10, -100} {
		if got := abi.ErrorName(code); got != "" {
			t.Errorf("ErrorName(%d) = %q, want \"\"", code, got)
		}
	}
	// Values are fixed by ABI.md.
	if abi.ErrNotFound != -1 || abi.ErrInvalid != -2 || abi.ErrCommitted != -3 || abi.ErrClosed != -4 || abi.ErrIO != -5 || abi.ErrTimeout != -6 || abi.ErrTooLarge != -7 ||
		abi.ErrDenied != -8 || abi.ErrFull != -9 {
		t.Fatal("error code values differ from ABI.md")
	}
}

func TestGuestErrorMessage(t *testing.T) {
	_, err := call(t, abi.FuncWrite, &fakeExchange{}, mem(16, ""), 0xFFFFFFF0, 0x20)
	for _, want := range []string{"bubblewasm_v1.write", "4294967280", "outside guest memory of 16 bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("guest error %v lacks %q", err, want)
		}
	}
}

func TestValidHeaderNameAndValue(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := []byte{byte(c)}
		wantName := c < 0x80 && (c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)))
		if got := abi.ValidHeaderName(b); got != wantName {
			t.Errorf("ValidHeaderName(%q) = %v", b, got)
		}
		wantValue := c >= 0x20 && c != 0x7f || c == '\t'
		if got := abi.ValidHeaderValue(b); got != wantValue {
			t.Errorf("ValidHeaderValue(%q) = %v", b, got)
		}
	}
	if abi.ValidHeaderName(nil) {
		t.Error("empty header name accepted")
	}
	if !abi.ValidHeaderValue(nil) {
		t.Error("empty header value rejected")
	}
}
