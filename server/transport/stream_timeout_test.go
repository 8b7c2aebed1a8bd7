package transport_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// streamCase is one line-framed transport with a message it answers and
// the answer, given echoHandler.
type streamCase struct {
	transport, msg, answer string
}

var streamCases = []streamCase{
	{"line", "hello", "hello\n"},
	{"json", `{"a":1}`, `{"a":1}` + "\n"},
	{"jsonrpc", `{"jsonrpc":"2.0","method":"m","params":[1],"id":1}`, `{"jsonrpc":"2.0","result":[1],"id":1}` + "\n"},
}

// echoHandler answers each message with its input (for jsonrpc: each call
// with its params). Input "slow..." (or params ["slow"]) first waits for
// release to be closed, if it is not nil; served counts the exchanges.
func echoHandler(served *atomic.Int64, release <-chan struct{}) server.HandlerFunc {
	return func(ctx context.Context, x *server.Exchange) error {
		in, err := io.ReadAll(x.Reader)
		if err != nil {
			return err
		}
		if served != nil {
			served.Add(1)
		}
		if release != nil && strings.Contains(string(in), "slow") {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		_, err = x.Writer.Write(in)
		return err
	}
}

// readToEOF reads what is left on c until the server closes it. A server
// that keeps the connection open fails the test when testDeadline, a guard
// far above any timeout these tests configure, runs out.
func readToEOF(t *testing.T, r io.Reader, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(testDeadline))
	rest, err := io.ReadAll(r)
	if err != nil && !isClosedErr(err) {
		t.Fatalf("the server did not close the connection: %v (read %q)", err, rest)
	}
	return string(rest)
}

func TestStreamIdleTimeout(t *testing.T) {
	for _, sc := range streamCases {
		for _, addr := range []string{"tcp://127.0.0.1:0", sockAddr(t)} {
			network, _, _ := strings.Cut(addr, ":")
			t.Run(sc.transport+"/"+network, func(t *testing.T) {
				a := testutil.Serve(t, addr, sc.transport, echoHandler(nil, nil), transport.Options{IdleTimeout: 100 * time.Millisecond})
				c := rawConn(t, a)
				r := bufio.NewReader(c)
				// An active connection is served; the idle clock starts
				// again after each answer.
				for range 3 {
					io.WriteString(c, sc.msg+"\n")
					if got, err := r.ReadString('\n'); err != nil || got != sc.answer {
						t.Fatalf("answer %q, %v; want %q", got, err, sc.answer)
					}
				}
				// Then nothing more is sent: the server closes the connection.
				if rest := readToEOF(t, r, c); rest != "" {
					t.Fatalf("got %q before the close", rest)
				}
			})
		}
	}
}

// TestStreamIdleTimeoutSparesSlowHandlers: a connection whose message is
// being served is not idle, however long the handler takes, and neither is
// one whose next message is already there.
func TestStreamIdleTimeoutSparesSlowHandlers(t *testing.T) {
	const idle = 50 * time.Millisecond
	for _, sc := range streamCases {
		t.Run(sc.transport, func(t *testing.T) {
			release := make(chan struct{})
			var served atomic.Int64
			a := testutil.Serve(t, "tcp://127.0.0.1:0", sc.transport, echoHandler(&served, release), transport.Options{IdleTimeout: idle})
			c := rawConn(t, a)
			slow := strings.Replace(sc.msg, "1", `"slow"`, 1)
			if sc.transport == "line" {
				slow = "slow"
			}
			// Two messages in one write: the slow one is served while the
			// second waits in the buffer.
			io.WriteString(c, slow+"\n"+sc.msg+"\n")
			for deadline := time.Now().Add(testDeadline); served.Load() == 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the slow message was never served")
				}
			}
			time.Sleep(20 * idle) // many idle timeouts pass while it is served
			close(release)
			want := strings.Replace(sc.answer, "1", `"slow"`, 1) + sc.answer
			if sc.transport == "line" {
				want = "slow\n" + sc.answer
			}
			if got := readToEOF(t, c, c); got != want {
				t.Fatalf("got %q, want %q and then the idle close", got, want)
			}
		})
	}
}

