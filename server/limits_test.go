package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// serveWith serves h with the named transport on a fresh loopback listener
// whose limits are set from lim.
func serveWith(t *testing.T, transportName string, h server.Handler, lim server.Listener) server.Address {
	t.Helper()
	l := testutil.Listen(t, "tcp://127.0.0.1:0")
	th, err := transport.Default().New(transportName, h, transport.Options{Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	lim.Name, lim.Listener, lim.Handler = "test", l, th
	srv := server.NewServer(testutil.Logger(t), lim)
	served := make(chan struct{})
	go func() { srv.Serve(); close(served) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	})
	return server.ListenerAddress(l)
}

func TestListenerConnectionCap(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	holding := make(chan struct{}, 10)
	h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		holding <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		_, err := io.WriteString(x.Writer, "served")
		return err
	})
	a := serveWith(t, "raw", h, server.Listener{MaxConns: 3})
	var held []net.Conn
	for range 3 {
		c := testutil.Dial(t, a)
		c.SetDeadline(time.Now().Add(30 * time.Second))
		held = append(held, c)
		<-holding // the server holds it: the next one is over the cap
	}
	// Over the cap: accepted and closed at once, never served.
	for range 5 {
		c := testutil.Dial(t, a)
		c.SetDeadline(time.Now().Add(30 * time.Second))
		b, err := io.ReadAll(c)
		if len(b) != 0 || err != nil && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("a connection over the cap got %q, %v; want it closed", b, err)
		}
	}
	// Once they end, new connections are served again.
	once.Do(func() { close(release) })
	for _, c := range held {
		if b, _ := io.ReadAll(c); string(b) != "served" {
			t.Fatalf("a held connection got %q", b)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := testutil.Dial(t, a)
		c.SetDeadline(time.Now().Add(30 * time.Second))
		b, _ := io.ReadAll(c)
		if string(b) == "served" {
			break
		}
		// The held connections' goroutines may not have ended yet.
		if time.Now().After(deadline) {
			t.Fatal("no connection served after the held ones ended")
		}
	}
}

// A peer that stops reading cannot hold a connection beyond the write
// timeout, whatever the handler or transport would do.
func TestListenerWriteTimeout(t *testing.T) {
	ended := make(chan error, 1)
	h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		chunk := make([]byte, 64<<10)
		for i := 0; i < 1<<14; i++ { // at most 1 GiB: the peer never reads
			if _, err := x.Writer.Write(chunk); err != nil {
				ended <- err
				return err
			}
		}
		ended <- nil
		return nil
	})
	a := serveWith(t, "raw", h, server.Listener{WriteTimeout: 200 * time.Millisecond})
	c := testutil.Dial(t, a)
	select {
	case err := <-ended:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the handler's write ended with %v, want a deadline error", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("a write to a peer that never reads is still blocked")
	}
	c.Close()
}

// HTTP requests pipelined by a client that never reads the answers: the
// connection is closed by the write timeout.
func TestListenerWriteTimeoutHTTPPipeline(t *testing.T) {
	body := strings.Repeat("z", 256<<10)
	failed := make(chan error, 1)
	h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		_, err := io.WriteString(x.Writer, body)
		if err == nil {
			err = x.Writer.Flush()
		}
		if err != nil {
			select {
			case failed <- err:
			default:
			}
		}
		return err
	})
	a := serveWith(t, "http", h, server.Listener{WriteTimeout: 200 * time.Millisecond})
	c := testutil.Dial(t, a)
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	go func() {
		for range 200 {
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				return
			}
		}
	}()
	select {
	case err := <-failed:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Logf("the write failed with %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the server is still writing to a peer that does not read")
	}
	// The connection was given up: reading ends before the 200 responses
	// (51 MB) are all there.
	n, err := io.Copy(io.Discard, bufio.NewReader(c))
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("reading: %v after %d bytes", err, n)
	}
	if n >= 200*int64(len(body)) {
		t.Fatalf("all %d bytes arrived: the connection was held", n)
	}
}
