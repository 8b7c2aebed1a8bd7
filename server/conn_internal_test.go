package server

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn is a real connection that counts the write deadlines set on
// its socket.
type countingConn struct {
	net.Conn
	sets atomic.Int64
}

func (c *countingConn) SetWriteDeadline(t time.Time) error {
	c.sets.Add(1)
	return c.Conn.SetWriteDeadline(t)
}

// pair returns both ends of a loopback TCP connection, the server end
// first.
func pair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// A connection serving many small exchanges, each setting its deadline
// around its writes as the wasm handler does, arms its socket's write
// deadline a few times, not for every write.
func TestTimeoutConnRearmsRarely(t *testing.T) {
	s, c := pair(t)
	go io.Copy(io.Discard, c)
	counted := &countingConn{Conn: s}
	tc := &timeoutConn{Conn: counted, timeout: DefaultWriteTimeout}
	const exchanges = 1000
	start := time.Now()
	for range exchanges {
		deadline := time.Now().Add(DefaultWriteTimeout) // the route's timeout
		tc.SetWriteDeadline(deadline)
		if _, err := tc.Write([]byte("guest output\n")); err != nil {
			t.Fatal(err)
		}
		tc.SetWriteDeadline(time.Time{})
		if _, err := tc.Write([]byte("the transport's flush\n")); err != nil {
			t.Fatal(err)
		}
	}
	// The first write arms it, then at most one write per eighth of the
	// timeout (the loop takes milliseconds; a slow machine may re-arm more).
	allowed := 2 + 2*int64(time.Since(start)/(DefaultWriteTimeout/8))
	if n := counted.sets.Load(); n > allowed {
		t.Errorf("%d exchanges of 2 writes armed the socket's write deadline %d times", exchanges, n)
	}
}

// A deadline earlier than the armed one cuts a write that is already
// blocked: the peer reads nothing, the write timeout is an hour away.
func TestTimeoutConnEarlierDeadlineCutsPendingWrite(t *testing.T) {
	s, _ := pair(t)
	tc := &timeoutConn{Conn: s, timeout: time.Hour}
	ended := make(chan error, 1)
	go func() {
		chunk := make([]byte, 64<<10)
		for range 1 << 14 { // at most 1 GiB: the peer never reads
			if _, err := tc.Write(chunk); err != nil {
				ended <- err
				return
			}
		}
		ended <- nil
	}()
	tc.SetWriteDeadline(time.Now())
	select {
	case err := <-ended:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the write ended with %v, want a deadline error", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the write is still blocked after its deadline was moved to now")
	}
}

// A deadline from above that is later than the write timeout does not
// lengthen it: a peer that stops reading still loses the connection.
func TestTimeoutConnLaterDeadlineKeepsWriteTimeout(t *testing.T) {
	s, _ := pair(t)
	tc := &timeoutConn{Conn: s, timeout: 200 * time.Millisecond}
	tc.SetWriteDeadline(time.Now().Add(time.Hour))
	ended := make(chan error, 1)
	go func() {
		chunk := make([]byte, 64<<10)
		for range 1 << 14 {
			if _, err := tc.Write(chunk); err != nil {
				ended <- err
				return
			}
		}
		ended <- nil
	}()
	select {
	case err := <-ended:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the write ended with %v, want a deadline error", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("a write to a peer that never reads is still blocked")
	}
}

// A deadline that passed and was cleared does not fail later writes, and
// one in the past fails a write at once.
func TestTimeoutConnClearedDeadline(t *testing.T) {
	s, c := pair(t)
	go io.Copy(io.Discard, c)
	tc := &timeoutConn{Conn: s, timeout: DefaultWriteTimeout}
	if _, err := tc.Write([]byte("before\n")); err != nil {
		t.Fatal(err)
	}
	tc.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := tc.Write([]byte("late\n")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a write after its deadline: err = %v, want a deadline error", err)
	}
	tc.SetWriteDeadline(time.Time{})
	if _, err := tc.Write([]byte("after\n")); err != nil {
		t.Fatalf("a write after the deadline was cleared: %v", err)
	}
	tc.SetDeadline(time.Now().Add(-time.Second))
	if _, err := tc.Write([]byte("late\n")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a write after SetDeadline's deadline: err = %v, want a deadline error", err)
	}
	tc.SetDeadline(time.Time{})
	if _, err := tc.Write([]byte("after\n")); err != nil {
		t.Fatalf("a write after SetDeadline was cleared: %v", err)
	}
}
