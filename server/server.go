package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
)

// Listener is a bound network listener and the handler — normally a
// transport — that serves each of its connections as one exchange.
type Listener struct {
	// Name identifies the listener in env (bubble.listener) and logs.
	Name string
	// Listener is the bound socket.
	Listener net.Listener
	// Handler serves every accepted connection.
	Handler Handler
	// MaxConns caps the listener's open connections (default
	// DefaultMaxConns); one accepted past it is closed at once.
	MaxConns int
	// WriteTimeout bounds every write to a connection: a peer that takes
	// no bytes for this long, give or take an eighth, loses the
	// connection (default DefaultWriteTimeout). Deadlines the layers above
	// set still apply, exactly, when they come sooner.
	WriteTimeout time.Duration
}

// Defaults of Listener's limits.
const (
	DefaultMaxConns     = 16384
	DefaultWriteTimeout = 30 * time.Second
)

// Shutdowner is implemented by handlers (transports) that keep connections
// of their own open between exchanges, such as HTTP keep-alive. Server calls
// it during Shutdown, after the listeners are closed.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// Server accepts connections on its listeners and passes each, as a
// connection exchange, to the listener's handler.
type Server struct {
	logger    *slog.Logger
	listeners []Listener

	ctx    context.Context // cancelled to force exchanges to end
	cancel context.CancelFunc

	conns    sync.WaitGroup
	mu       sync.Mutex
	open     map[net.Conn]struct{}
	shutdown atomic.Bool
}

// NewServer returns a server for already bound listeners.
func NewServer(logger *slog.Logger, listeners ...Listener) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{logger: logger, listeners: listeners, ctx: ctx, cancel: cancel, open: map[net.Conn]struct{}{}}
}

// Serve accepts on every listener until Shutdown, then returns
// ErrServerClosed; it returns another error if a listener fails for good.
func (s *Server) Serve() error {
	errc := make(chan error, len(s.listeners))
	for _, l := range s.listeners {
		go func() { errc <- s.acceptLoop(l) }()
	}
	var first error
	for range s.listeners {
		if err := <-errc; err != nil && !errors.Is(err, ErrServerClosed) && first == nil {
			first = err
			go s.Shutdown(context.Background())
		}
	}
	if first != nil {
		return first
	}
	return ErrServerClosed
}

func (s *Server) acceptLoop(l Listener) error {
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	var (
		delay   time.Duration
		open    atomic.Int64 // the listener's connections
		refused int64        // connections refused since the last warning
		warned  time.Time
	)
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logger.Warn("accept failed; retrying", "listener", l.Name, "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("listener %s: %w", l.Name, err)
		}
		delay = 0
		if open.Load() >= int64(l.MaxConns) {
			conn.Close()
			refused++
			if now := time.Now(); now.Sub(warned) >= 10*time.Second {
				s.logger.Warn("connection limit reached; refusing connections", "listener", l.Name, "max_connections", l.MaxConns, "refused", refused)
				warned, refused = now, 0
			}
			continue
		}
		if !s.track(conn) {
			conn.Close()
			return ErrServerClosed
		}
		open.Add(1)
		go func() {
			defer open.Add(-1)
			s.serveConn(l, &timeoutConn{Conn: conn, timeout: l.WriteTimeout})
		}()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown.Load() {
		return false
	}
	s.open[c] = struct{}{}
	s.conns.Add(1)
	return true
}

func (s *Server) serveConn(l Listener, conn *timeoutConn) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("connection handler panicked", "listener", l.Name, "panic", p, "stack", string(debug.Stack()))
		}
		conn.Close()
		s.mu.Lock()
		delete(s.open, conn.Conn)
		s.mu.Unlock()
		s.conns.Done()
	}()
	env := ConnEnv(l.Name, conn)
	if ok, err := handshake(s.ctx, conn, env); !ok {
		s.logger.Debug("TLS handshake failed", "listener", l.Name, "remote", conn.RemoteAddr(), "err", err)
		return
	}
	x := &Exchange{Env: env, Reader: conn, Writer: NewStreamWriter(conn)}
	if err := l.Handler.Serve(s.ctx, x); err != nil && s.ctx.Err() == nil {
		s.logger.Debug("connection ended with an error", "listener", l.Name, "remote", conn.RemoteAddr(), "err", err)
	}
}

// ConnEnv returns the listener-level env of a connection: bubble.listener,
// bubble.network, SERVER_NAME/PORT and REMOTE_ADDR/PORT.
func ConnEnv(listener string, conn net.Conn) Env {
	env := Env{abi.EnvListener: listener, abi.EnvNetwork: conn.LocalAddr().Network()}
	switch local := conn.LocalAddr().(type) {
	case *net.TCPAddr:
		env[abi.EnvNetwork] = "tcp"
		env[abi.EnvServerName] = local.IP.String()
		env[abi.EnvServerPort] = strconv.Itoa(local.Port)
		if remote, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
			env[abi.EnvRemoteAddr] = remote.IP.String()
			env[abi.EnvRemotePort] = strconv.Itoa(remote.Port)
		}
	case *net.UnixAddr:
		env[abi.EnvNetwork] = "unix"
		env[abi.EnvServerName] = local.Name
		env[abi.EnvRemoteAddr] = "@"
		if remote, ok := conn.RemoteAddr().(*net.UnixAddr); ok && remote != nil && remote.Name != "" {
			env[abi.EnvRemoteAddr] = remote.Name
		}
	}
	return env
}

// Shutdown stops accepting, lets transports close idle connections, waits
// for running exchanges until ctx is done, and then cancels what is left.
// It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := s.shutdown.CompareAndSwap(false, true)
	s.mu.Unlock()
	if first {
		for _, l := range s.listeners {
			l.Listener.Close()
		}
	}
	var errs []error
	for _, l := range s.listeners {
		if sd, ok := l.Handler.(Shutdowner); ok {
			if err := sd.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs = append(errs, err)
			}
		}
	}
	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		errs = append(errs, fmt.Errorf("shutdown: forced to stop running exchanges: %w", ctx.Err()))
	}
	s.cancel()
	return errors.Join(errs...)
}
