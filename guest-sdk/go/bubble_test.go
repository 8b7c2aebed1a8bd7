package bubble_test

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/bubbletest"
)

// stream registers fn for the duration of the test.
func stream(t *testing.T, fn func(x *bubble.Exchange) error) {
	t.Helper()
	bubble.Unregister()
	bubble.HandleStream(fn)
	t.Cleanup(bubble.Unregister)
}

func handle(t *testing.T, fn func(req *bubble.Request) *bubble.Response) {
	t.Helper()
	bubble.Unregister()
	bubble.Handle(fn)
	t.Cleanup(bubble.Unregister)
}

func TestEnv(t *testing.T) {
	long := strings.Repeat("v", 10000) // beyond the first lookup buffer
	env := map[string]string{"B": long, "A": "1", "EMPTY": "", "HTTP_X": "ü\x01"}
	stream(t, func(x *bubble.Exchange) error {
		if v, ok := x.Env("B"); !ok || v != long {
			t.Errorf("Env(B) = %d bytes, %v", len(v), ok)
		}
		if v, ok := x.Env("EMPTY"); !ok || v != "" {
			t.Errorf("Env(EMPTY) = %q, %v", v, ok)
		}
		if v, ok := x.Env("MISSING"); ok || v != "" {
			t.Errorf("Env(MISSING) = %q, %v", v, ok)
		}
		if got, want := x.EnvKeys(), []string{"A", "B", "EMPTY", "HTTP_X"}; !slices.Equal(got, want) {
			t.Errorf("EnvKeys() = %q, want %q", got, want)
		}
		got := x.Environ()
		if len(got) != len(env) {
			t.Errorf("Environ() has %d keys, want %d", len(got), len(env))
		}
		for k, v := range env {
			if got[k] != v {
				t.Errorf("Environ()[%q] = %q, want %q", k, got[k], v)
			}
		}
		return nil
	})
	if rec := bubbletest.Serve(env, nil); rec.Code != 0 {
		t.Fatalf("code %d, logs %v", rec.Code, rec.Logs)
	}
}

func TestEnvKeysManyAndEmpty(t *testing.T) {
	env := map[string]string{}
	for i := range 500 {
		env[strings.Repeat("k", i+1)] = ""
	}
	var n int
	stream(t, func(x *bubble.Exchange) error { n = len(x.EnvKeys()); return nil })
	bubbletest.Serve(env, nil)
	if n != 500 {
		t.Errorf("EnvKeys() returned %d keys, want 500", n)
	}
	bubbletest.Serve(nil, nil)
	if n != 0 {
		t.Errorf("EnvKeys() of an empty env returned %d keys", n)
	}
}

func TestReadEcho(t *testing.T) {
	stream(t, func(x *bubble.Exchange) error {
		if n, err := x.Read(nil); n != 0 || err != nil {
			t.Errorf("Read(nil) = %d, %v", n, err)
		}
		b, err := io.ReadAll(x)
		if err != nil {
			return err
		}
		for range 2 { // end of input stays end of input
			if n, err := x.Read(make([]byte, 8)); n != 0 || err != io.EOF {
				t.Errorf("Read after EOF = %d, %v", n, err)
			}
		}
		_, err = x.Write(b)
		return err
	})
	in := strings.Repeat("0123456789", 10000)
	rec := bubbletest.Serve(nil, iotest.HalfReader(strings.NewReader(in)))
	if rec.Code != 0 || rec.Body.String() != in || !rec.Committed {
		t.Fatalf("code %d, %d bytes echoed, committed %v", rec.Code, rec.Body.Len(), rec.Committed)
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		in   error
		want bubble.Errno
	}{
		{bubble.ErrTimeout, bubble.ErrTimeout},
		{bubble.ErrTooLarge, bubble.ErrTooLarge},
		{io.ErrUnexpectedEOF, bubble.ErrClosed},
		{&bubble.Error{Op: "x", Errno: bubble.ErrTooLarge}, bubble.ErrTooLarge},
		{fmt.Errorf("wrapped: %w", bubble.ErrClosed), bubble.ErrClosed},
		{errors.New("disk on fire"), bubble.ErrIO},
	} {
		var got error
		stream(t, func(x *bubble.Exchange) error {
			_, got = io.ReadAll(x)
			return got
		})
		rec := bubbletest.Serve(nil, iotest.ErrReader(tc.in))
		if !errors.Is(got, tc.want) {
			t.Errorf("%v: read error %v, want %v", tc.in, got, tc.want)
		}
		msg := "bubble: read: " + tc.want.Error()
		if got == nil || got.Error() != msg {
			t.Errorf("%v: message %q, want %q", tc.in, got, msg)
		}
		if rec.Code == 0 || len(rec.Logs) != 1 || rec.Logs[0].Level != bubble.LevelError || rec.Logs[0].Msg != msg {
			t.Errorf("%v: code %d, logs %v", tc.in, rec.Code, rec.Logs)
		}
	}
}

