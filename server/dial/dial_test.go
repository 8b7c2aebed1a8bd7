package dial_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/server/dial"
)

// wait bounds every wait of these tests that is not the point of the test.
const wait = 30 * time.Second

// lineWorker serves a unix socket: for each connection, it reads one line
// and answers with answer(line); an answer of "" closes without replying,
// a nil answer function never replies. It returns the socket's address.
func lineWorker(t *testing.T, answer func(line string) string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "w.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(wait))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				if answer == nil {
					select { // hold the connection until the test ends
					case <-done:
					case <-time.After(wait):
					}
					return
				}
				if a := answer(line); a != "" {
					c.Write([]byte(a))
				}
			}()
		}
	}()
	return "unix://" + sock
}

func newDialer(t *testing.T, addr string, opts dial.Options) dial.Dialer {
	t.Helper()
	d, err := dial.New(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return c
}

func TestLine(t *testing.T) {
	addr := lineWorker(t, func(line string) string { return "re:" + line })
	d := newDialer(t, addr, dial.Options{})
	for _, req := range []string{"hello", "hello\n", ""} {
		r, err := d.Call(ctx(t, wait), []byte(req))
		want := "re:" + strings.TrimSuffix(req, "\n") + "\n"
		if err != nil || string(r.Body) != want || r.Status != 0 {
			t.Errorf("Call(%q) = %q (status %d), %v; want %q", req, r.Body, r.Status, err, want)
		}
	}
	_, err := d.Call(ctx(t, wait), []byte("two\nlines"))
	if !errors.Is(err, abi.ErrInvalidName) {
		t.Errorf("a request with a newline inside: %v, want ErrInvalidName", err)
	}
}

func TestLineTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(wait))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Write([]byte(strings.ToUpper(line)))
	}()
	d := newDialer(t, "tcp://"+l.Addr().String(), dial.Options{})
	if r, err := d.Call(ctx(t, wait), []byte("tcp")); err != nil || string(r.Body) != "TCP\n" {
		t.Errorf("tcp: %q, %v", r.Body, err)
	}
}

func TestLineFailures(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		d := newDialer(t, lineWorker(t, nil), dial.Options{})
		_, err := d.Call(ctx(t, 100*time.Millisecond), []byte("x"))
		if !errors.Is(err, context.DeadlineExceeded) || abi.ErrorCode(err) != abi.ErrTimeout {
			t.Errorf("silent worker: %v (code %d), want a timeout", err, abi.ErrorCode(err))
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		d := newDialer(t, lineWorker(t, nil), dial.Options{})
		c, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := d.Call(c, []byte("x"))
		if abi.ErrorCode(err) != abi.ErrClosed {
			t.Errorf("cancelled exchange: %v (code %d), want ERR_CLOSED", err, abi.ErrorCode(err))
		}
	})
	t.Run("down", func(t *testing.T) {
		d := newDialer(t, "unix://"+filepath.Join(t.TempDir(), "nobody.sock"), dial.Options{})
		_, err := d.Call(ctx(t, wait), []byte("x"))
		if err == nil || abi.ErrorCode(err) != abi.ErrIO || !strings.Contains(err.Error(), "cannot reach the worker") {
			t.Errorf("no worker: %v (code %d), want ERR_IO, cannot reach the worker", err, abi.ErrorCode(err))
		}
	})
	t.Run("closed", func(t *testing.T) {
		d := newDialer(t, lineWorker(t, func(string) string { return "" }), dial.Options{})
		_, err := d.Call(ctx(t, wait), []byte("x"))
		if abi.ErrorCode(err) != abi.ErrClosed || !strings.Contains(err.Error(), "closed the connection before replying") {
			t.Errorf("worker hangs up: %v (code %d), want ERR_CLOSED", err, abi.ErrorCode(err))
		}
	})
	t.Run("too large", func(t *testing.T) {
		d := newDialer(t, lineWorker(t, func(string) string { return strings.Repeat("x", 10_000) + "\n" }), dial.Options{MaxReply: 4096})
		_, err := d.Call(ctx(t, wait), []byte("x"))
		if !errors.Is(err, abi.ErrInputTooLarge) {
			t.Errorf("big reply: %v, want ErrInputTooLarge", err)
		}
	})
}

