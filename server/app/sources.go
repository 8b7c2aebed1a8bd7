package app

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/amqp"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// Every listener becomes one server.Source: a socket with its transport
// (server.Socket) or a consumer of an AMQP queue (amqp.Consumer). New
// parses the addresses, Listen makes the sources (open is the one place
// that knows their kinds), and Serve runs them all the same way.

// listener is a configured listener whose address New has parsed.
type listener struct {
	config.Listener
	socket server.Address // a tcp:// or unix:// address
	queue  *amqp.Settings // an amqp:// or amqps:// address; nil for a socket
}

// parseListener parses the address of lc, once.
func parseListener(lc config.Listener) (listener, error) {
	l := listener{Listener: lc}
	if amqp.IsAddress(lc.Address) {
		set, err := amqp.ParseURL(lc.Address)
		l.queue = &set
		return l, err
	}
	var err error
	l.socket, err = server.ParseAddress(lc.Address)
	if err == nil && l.socket.TLS && lc.TLS == nil && lc.Name != "" {
		// The configuration refuses this; a listener made otherwise (the
		// command line's --listen) must not serve a tls:// address in the clear.
		err = fmt.Errorf("address %s: a tls:// listener needs tls_cert and tls_key", lc.Address)
	}
	return l, err
}

// CheckAddress checks the address of a listener or of a dial target: a
// socket (server.ParseAddress) or an AMQP queue (amqp.ParseURL).
func CheckAddress(address string) error {
	_, err := parseListener(config.Listener{Address: address})
	return err
}

// ConfigOptions are the config.Options that check, with their file and
// line, what configuration leaves to other packages: addresses
// (CheckAddress) and match patterns.
func ConfigOptions() config.Options {
	return config.Options{
		ValidateAddress: CheckAddress,
		ValidatePattern: func(s string) error { _, err := server.ParsePattern(s); return err },
	}
}

// source is a running listener: its configuration and its server.Source.
type source struct {
	listener
	server.Source
	// handler is what the source serves: a socket's transport, which a
	// reload may replace (conns), or the app's exchanges.
	handler server.Handler
	conns   *transportSwitch // a socket's; nil for an AMQP consumer
	tls     *listenerTLS     // a TLS socket's; nil otherwise
	methods []string         // the Methods its transport was made with
	removed atomic.Bool      // a reload removed it: it is draining
	uncount func()           // an AMQP consumer's: its counts stop being read live (counts.go)
	unwatch func()           // a TLS socket's: its files stop being watched (tls_watch.go)
}

// Shutdown stops the source (server.Source), then folds its counts into
// those its listener's name keeps.
func (s *source) Shutdown(ctx context.Context) error {
	err := s.Source.Shutdown(ctx)
	if s.uncount != nil {
		s.uncount()
	}
	if s.unwatch != nil {
		s.unwatch()
	}
	return err
}

// Listen binds every listener, or none: on error, those already bound are
// closed. It returns the real addresses, in configuration order: a
// requested port 0 resolved, and an AMQP listener's broker (network
// "amqp").
func (a *App) Listen(ctx context.Context) ([]server.Address, error) {
	sources, addrs, err := a.openAll(ctx, a.listeners, namedMethods(a.cfg.Routes))
	if err != nil {
		return nil, err
	}
	a.inherited.closeUnused(a.logger)
	if err := a.listenAdmin(ctx); err != nil {
		for _, s := range sources {
			s.Shutdown(ctx)
		}
		return nil, err
	}
	a.mu.Lock()
	a.sources = sources
	a.mu.Unlock()
	return addrs, nil
}

// openAll opens every listener of ls, or none.
func (a *App) openAll(ctx context.Context, ls []listener, methods []string) ([]*source, []server.Address, error) {
	var addrs []server.Address
	var sources []*source
	for _, l := range ls {
		src, addr, err := a.open(ctx, l, methods)
		if err != nil {
			for _, s := range sources {
				s.Shutdown(ctx) // not serving yet: this closes its socket
			}
			return nil, nil, fmt.Errorf("listener %s: %w", l.Name, err)
		}
		sources = append(sources, src)
		addrs = append(addrs, addr)
	}
	return sources, addrs, nil
}

// open makes the source of a listener, binding its socket.
func (a *App) open(ctx context.Context, l listener, methods []string) (*source, server.Address, error) {
	if l.queue != nil {
		a.logger.Info("listening", "listener", l.Name, "address", l.queue.Redacted, "transport", "amqp", "queue", l.queue.Queue)
		c := amqp.New(*l.queue, amqp.Options{Name: l.Name, Logger: a.logger})
		uncount, err := a.countConsumer(l.Name, c)
		if err != nil {
			return nil, server.Address{}, fmt.Errorf("metrics: %w", err)
		}
		return &source{listener: l, Source: c, handler: a.exchanges, uncount: uncount}, l.queue.Address(), nil
	}
	th, err := a.newTransport(l, methods)
	if err != nil {
		return nil, server.Address{}, err
	}
	var lt *listenerTLS
	if l.TLS != nil {
		if lt, err = newListenerTLS(l.TLS, alpn(l), a.logger.With("listener", l.Name)); err != nil {
			return nil, server.Address{}, err
		}
	}
	ln, err := a.bind(ctx, l.socket, server.ListenOptions{SocketMode: l.SocketMode})
	if err != nil {
		return nil, server.Address{}, err
	}
	stopWatch := func() {}
	if lt != nil {
		stopWatch = lt.startWatch()
	}
	real := server.ListenerAddress(ln)
	if lt != nil {
		ln = lt.wrap(ln)
	}
	conns := &transportSwitch{}
	conns.cur.Store(&th)
	src := server.NewSocket(a.logger, server.Listener{Name: l.Name, Listener: ln,
		MaxConns: l.MaxConnections, WriteTimeout: l.WriteTimeout}, nil)
	a.logger.Info("listening", "listener", l.Name, "address", real.String(), "transport", l.Transport, "tls", lt != nil)
	return &source{listener: l, Source: src, handler: conns, conns: conns, methods: methods, tls: lt, unwatch: stopWatch}, real, nil
}