func TestStreamReadTimeout(t *testing.T) {
	// A message trickled a byte at a time never ends; the read timeout,
	// counted from its first byte, cuts it off whatever the idle timeout.
	for _, sc := range streamCases {
		t.Run(sc.transport, func(t *testing.T) {
			var served atomic.Int64
			a := testutil.Serve(t, "tcp://127.0.0.1:0", sc.transport, echoHandler(&served, nil),
				transport.Options{ReadTimeout: 200 * time.Millisecond, IdleTimeout: time.Hour})
			c := rawConn(t, a)
			r := bufio.NewReader(c)
			io.WriteString(c, sc.msg+"\n")
			if got, err := r.ReadString('\n'); err != nil || got != sc.answer {
				t.Fatalf("answer %q, %v; want %q", got, err, sc.answer)
			}
			trickled := make(chan int, 1)
			go func() {
				n := 0
				for ; n < 2000; n++ { // 2000 bytes at 1 per 10 ms: past testDeadline
					if _, err := c.Write([]byte{sc.msg[n%len(sc.msg)]}); err != nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				trickled <- n
			}()
			if rest := readToEOF(t, r, c); rest != "" {
				t.Fatalf("got %q for the trickled message, want nothing", rest)
			}
			if n := served.Load(); n != 1 {
				t.Fatalf("%d exchanges, want only the first message's", n)
			}
			if n := <-trickled; n >= 2000 {
				t.Fatalf("the trickle went on to the end (%d bytes)", n)
			}
		})
	}
}

func TestStreamIdleTimeoutManyConnections(t *testing.T) {
	// The attack from the issue, scaled down: connections that never send
	// anything are all closed.
	const conns = 200
	for _, sc := range streamCases {
		t.Run(sc.transport, func(t *testing.T) {
			a := testutil.Serve(t, sockAddr(t), sc.transport, echoHandler(nil, nil), transport.Options{IdleTimeout: 100 * time.Millisecond})
			cs := make([]net.Conn, conns)
			for i := range cs {
				cs[i] = testutil.Dial(t, a)
			}
			for i, c := range cs {
				c.SetReadDeadline(time.Now().Add(testDeadline))
				if n, err := c.Read(make([]byte, 1)); n != 0 || !isClosedErr(err) {
					t.Fatalf("connection %d: read %d bytes, %v; want it closed", i, n, err)
				}
			}
		})
	}
}

// serveEnded serves the named transport over h on a unix socket whose
// connections' writes time out after 300 ms (the listener's write
// timeout), and returns the address and a channel
// that receives once the transport's Serve has returned for a connection.
func serveEnded(t *testing.T, name string, h server.Handler, opts transport.Options) (server.Address, <-chan error) {
	t.Helper()
	opts.Logger = testutil.Logger(t)
	l := testutil.Listen(t, sockAddr(t))
	th, err := transport.Default().New(name, h, opts)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 10)
	wrapped := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		err := th.Serve(ctx, x)
		ended <- err
		return err
	})
	srv := server.NewServer(opts.Logger, server.Listener{Name: "test", Listener: l, Handler: wrapped, WriteTimeout: 300 * time.Millisecond})
	go srv.Serve()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return server.ListenerAddress(l), ended
}

func waitEnded(t *testing.T, ended <-chan error) error {
	t.Helper()
	select {
	case err := <-ended:
		return err
	case <-time.After(testDeadline):
		t.Fatal("the transport still serves a connection whose writes fail")
		return nil
	}
}

func TestStreamWriteDeadline(t *testing.T) {
	// A peer that sends and never reads: the writes of its answers fail on
	// their deadline, and the transport stops serving it.
	t.Run("line", func(t *testing.T) {
		var served atomic.Int64
		big := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			served.Add(1)
			chunk := make([]byte, 64<<10)
			for range 1024 { // 64 MiB, far over any socket buffer
				if _, err := x.Writer.Write(chunk); err != nil {
					return err
				}
			}
			return nil
		})
		a, ended := serveEnded(t, "line", big, transport.Options{})
		c := rawConn(t, a)
		io.WriteString(c, strings.Repeat("big\n", 100))
		if err := waitEnded(t, ended); err == nil {
			t.Fatal("Serve returned nil after failed writes")
		}
		if n := served.Load(); n > 2 {
			t.Fatalf("%d lines served after the writes failed", n)
		}
	})
	t.Run("jsonrpc batch", func(t *testing.T) {
		const calls = 1000
		var served atomic.Int64
		big := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			served.Add(1)
			_, err := fmt.Fprintf(x.Writer, `"%s"`, strings.Repeat("x", 64<<10))
			return err
		})
		a, ended := serveEnded(t, "jsonrpc", big, transport.Options{MaxBatch: calls, MaxLineBytes: 1 << 20})
		c := rawConn(t, a)
		io.WriteString(c, batchOf(calls, func(i int) string {
			return fmt.Sprintf(`{"jsonrpc":"2.0","method":"m","id":%d}`, i)
		})+"\n")
		waitEnded(t, ended)
		if n := served.Load(); n >= calls/2 {
			t.Fatalf("%d of %d calls served although their answers could not be written", n, calls)
		}
	})
}

// batchOf is a JSON array of n elements made by elem.
func batchOf(n int, elem func(i int) string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(elem(i))
	}
	b.WriteByte(']')
	return b.String()
}
