package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// closeWrite half-closes a test connection: the server reads EOF, the
// test can still read.
func closeWrite(t *testing.T, c net.Conn) {
	t.Helper()
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		t.Fatalf("%T cannot half-close", c)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
}

// lineHandler answers each line by its path-like command.
func lineHandler(envs chan<- server.Env) server.HandlerFunc {
	return func(ctx context.Context, x *server.Exchange) error {
		in, err := io.ReadAll(x.Reader)
		if err != nil {
			return err
		}
		if envs != nil {
			envs <- x.Env.Clone()
		}
		cmd, arg, _ := strings.Cut(string(in), " ")
		w := x.Writer
		switch cmd {
		case "echo": // no newline: the transport adds one
			_, err = io.WriteString(w, arg)
		case "echonl": // a newline of its own: not doubled
			_, err = io.WriteString(w, arg+"\n")
		case "multi":
			_, err = io.WriteString(w, strings.ReplaceAll(arg, ",", "\n"))
		case "silent":
		case "info":
			_, err = fmt.Fprintf(w, "n=%s t=%s len=%s in=%q", x.Env[abi.EnvLineNumber], x.Env[abi.EnvTransport], x.Env[abi.EnvContentLength], in)
		case "fail":
			return errors.New("secret internal detail")
		case "noroute":
			return fmt.Errorf("%w %s", server.ErrNoRoute, arg)
		case "timeout":
			return server.ErrTimeout
		case "partial":
			io.WriteString(w, "partial")
			return errors.New("failed after writing")
		case "status": // metadata is accepted and ignored
			w.Header().Set("X-Ignored", "1")
			ok := w.SetStatus(500)
			_, err = fmt.Fprintf(w, "set=%v committed=%v", ok, w.Committed())
		case "flush":
			io.WriteString(w, "flushed")
			err = w.Flush()
		default:
			_, err = fmt.Fprintf(w, "got %q", in)
		}
		return err
	}
}

func serveLine(t *testing.T, addr string, h server.Handler, opts transport.Options) (server.Address, net.Conn) {
	t.Helper()
	a := testutil.Serve(t, addr, "line", h, opts)
	c := testutil.Dial(t, a)
	c.SetDeadline(time.Now().Add(testDeadline))
	return a, c
}

func TestLineTransport(t *testing.T) {
	for _, addr := range []string{"tcp://127.0.0.1:0", sockAddr(t)} {
		network, _, _ := strings.Cut(addr, ":")
		t.Run(network, func(t *testing.T) {
			envs := make(chan server.Env, 100)
			_, c := serveLine(t, addr, lineHandler(envs), transport.Options{})
			in := "info a\n" +
				"info b b\r\n" +
				"echo no newline\n" +
				"echonl has newline\n" +
				"silent\n" +
				"multi x,y,z\n" +
				"\n" +
				"info \xff\x00binary\n" +
				"status\n" +
				"flush\n"
			if _, err := io.WriteString(c, in); err != nil {
				t.Fatal(err)
			}
			closeWrite(t, c)
			out, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			want := `n=1 t=line len=6 in="info a"` + "\n" +
				`n=2 t=line len=8 in="info b b"` + "\n" +
				"no newline\n" +
				"has newline\n" +
				// line 5 is silent: nothing at all
				"x\ny\nz\n" +
				`got ""` + "\n" +
				`n=8 t=line len=13 in="info \xff\x00binary"` + "\n" +
				"set=true committed=false\n" +
				"flushed\n"
			if string(out) != want {
				t.Fatalf("got\n%q\nwant\n%q", out, want)
			}
			close(envs)
			n := 0
			for env := range envs {
				n++
				if env[abi.EnvTransport] != "line" || env[abi.EnvListener] != "test" || env[abi.EnvNetwork] != network {
					t.Errorf("line %d env %v", n, env)
				}
				if env[abi.EnvLineNumber] != fmt.Sprint(n) {
					t.Errorf("line.number %q, want %d", env[abi.EnvLineNumber], n)
				}
				for _, k := range []string{abi.EnvRequestMethod, abi.EnvPathInfo, "HTTP_HOST"} {
					if _, ok := env[k]; ok {
						t.Errorf("http key %s in a line env", k)
					}
				}
			}
			if n != 10 {
				t.Fatalf("%d exchanges, want 10", n)
			}
		})
	}
}