func TestTargets(t *testing.T) {
	addr := lineWorker(t, func(line string) string { return "ok\n" })
	if _, err := dial.NewTargets("r", map[string]string{"w": "http://x"}, dial.Options{}); err == nil || !strings.Contains(err.Error(), "dial.w") {
		t.Errorf("bad address: %v", err)
	}
	ts, err := dial.NewTargets("r", map[string]string{"worker": addr}, dial.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	b := ts.Bind(t.Context())
	if _, _, ok := b.Last(); ok {
		t.Error("Last before any call")
	}
	if body, st, err := b.Call("worker", []byte("x"), time.Second); string(body) != "ok\n" || st != 0 || err != nil {
		t.Errorf("Call = %q, %d, %v", body, st, err)
	}
	if body, _, ok := b.Last(); !ok || string(body) != "ok\n" {
		t.Errorf("Last = %q, %v", body, ok)
	}
	if _, _, err := b.Call("other", nil, time.Second); !errors.Is(err, abi.ErrNotGranted) {
		t.Errorf("unknown target: %v, want ErrNotGranted", err)
	}
	if _, _, ok := b.Last(); ok {
		t.Error("Last after a failed call")
	}
}

// amqpWorker consumes queue and answers each request with its body
// upper-cased and x-bubble-status 201, as a server/amqp listener would.
func amqpWorker(t *testing.T, url, queue string) {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	msgs, err := ch.Consume(queue, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m := range msgs {
			ch.PublishWithContext(context.Background(), "", m.ReplyTo, false, false, amqp.Publishing{
				CorrelationId: m.CorrelationId, Headers: amqp.Table{"x-bubble-status": int32(201)},
				Body: []byte(strings.ToUpper(string(m.Body)))})
		}
	}()
}

func TestAMQP(t *testing.T) {
	b := rabbittest.Start(t)
	amqpWorker(t, b.URL(), "work")
	d := newDialer(t, b.URL()+"?queue=work", dial.Options{})

	// Concurrent calls share the connection; each gets its own reply.
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			req := fmt.Sprintf("request %d", i)
			r, err := d.Call(ctx(t, wait), []byte(req))
			if err == nil && (string(r.Body) != strings.ToUpper(req) || r.Status != 201) {
				err = fmt.Errorf("%s: reply %q, status %d", req, r.Body, r.Status)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}

	t.Run("no queue", func(t *testing.T) {
		d := newDialer(t, b.URL()+"?queue=missing", dial.Options{})
		_, err := d.Call(ctx(t, wait), []byte("x"))
		if abi.ErrorCode(err) != abi.ErrIO || !strings.Contains(err.Error(), `no queue "missing"`) {
			t.Errorf("missing queue: %v (code %d), want ERR_IO naming the queue", err, abi.ErrorCode(err))
		}
	})
	t.Run("no consumer", func(t *testing.T) {
		conn, err := amqp.Dial(b.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ch, _ := conn.Channel()
		if _, err := ch.QueueDeclare("idle", false, true, false, false, nil); err != nil {
			t.Fatal(err)
		}
		d := newDialer(t, b.URL()+"?queue=idle", dial.Options{})
		_, err = d.Call(ctx(t, 200*time.Millisecond), []byte("x"))
		if abi.ErrorCode(err) != abi.ErrTimeout {
			t.Errorf("nobody consumes: %v (code %d), want ERR_TIMEOUT", err, abi.ErrorCode(err))
		}
	})
	t.Run("broker down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		d := newDialer(t, "amqp://guest:guest@"+addr+"/?queue=work", dial.Options{})
		_, err = d.Call(ctx(t, wait), []byte("x"))
		if abi.ErrorCode(err) != abi.ErrIO || !strings.Contains(err.Error(), "cannot reach the broker") {
			t.Errorf("no broker: %v (code %d), want ERR_IO", err, abi.ErrorCode(err))
		}
	})
	t.Run("reconnect", func(t *testing.T) {
		b.Restart()
		amqpWorker(t, b.URL(), "work")
		// The first call after the restart may find the old connection
		// dead (ERR_CLOSED); one later call reconnects.
		var r dial.Reply
		var err error
		for range 3 {
			if r, err = d.Call(ctx(t, wait), []byte("again")); err == nil {
				break
			}
		}
		if err != nil || string(r.Body) != "AGAIN" {
			t.Errorf("after a broker restart: %q, %v", r.Body, err)
		}
	})
}