func TestMetadataRules(t *testing.T) {
	stream(t, func(x *bubble.Exchange) error {
		check := func(what string, err error, want error) {
			t.Helper()
			if !errors.Is(err, want) || (want == nil) != (err == nil) {
				t.Errorf("%s: %v, want %v", what, err, want)
			}
		}
		check("status 99", x.SetStatus(99), bubble.ErrInvalid)
		check("status 1000", x.SetStatus(1000), bubble.ErrInvalid)
		check("status 2^32+201", x.SetStatus(1<<32+201), bubble.ErrInvalid)
		check("status 201", x.SetStatus(201), nil)
		check("empty name", x.SetHeader("", "v"), bubble.ErrInvalid)
		check("name with space", x.SetHeader("X Y", "v"), bubble.ErrInvalid)
		check("name with colon", x.AddHeader("X:", "v"), bubble.ErrInvalid)
		for _, bad := range []string{"a\rb", "a\nb", "a\x00b"} {
			check("value "+bad, x.SetHeader("X-Bad", bad), bubble.ErrInvalid)
		}
		check("set", x.SetHeader("x-multi", "1"), nil)
		check("add", x.AddHeader("X-MULTI", "2"), nil)
		check("set again", x.SetHeader("Content-Type", "a"), nil)
		check("replace", x.SetHeader("content-type", "text/plain"), nil)
		check("flush", x.Flush(), nil)
		check("status after flush", x.SetStatus(500), bubble.ErrCommitted)
		check("header after flush", x.SetHeader("X-Late", "1"), bubble.ErrCommitted)
		check("add after flush", x.AddHeader("X-Late", "1"), bubble.ErrCommitted)
		check("invalid after flush", x.SetStatus(5), bubble.ErrInvalid)
		_, err := x.Write([]byte("ok"))
		check("write", err, nil)
		return nil
	})
	rec := bubbletest.Serve(nil, nil)
	if rec.Code != 0 || rec.Status != 201 || rec.Flushes != 1 || rec.Body.String() != "ok" {
		t.Fatalf("code %d status %d flushes %d body %q", rec.Code, rec.Status, rec.Flushes, rec.Body.String())
	}
	if got := rec.Header.Values("X-Multi"); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("X-Multi = %q", got)
	}
	if got := rec.Header.Values("Content-Type"); !slices.Equal(got, []string{"text/plain"}) {
		t.Errorf("Content-Type = %q", got)
	}
	if len(rec.Header) != 2 {
		t.Errorf("headers %v", rec.Header)
	}
}