func TestLineTransportInteractive(t *testing.T) {
	// Each answer comes before the next line is sent: nothing waits for EOF.
	_, c := serveLine(t, "tcp://127.0.0.1:0", lineHandler(nil), transport.Options{})
	r := bufio.NewReader(c)
	for i := range 5 {
		fmt.Fprintf(c, "echo %d\r\n", i)
		got, err := r.ReadString('\n')
		if err != nil || got != fmt.Sprintf("%d\n", i) {
			t.Fatalf("answer %d: %q, %v", i, got, err)
		}
	}
}

func TestLineTransportErrors(t *testing.T) {
	_, c := serveLine(t, "tcp://127.0.0.1:0", lineHandler(nil), transport.Options{})
	io.WriteString(c, "fail\necho after fail\nnoroute for this line\ntimeout\npartial\nsilent\necho last\n")
	closeWrite(t, c)
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := "error: handler failed\n" +
		"after fail\n" +
		"error: no route matches for this line\n" +
		"error: handler timed out\n" +
		"partial\nerror: handler failed\n" +
		"last\n"
	if string(out) != want {
		t.Fatalf("got\n%q\nwant\n%q", out, want)
	}
	if strings.Contains(string(out), "secret") {
		t.Fatal("error line leaks the error text")
	}
}

func TestLineTransportLongLines(t *testing.T) {
	const max = 16
	envs := make(chan server.Env, 100)
	_, c := serveLine(t, "tcp://127.0.0.1:0", lineHandler(envs), transport.Options{MaxLineBytes: max})
	exact := "echo " + strings.Repeat("e", max-5)
	in := "echo short\n" +
		"echo " + strings.Repeat("x", 100) + "\n" + // too long
		exact + "\r\n" + // exactly max, CRLF does not count
		exact + "e\n" + // max+1
		"echo " + strings.Repeat("y", 10000) + "\n" + // far over, beyond bufio's buffer
		"echo next\n"
	if _, err := io.WriteString(c, in); err != nil {
		t.Fatal(err)
	}
	closeWrite(t, c)
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := "short\n" +
		"error: line 2 too long (limit 16 bytes)\n" +
		strings.Repeat("e", max-5) + "\n" +
		"error: line 4 too long (limit 16 bytes)\n" +
		"error: line 5 too long (limit 16 bytes)\n" +
		"next\n"
	if string(out) != want {
		t.Fatalf("got\n%q\nwant\n%q", out, want)
	}
	close(envs)
	var numbers []string
	for env := range envs {
		numbers = append(numbers, env[abi.EnvLineNumber])
	}
	if strings.Join(numbers, ",") != "1,3,6" {
		t.Fatalf("served line numbers %v, want 1,3,6", numbers)
	}
}

func TestLineTransportLastLineAtEOF(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"final line without newline", "echo one\necho last", "one\nlast\n"},
		{"only a line without newline", "echo alone", "alone\n"},
		{"final CR", "echo cr\r", "cr\n"},
		{"nothing", "", ""},
		{"final over-long line without newline", "echo ok\necho " + strings.Repeat("z", 200), "ok\nerror: line 2 too long (limit 16 bytes)\n"},
		{"final line just over the limit without newline", "echo " + strings.Repeat("z", 12), "error: line 1 too long (limit 16 bytes)\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, conn := serveLine(t, "tcp://127.0.0.1:0", lineHandler(nil), transport.Options{MaxLineBytes: 16})
			io.WriteString(conn, c.in)
			closeWrite(t, conn)
			out, err := io.ReadAll(conn)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != c.want {
				t.Fatalf("got %q, want %q", out, c.want)
			}
		})
	}
}

