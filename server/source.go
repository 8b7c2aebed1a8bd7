package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// A Source produces exchanges and serves each with a handler: a bound
// socket whose connections pass through a transport (Socket), a queue
// consumer (package server/amqp), and so on. An app runs all of its
// sources the same way, whatever their kind: Serve each, wait for Ready if
// it must, Shutdown each.
type Source interface {
	// Serve produces exchanges for h until Shutdown, then returns
	// ErrServerClosed; another error means the source failed for good. When
	// ctx ends first, running exchanges are cancelled and Serve returns
	// ctx's error.
	Serve(ctx context.Context, h Handler) error
	// Ready returns a channel closed once the source takes work. A source
	// that loses its upstream (a broker) and gets it back has a new one.
	Ready() <-chan struct{}
	// Shutdown stops taking new work, lets running exchanges finish until
	// ctx is done, then cancels them and waits for them to return; it
	// reports the forced stop as an error. It is safe to call more than
	// once, and before Serve (which then returns at once).
	Shutdown(ctx context.Context) error
}

// Socket is the Source of one bound listener: each connection it accepts is
// a connection exchange for the listener's transport, stacked over the
// handler that Serve is given.
type Socket struct {
	logger    *slog.Logger
	listener  Listener
	transport func(next Handler) Handler
	ready     chan struct{}

	mu     sync.Mutex
	srv    *Server
	closed bool
}

// NewSocket returns the source of l, whose Handler it sets when Serve is
// called: transport(h), or h itself when transport is nil.
func NewSocket(logger *slog.Logger, l Listener, transport func(next Handler) Handler) *Socket {
	return &Socket{logger: logger, listener: l, transport: transport, ready: make(chan struct{})}
}

// Serve accepts connections until Shutdown.
func (s *Socket) Serve(ctx context.Context, h Handler) error {
	l := s.listener
	l.Handler = h
	if s.transport != nil {
		l.Handler = s.transport(h)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.srv != nil {
		s.mu.Unlock()
		return errors.New("server: Socket.Serve called twice")
	}
	srv := NewServer(s.logger, l)
	s.srv = srv
	s.mu.Unlock()
	close(s.ready)
	stop := context.AfterFunc(ctx, func() { srv.Shutdown(ctx) }) // ctx is done: nothing waits
	defer stop()
	err := srv.Serve()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Ready is closed once Serve accepts connections.
func (s *Socket) Ready() <-chan struct{} { return s.ready }

// Shutdown stops accepting, closes idle connections, waits for running
// exchanges until ctx is done and then cancels them (see Server.Shutdown).
func (s *Socket) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		s.listener.Listener.Close()
		return nil
	}
	return srv.Shutdown(ctx)
}

var _ Source = (*Socket)(nil)
