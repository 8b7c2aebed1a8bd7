package testutil

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// ServeListener is Serve for a listener the test bound (or wrapped)
// itself. It returns the server, so the test can shut it down, and a channel
// that receives Serve's result. The server is shut down when the test ends
// if the test did not do it.
func ServeListener(t testing.TB, l net.Listener, transportName string, h server.Handler, opts transport.Options) (*server.Server, <-chan error) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = Logger(t)
	}
	th, err := transport.Default().New(transportName, h, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewServer(opts.Logger, server.Listener{Name: "test", Listener: l, Handler: th})
	done := make(chan error, 1)
	served := make(chan struct{})
	go func() { done <- srv.Serve(); close(served) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
	})
	return srv, done
}

// CountingListener counts the connections it accepted and signals when it
// is closed.
type CountingListener struct {
	net.Listener
	accepted atomic.Int64
	closed   chan struct{}
	once     sync.Once
}

// NewCountingListener wraps l.
func NewCountingListener(l net.Listener) *CountingListener {
	return &CountingListener{Listener: l, closed: make(chan struct{})}
}

// Accept accepts and counts a connection.
func (l *CountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// Close closes the listener and the channel Closed returns.
func (l *CountingListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}

// Accepted is the number of connections accepted so far.
func (l *CountingListener) Accepted() int64 { return l.accepted.Load() }

// Closed is closed once Close has been called.
func (l *CountingListener) Closed() <-chan struct{} { return l.closed }

// Listen binds addr for a test and closes the listener when the test ends.
func Listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	a, err := server.ParseAddress(addr)
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.Listen(context.Background(), server.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// URL returns the base URL of an HTTP test server at a: http://host:port
// for TCP, http://unix for a unix socket (use HTTPClient to reach it).
func URL(a server.Address) string {
	if a.Network == "unix" {
		return "http://unix"
	}
	return "http://" + net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
}

// HTTPClient returns a client whose connections all go to a, so that URLs
// built by URL work for unix sockets too. Its idle connections are closed
// when the test ends; requests time out after a minute so a broken server
// fails the test instead of hanging it.
func HTTPClient(t testing.TB, a server.Address) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return a.Dial(ctx)
		},
		DisableCompression: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: time.Minute}
}