func TestLineTransportShutdown(t *testing.T) {
	l := testutil.Listen(t, "tcp://127.0.0.1:0")
	srv, served := testutil.ServeListener(t, l, "line", lineHandler(nil), transport.Options{})
	c := testutil.Dial(t, server.ListenerAddress(l))
	c.SetDeadline(time.Now().Add(testDeadline))
	r := bufio.NewReader(c)
	io.WriteString(c, "echo hi\n")
	if got, err := r.ReadString('\n'); err != nil || got != "hi\n" {
		t.Fatalf("%q, %v", got, err)
	}
	// The connection waits for its next line; Shutdown ends it.
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if rest, err := io.ReadAll(r); err != nil && !isClosedErr(err) || len(rest) != 0 {
		t.Fatalf("after Shutdown: %q, %v; want the connection closed", rest, err)
	}
	if err := <-served; !errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestRawTransportEcho(t *testing.T) {
	for _, addr := range []string{"tcp://127.0.0.1:0", sockAddr(t)} {
		network, _, _ := strings.Cut(addr, ":")
		t.Run(network, func(t *testing.T) {
			envs := make(chan server.Env, 10)
			a := testutil.Serve(t, addr, "raw", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
				envs <- x.Env.Clone()
				if _, ok := x.Writer.(server.ReadDeadliner); !ok {
					return errors.New("the raw writer of a connection cannot bound reads")
				}
				_, err := io.CopyBuffer(x.Writer, x.Reader, make([]byte, 7))
				return err
			}), transport.Options{})
			c := testutil.Dial(t, a)
			c.SetDeadline(time.Now().Add(testDeadline))

			// Echoes stream before the client is done sending.
			r := bufio.NewReader(c)
			io.WriteString(c, "line one\n")
			if got, err := r.ReadString('\n'); err != nil || got != "line one\n" {
				t.Fatalf("first echo %q, %v", got, err)
			}
			data := bytes.Repeat([]byte("0123456789abcdef\x00\xff\n"), 5000)
			go func() {
				c.Write(data)
				c.(interface{ CloseWrite() error }).CloseWrite()
			}()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("echoed %d bytes, want the %d sent", len(got), len(data))
			}
			env := <-envs
			if env[abi.EnvTransport] != "raw" || env[abi.EnvListener] != "test" || env[abi.EnvNetwork] != network {
				t.Fatalf("env %v", env)
			}
			if _, ok := env[abi.EnvLineNumber]; ok {
				t.Fatalf("line.number in a raw env")
			}
			if len(envs) != 0 {
				t.Fatal("more than one exchange for one connection")
			}
		})
	}
}

func TestRawTransportErrors(t *testing.T) {
	cases := []struct {
		name string
		h    server.HandlerFunc
		want string
	}{
		{"error before write", func(ctx context.Context, x *server.Exchange) error {
			return errors.New("secret detail")
		}, "error: handler failed\n"},
		{"no route", func(ctx context.Context, x *server.Exchange) error {
			return fmt.Errorf("%w the raw exchange", server.ErrNoRoute)
		}, "error: no route matches the raw exchange\n"},
		{"overloaded", func(ctx context.Context, x *server.Exchange) error {
			return fmt.Errorf("%w: secret", server.ErrOverloaded)
		}, "error: handler overloaded\n"},
		{"error after write", func(ctx context.Context, x *server.Exchange) error {
			io.WriteString(x.Writer, "some output")
			return errors.New("secret detail")
		}, "some output"},
		{"success writes nothing", func(ctx context.Context, x *server.Exchange) error {
			return nil
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := testutil.Serve(t, "tcp://127.0.0.1:0", "raw", c.h, transport.Options{})
			conn := testutil.Dial(t, a)
			conn.SetDeadline(time.Now().Add(testDeadline))
			out, err := io.ReadAll(conn)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != c.want {
				t.Fatalf("got %q, want %q", out, c.want)
			}
		})
	}
}

func TestLineTransportIncompleteLine(t *testing.T) {
	// A line cut short by Shutdown or a connection reset is not a line: only
	// EOF (the peer closing its side) ends the last one.
	for _, how := range []string{"shutdown", "reset"} {
		t.Run(how, func(t *testing.T) {
			var calls invocations
			l := testutil.Listen(t, "tcp://127.0.0.1:0")
			srv, _ := testutil.ServeListener(t, l, "line", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
				in, _ := io.ReadAll(x.Reader)
				calls.add(string(in))
				_, err := io.WriteString(x.Writer, "done")
				return err
			}), transport.Options{})
			c := testutil.Dial(t, server.ListenerAddress(l))
			c.SetDeadline(time.Now().Add(testDeadline))
			// One write, so the server most likely reads the unfinished line
			// together with the first; if not, it never sees it at all.
			io.WriteString(c, "delete user 1\ndelete user 12")
			if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != "done\n" {
				t.Fatalf("first line: %q, %v", got, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
			defer cancel()
			if how == "reset" {
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
			// Shutdown returns once every connection has ended.
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if got := calls.get(); len(got) != 1 || got[0] != "delete user 1" {
				t.Fatalf("lines served: %q, want only the complete one", got)
			}
		})
	}
}