func TestWriteCommitsEvenWhenEmpty(t *testing.T) {
	var err error
	stream(t, func(x *bubble.Exchange) error {
		x.Write(nil)
		err = x.SetStatus(404)
		return nil
	})
	rec := bubbletest.Serve(nil, nil)
	if !errors.Is(err, bubble.ErrCommitted) || rec.Status != 200 || !rec.Committed {
		t.Errorf("SetStatus after empty write: %v, status %d", err, rec.Status)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteClosed(t *testing.T) {
	var err error
	stream(t, func(x *bubble.Exchange) error {
		_, err = x.Write([]byte("x"))
		return err
	})
	rec := bubbletest.Exchange{Output: failWriter{io.ErrClosedPipe}}.Serve()
	if !errors.Is(err, bubble.ErrClosed) || err.Error() != "bubble: write: ERR_CLOSED" {
		t.Errorf("write error %v", err)
	}
	var e *bubble.Error
	if !errors.As(err, &e) || e.Op != "write" || e.Errno != bubble.ErrClosed {
		t.Errorf("write error %#v", err)
	}
	if rec.Code != 1 {
		t.Errorf("code %d", rec.Code)
	}
}

func TestHandle(t *testing.T) {
	handle(t, func(req *bubble.Request) *bubble.Response {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil
		}
		h := bubble.Header{}
		h.Set("content-type", "text/plain")
		h.Add("x-b", "1")
		h.Add("X-B", "2")
		return &bubble.Response{Header: h, Body: []byte(req.Env["GREETING"] + " " + string(body))}
	})
	rec := bubbletest.Serve(map[string]string{"GREETING": "hi"}, strings.NewReader("there"))
	if rec.Code != 0 || rec.Status != 200 || rec.Body.String() != "hi there" {
		t.Fatalf("code %d status %d body %q", rec.Code, rec.Status, rec.Body.String())
	}
	if rec.Header.Get("Content-Type") != "text/plain" || !slices.Equal(rec.Header["X-B"], []string{"1", "2"}) {
		t.Errorf("headers %v", rec.Header)
	}
}

func TestHandleStatusAndEmptyBody(t *testing.T) {
	handle(t, func(*bubble.Request) *bubble.Response { return &bubble.Response{Status: 204} })
	rec := bubbletest.Serve(nil, nil)
	if rec.Code != 0 || rec.Status != 204 || rec.Body.Len() != 0 || !rec.Committed {
		t.Errorf("code %d status %d body %q committed %v", rec.Code, rec.Status, rec.Body.String(), rec.Committed)
	}
}

func TestHandleFailures(t *testing.T) {
	for name, resp := range map[string]*bubble.Response{
		"nil":        nil,
		"bad status": {Status: 42},
		"bad header": {Header: bubble.Header{"Bad Name": {"v"}}},
		"bad value":  {Header: bubble.Header{"X": {"ok", "a\r\nb"}}},
	} {
		handle(t, func(*bubble.Request) *bubble.Response { return resp })
		rec := bubbletest.Serve(nil, nil)
		if rec.Code == 0 || rec.Committed || len(rec.Logs) != 1 || rec.Logs[0].Level != bubble.LevelError {
			t.Errorf("%s: code %d committed %v logs %v", name, rec.Code, rec.Committed, rec.Logs)
		}
	}
}

func TestStreamError(t *testing.T) {
	stream(t, func(*bubble.Exchange) error { return errors.New("boom") })
	rec := bubbletest.Serve(nil, nil)
	if rec.Code != 1 || len(rec.Logs) != 1 || rec.Logs[0] != (bubbletest.Record{Level: bubble.LevelError, Msg: "boom"}) {
		t.Errorf("code %d logs %v", rec.Code, rec.Logs)
	}
}

func TestNoHandler(t *testing.T) {
	bubble.Unregister()
	rec := bubbletest.Serve(nil, nil)
	if rec.Code == 0 || len(rec.Logs) != 1 || !strings.Contains(rec.Logs[0].Msg, "no handler") {
		t.Errorf("code %d logs %v", rec.Code, rec.Logs)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	stream(t, func(*bubble.Exchange) error { return nil })
	defer func() {
		if recover() == nil {
			t.Error("second registration did not panic")
		}
	}()
	bubble.Handle(func(*bubble.Request) *bubble.Response { return nil })
}

func TestOutsideExchangePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Log outside an exchange did not panic")
		}
	}()
	bubble.Log(bubble.LevelInfo, "x")
}

func TestLog(t *testing.T) {
	stream(t, func(*bubble.Exchange) error {
		bubble.Log(bubble.LevelDebug, "d")
		bubble.Log(bubble.LevelWarn, "n=3")
		return nil
	})
	rec := bubbletest.Serve(nil, nil)
	want := []bubbletest.Record{{Level: bubble.LevelDebug, Msg: "d"}, {Level: bubble.LevelWarn, Msg: "n=3"}}
	if !slices.Equal(rec.Logs, want) {
		t.Errorf("logs %v, want %v", rec.Logs, want)
	}
}

func TestHeaderMethods(t *testing.T) {
	h := bubble.Header{}
	h.Set("x-request-id", "1")
	h.Add("X-REQUEST-ID", "2")
	h.Add("not a token", "3")
	if got := h.Values("X-Request-Id"); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("Values = %q", got)
	}
	if h.Get("x-request-id") != "1" || h.Get("missing") != "" || h.Get("not a token") != "3" {
		t.Errorf("Get: %v", h)
	}
	h.Del("X-Request-ID")
	if len(h) != 1 {
		t.Errorf("after Del: %v", h)
	}
}
