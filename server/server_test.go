package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

func TestStatusOf(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{server.ErrNoRoute, 404},
		{fmt.Errorf("wrapped: %w", server.ErrNoRoute), 404},
		{server.ErrBadRequest, 400},
		{server.ErrTooLarge, 413},
		{fmt.Errorf("%w: %w", server.ErrTooLarge, abi.ErrInputTooLarge), 413},
		{server.ErrTimeout, 504},
		{context.DeadlineExceeded, 504},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), 504},
		{server.ErrOverloaded, 503},
		{server.ErrRateLimited, 429},
		{&server.RetryLaterError{Err: server.ErrRateLimited, After: time.Minute}, 429},
		{server.ErrBadGateway, 502},
		{server.ErrHandlerFailed, 500},
		{errors.New("anything"), 500},
		{context.Canceled, 500},
	}
	for _, c := range cases {
		if got := server.StatusOf(c.err); got != c.want {
			t.Errorf("StatusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// RetryAfterOf: whole seconds, at least one, from a RetryLaterError's
// wait; RetryAfter for other refusals; none for other errors.
func TestRetryAfterOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want time.Duration
	}{
		{&server.RetryLaterError{Err: server.ErrRateLimited, After: time.Millisecond}, time.Second},
		{&server.RetryLaterError{Err: server.ErrRateLimited, After: 0}, time.Second},
		{&server.RetryLaterError{Err: server.ErrRateLimited, After: 1500 * time.Millisecond}, 2 * time.Second},
		{fmt.Errorf("x: %w", &server.RetryLaterError{Err: server.ErrOverloaded, After: 3 * time.Second}), 3 * time.Second},
		{server.ErrRateLimited, server.RetryAfter},
		{server.ErrOverloaded, server.RetryAfter},
		{server.ErrTimeout, 0},
		{errors.New("anything"), 0},
	} {
		if got := server.RetryAfterOf(c.err); got != c.want {
			t.Errorf("RetryAfterOf(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestEnvCloneAndKeys(t *testing.T) {
	e := server.Env{"b": "2", "a": "1", "c": "3"}
	c := e.Clone()
	c["a"] = "changed"
	c["d"] = "new"
	if e["a"] != "1" || len(e) != 3 {
		t.Fatalf("Clone shares storage: %v", e)
	}
	if fmt.Sprint(c.Keys()) != "[a b c d]" {
		t.Fatalf("Keys = %v", c.Keys())
	}
}

func TestStreamWriter(t *testing.T) {
	var flushed bool
	out := &flushRecorder{flushed: &flushed}
	w := server.NewStreamWriter(out)
	if w.Committed() || !w.SetStatus(404) {
		t.Fatal("fresh writer is committed")
	}
	w.Header().Set("X", "y")
	io.WriteString(w, "data")
	if !w.Committed() || w.SetStatus(500) {
		t.Fatal("write did not commit")
	}
	if err := w.Flush(); err != nil || !flushed {
		t.Fatalf("Flush did not reach the writer: %v", err)
	}
	if out.String() != "data" {
		t.Fatalf("wrote %q", out.String())
	}
}

type flushRecorder struct {
	buf     []byte
	flushed *bool
}

func (f *flushRecorder) Write(p []byte) (int, error) { f.buf = append(f.buf, p...); return len(p), nil }
func (f *flushRecorder) Flush() error                { *f.flushed = true; return nil }
func (f *flushRecorder) String() string              { return string(f.buf) }

func TestServerConnEnv(t *testing.T) {
	envs := make(chan server.Env, 2)
	h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		envs <- x.Env.Clone()
		return nil
	})
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "raw", h, transport.Options{})
	c := testutil.Dial(t, a)
	io.ReadAll(c)
	env := <-envs
	local := c.LocalAddr().(*net.TCPAddr)
	want := map[string]string{
		abi.EnvListener:   "test",
		abi.EnvNetwork:    "tcp",
		abi.EnvServerName: "127.0.0.1",
		abi.EnvServerPort: strconv.Itoa(a.Port),
		abi.EnvRemoteAddr: "127.0.0.1",
		abi.EnvRemotePort: strconv.Itoa(local.Port),
		abi.EnvTransport:  "raw",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env[%s] = %q, want %q", k, env[k], v)
		}
	}

	p := filepath.Join(t.TempDir(), "e.sock")
	a = testutil.Serve(t, "unix://"+p, "raw", h, transport.Options{})
	c = testutil.Dial(t, a)
	io.ReadAll(c)
	env = <-envs
	if env[abi.EnvNetwork] != "unix" || env[abi.EnvServerName] != p || env[abi.EnvRemoteAddr] != "@" {
		t.Errorf("unix env %v", env)
	}
	for _, k := range []string{abi.EnvServerPort, abi.EnvRemotePort} {
		if _, ok := env[k]; ok {
			t.Errorf("unix env has %s", k)
		}
	}
}

func TestServerRecoversPanics(t *testing.T) {
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "raw", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		b := make([]byte, 1)
		io.ReadFull(x.Reader, b)
		if b[0] == 'p' {
			panic("handler bug")
		}
		_, err := io.WriteString(x.Writer, "fine")
		return err
	}), transport.Options{})
	for _, first := range []string{"p", "o", "p", "o"} {
		c := testutil.Dial(t, a)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, first)
		out, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		want := "fine"
		if first == "p" {
			want = ""
		}
		if string(out) != want {
			t.Fatalf("after %q: %q, want %q", first, out, want)
		}
	}
}

func TestServerShutdownAndListenerFailure(t *testing.T) {
	h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error { return nil })
	l1 := testutil.Listen(t, "tcp://127.0.0.1:0")
	l2 := testutil.Listen(t, "tcp://127.0.0.1:0")
	raw, err := transport.Default().New("raw", h, transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logger := testutil.Logger(t)
	srv := server.NewServer(logger, server.Listener{Name: "one", Listener: l1, Handler: raw}, server.Listener{Name: "two", Listener: l2, Handler: raw})
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()

	// Both listeners serve.
	for _, l := range []net.Listener{l1, l2} {
		c, err := server.ListenerAddress(l).Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	// A listener that fails for good makes Serve shut everything down and
	// report it.
	l2.Close()
	err = <-served
	if err == nil || errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("Serve = %v, want the listener's failure", err)
	}
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve = %v, want it to wrap the accept error", err)
	}
	// Shutdown is safe to call again, and l1 no longer accepts.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := server.ListenerAddress(l1).Dial(context.Background()); err == nil {
		c.Close()
		t.Fatal("l1 still accepts after Shutdown")
	}
}
