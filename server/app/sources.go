package app

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

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

// Listen binds every listener, or none: on error, those already bound are
// closed. It returns the real addresses, in configuration order: a
// requested port 0 resolved, and an AMQP listener's broker (network
// "amqp").
func (a *App) Listen(ctx context.Context) ([]server.Address, error) {
	var addrs []server.Address
	var sources []server.Source
	for _, l := range a.listeners {
		src, addr, err := a.open(ctx, l)
		if err != nil {
			for _, s := range sources {
				s.Shutdown(ctx) // not serving yet: this closes its socket
			}
			return nil, fmt.Errorf("listener %s: %w", l.Name, err)
		}
		sources = append(sources, src)
		addrs = append(addrs, addr)
	}
	a.inherited.closeUnused(a.logger)
	if err := a.listenAdmin(ctx); err != nil {
		for _, s := range sources {
			s.Shutdown(ctx)
		}
		return nil, err
	}
	a.sources = sources
	return addrs, nil
}

// open makes the source of a listener, binding its socket.
func (a *App) open(ctx context.Context, l listener) (server.Source, server.Address, error) {
	if l.queue != nil {
		a.logger.Info("listening", "listener", l.Name, "address", l.queue.Redacted, "transport", "amqp", "queue", l.queue.Queue)
		c := amqp.New(*l.queue, amqp.Options{Name: l.Name, Logger: a.logger})
		if err := registerConsumer(a.metrics, l.Name, c); err != nil {
			return nil, server.Address{}, fmt.Errorf("metrics: %w", err)
		}
		return c, l.queue.Address(), nil
	}
	opts := transport.Options{
		Logger:            a.hub.exchangeLogger("\x00listener "+l.Name, a.logger.With("listener", l.Name)),
		MaxLineBytes:      l.MaxLineBytes,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		MaxBodyBytes:      l.MaxBodyBytes,
		DrainTimeout:      l.DrainTimeout,
		Methods:           a.namedMethods(),
		ReadTimeout:       l.ReadTimeout,
		MaxBatch:          l.MaxBatch,
		BatchConcurrency:  l.BatchConcurrency,
	}
	reg := transport.Default()
	if reg[l.Transport] == nil { // New checked the name: never
		return nil, server.Address{}, fmt.Errorf("unknown transport %q", l.Transport)
	}
	ln, err := a.bind(ctx, l.socket, server.ListenOptions{SocketMode: l.SocketMode})
	if err != nil {
		return nil, server.Address{}, err
	}
	stack := func(next server.Handler) server.Handler {
		th, _ := reg.New(l.Transport, next, opts)
		return th
	}
	src := server.NewSocket(a.logger, server.Listener{Name: l.Name, Listener: ln,
		MaxConns: l.MaxConnections, WriteTimeout: l.WriteTimeout}, stack)
	real := server.ListenerAddress(ln)
	a.logger.Info("listening", "listener", l.Name, "address", real.String(), "transport", l.Transport)
	return src, real, nil
}

// Ready waits until every listener takes work (an AMQP listener: consumes
// its queue), or ctx ends.
func (a *App) Ready(ctx context.Context) error {
	for _, s := range a.sources {
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
func (a *App) Serve(ctx context.Context) error {
	if a.sources == nil {
		return errors.New("app: Serve called before Listen")
	}
	errc := make(chan error, len(a.sources))
	for _, s := range a.sources {
		// Shutdown, not ctx, stops a source: it drains first. A source
		// that cannot reach its server (a broker) keeps retrying.
		go func() { errc <- s.Serve(context.WithoutCancel(ctx), a.exchanges) }()
	}
	a.serveAdmin()
	trimCtx, stopTrim := context.WithCancel(ctx)
	var trimming sync.WaitGroup
	trim := trimmer{use: a.limits.memory, every: trimEvery, free: debug.FreeOSMemory, logger: a.logger}
	trimming.Go(func() { trim.run(trimCtx) })
	defer func() { stopTrim(); trimming.Wait() }()
	var errs []error
	running := len(a.sources)
	select {
	case err := <-errc: // a failure: Shutdown was not called
		running--
		errs = append(errs, err)
	case <-ctx.Done():
	}
	if a.stopping != nil {
		a.stopping()
	}
	errs = append(errs, a.shutdown())
	for ; running > 0; running-- {
		if err := <-errc; !errors.Is(err, server.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// shutdown stops every source at once, with the configured timeout.
func (a *App) shutdown() error {
	timeout := a.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = config.DefaultShutdownTimeout
	}
	a.logger.Info("shutting down", "timeout", timeout)
	a.hub.drain() // end long polls and waits now: they would hold the drain to its deadline
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	errs := make([]error, len(a.sources))
	var wg sync.WaitGroup
	for i, s := range a.sources {
		wg.Go(func() { errs[i] = s.Shutdown(ctx) })
	}
	wg.Wait()
	a.stopAdmin(ctx)
	return errors.Join(errs...)
}