// newTransport makes the transport of a socket listener over the app's
// exchanges.
func (a *App) newTransport(l listener, methods []string) (server.Handler, error) {
	opts := transport.Options{
		Logger:            a.hub.exchangeLogger("\x00listener "+l.Name, a.logger.With("listener", l.Name)),
		MaxLineBytes:      l.MaxLineBytes,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		MaxBodyBytes:      l.MaxBodyBytes,
		DrainTimeout:      l.DrainTimeout,
		Methods:           methods,
		ReadTimeout:       l.ReadTimeout,
		MaxBatch:          l.MaxBatch,
		BatchConcurrency:  l.BatchConcurrency,

		DisableHTTP2:         !l.HTTP2,
		H2C:                  l.H2C,
		MaxConcurrentStreams: l.MaxConcurrentStreams,
	}
	return transport.Default().New(l.Transport, a.exchanges, opts)
}

// transportSwitch is a socket's transport, which a reload may replace:
// each connection stays with the transport that accepted it.
type transportSwitch struct {
	cur atomic.Pointer[server.Handler]
}

// Serve serves a connection with the current transport.
func (t *transportSwitch) Serve(ctx context.Context, x *server.Exchange) error {
	return (*t.cur.Load()).Serve(ctx, x)
}

// Shutdown shuts the current transport down (server.Shutdowner); the ones
// it replaced were shut down then.
func (t *transportSwitch) Shutdown(ctx context.Context) error {
	return shutdownTransport(ctx, *t.cur.Load())
}

// replace makes th the transport of new connections, and lets the
// connections of the one it replaces end after their exchange.
func (t *transportSwitch) replace(ctx context.Context, th server.Handler) error {
	return shutdownTransport(ctx, *t.cur.Swap(&th))
}

func shutdownTransport(ctx context.Context, th server.Handler) error {
	if sd, ok := th.(server.Shutdowner); ok {
		return sd.Shutdown(ctx)
	}
	return nil
}

// Ready waits until every listener takes work (an AMQP listener: consumes
// its queue), or ctx ends.
func (a *App) Ready(ctx context.Context) error {
	a.mu.Lock()
	sources := a.sources
	a.mu.Unlock()
	for _, s := range sources {
		select {
		case <-s.Ready():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Serve runs every listener until ctx ends, then shuts down: they stop
// taking work, and running exchanges have up to the configured shutdown
// timeout to finish. A listener that fails for good (its socket) shuts
// the others down the same way. It returns nil after a clean shutdown.
// Reload may add and remove listeners while it runs.
func (a *App) Serve(ctx context.Context) error {
	a.mu.Lock()
	if a.sources == nil {
		a.mu.Unlock()
		return errors.New("app: Serve called before Listen")
	}
	a.serveCtx = context.WithoutCancel(ctx)
	for _, s := range a.sources {
		a.start(s)
	}
	a.mu.Unlock()
	a.serveAdmin()
	trimCtx, stopTrim := context.WithCancel(ctx)
	var trimming sync.WaitGroup
	trim := trimmer{use: a.limits.memory, every: trimEvery, free: debug.FreeOSMemory, logger: a.logger}
	trimming.Go(func() { trim.run(trimCtx) })
	defer func() { stopTrim(); trimming.Wait() }()
	select {
	case <-a.failed: // Shutdown was not called
	case <-ctx.Done():
	}
	if a.stopping != nil {
		a.stopping()
	}
	err := a.shutdown()
	a.serveWG.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	return errors.Join(append([]error{err}, a.serveErr...)...)
}

// start serves s until it is shut down; a failure of a source that is not
// being removed ends Serve. The caller holds a.mu, and Serve has begun.
func (a *App) start(s *source) {
	name := s.Name // a reload may change s.listener
	a.serveWG.Go(func() {
		// Shutdown, not ctx, stops a source: it drains first. A source
		// that cannot reach its server (a broker) keeps retrying.
		err := s.Serve(a.serveCtx, s.handler)
		if err == nil || errors.Is(err, server.ErrServerClosed) {
			return
		}
		if s.removed.Load() {
			a.logger.Warn("removed listener failed while draining", "listener", name, "err", err)
			return
		}
		a.mu.Lock()
		a.serveErr = append(a.serveErr, err)
		a.mu.Unlock()
		select {
		case a.failed <- struct{}{}:
		default:
		}
	})
}

// shutdownTimeout is the configured bound of a drain.
func shutdownTimeout(cfg *config.Config) time.Duration {
	if cfg.ShutdownTimeout <= 0 {
		return config.DefaultShutdownTimeout
	}
	return cfg.ShutdownTimeout
}

// shutdown stops every source at once, with the configured timeout.
func (a *App) shutdown() error {
	a.mu.Lock()
	a.closing = true
	timeout := shutdownTimeout(a.cfg)
	sources := a.sources
	a.mu.Unlock()
	a.logger.Info("shutting down", "timeout", timeout)
	a.hub.drain() // end long polls and waits now: they would hold the drain to its deadline
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() { errs[i] = s.Shutdown(ctx) })
	}
	wg.Wait()
	a.stopAdmin(ctx)
	return errors.Join(errs...)
}
