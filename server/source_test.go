package server_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
)

// TestSocket: a Socket serves its connections through its transport into
// the handler Serve is given, is Ready once serving, and stops on
// Shutdown, or at once when Shutdown came before Serve.
func TestSocket(t *testing.T) {
	echo := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		_, err := io.Copy(x.Writer, x.Reader)
		return err
	})
	prefix := func(next server.Handler) server.Handler { // a "transport" that writes a prefix
		return server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			io.WriteString(x.Writer, "via transport: ")
			return next.Serve(ctx, x)
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("serve and shut down", func(t *testing.T) {
		l := testutil.Listen(t, "tcp://127.0.0.1:0")
		s := server.NewSocket(testutil.Logger(t), server.Listener{Name: "s", Listener: l}, prefix)
		served := make(chan error, 1)
		go func() { served <- s.Serve(ctx, echo) }()
		select {
		case <-s.Ready():
		case <-ctx.Done():
			t.Fatal("not ready")
		}
		c, err := server.ListenerAddress(l).Dial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "hi")
		c.(interface{ CloseWrite() error }).CloseWrite()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		out, _ := io.ReadAll(c)
		c.Close()
		if string(out) != "via transport: hi" {
			t.Errorf("got %q", out)
		}
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-served; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})

	t.Run("shutdown before serve", func(t *testing.T) {
		l := testutil.Listen(t, "tcp://127.0.0.1:0")
		s := server.NewSocket(testutil.Logger(t), server.Listener{Name: "s", Listener: l}, nil)
		if err := s.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Serve(ctx, echo); !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
		}
		if c, err := server.ListenerAddress(l).Dial(ctx); err == nil {
			c.Close()
			t.Error("the socket still accepts")
		}
	})

	t.Run("context ends", func(t *testing.T) {
		l := testutil.Listen(t, "tcp://127.0.0.1:0")
		s := server.NewSocket(testutil.Logger(t), server.Listener{Name: "s", Listener: l}, nil)
		sctx, stop := context.WithCancel(ctx)
		served := make(chan error, 1)
		go func() { served <- s.Serve(sctx, echo) }()
		<-s.Ready()
		stop()
		if err := <-served; !errors.Is(err, context.Canceled) {
			t.Errorf("Serve = %v, want context.Canceled", err)
		}
	})
}
